"""Applying stored webhook events in batches, off the request path (WEBHOOK_APPLY=async).

A batch claims the oldest pending events (`SELECT … FOR UPDATE SKIP LOCKED`, so concurrent
appliers take disjoint batches), locks what they are about up front in a fixed order (the
advisory lock of every order and shipment reference, then the orders of the shipments the
carrier updates name), and applies them in arrival order, through the same functions and the
same lifecycle as a synchronous request: stored-once, any-order and parking hold unchanged. All
of it is one transaction; carrier updates, which cannot conflict, need no savepoint, and their
outcomes are written together at the end.

If anything unexpected fails, the batch is rolled back and its events are applied one per
transaction, so one event the code cannot apply is marked `failed` (with the error, visible in
the admin) instead of holding up the others. Database outages are not that: the events stay
pending and the next batch takes them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone, translation

from orders.models import Order, Tracking, WebhookEvent, WebhookOutcome
from orders.orders_service import OrderExists, lock_refs
from orders.webhooks.apply import OUTCOME_FIELDS, Context, EventType, apply_event, parse_stored
from orders.webhooks.formats import TrackingUpdate

logger = logging.getLogger(__name__)

UNAVAILABLE = (OperationalError, InterfaceError)  # the database is away (or a deadlock): retry later


def apply_pending(*, limit: int | None = None) -> Counter[str]:
    """Apply up to `limit` pending events; returns how many got each outcome."""
    limit = limit or settings.WEBHOOK_APPLY_BATCH_SIZE
    # Outcome messages (a conflict's reason) in the site's language, whatever this thread served.
    with translation.override(settings.LANGUAGE_CODE):
        try:
            return _batch(limit)
        except UNAVAILABLE:
            raise
        except Exception:
            logger.exception("A webhook batch failed; applying its events one by one")
            return _one_by_one(limit)


def drain(*, limit: int | None = None, seconds: float = 30.0) -> tuple[Counter[str], bool]:
    """Apply batches until nothing is pending or `seconds` have passed; (outcomes, more left)."""
    limit = limit or settings.WEBHOOK_APPLY_BATCH_SIZE
    deadline = time.monotonic() + seconds
    total: Counter[str] = Counter()
    while True:
        outcomes = apply_pending(limit=limit)
        total += outcomes
        if sum(outcomes.values()) < limit:
            return total, False
        if time.monotonic() >= deadline:
            return total, True


def _batch(limit: int) -> Counter[str]:
    with transaction.atomic():
        events = WebhookEvent.objects.claim(limit)
        if not events:
            return Counter()
        lock_refs((event.account_id, event.order_ref) for event in events)
        parsed = [(event, parse_stored(event)) for event in events]
        known = _lock_shipments([(event, item) for event, item in parsed if item is not None])
        settled: list[WebhookEvent] = []
        for event, item in parsed:
            if item is None:
                continue  # rejected and saved by parse_stored
            envelope, kind, data = item
            _apply(Context(event.account, event, envelope, data, trackings=known), kind, ref_locked=True)
            if kind.may_conflict or event.outcome == WebhookOutcome.PARKED:
                # Saved at once: later events read them (newest details win; parked replays).
                event.save(update_fields=OUTCOME_FIELDS)
            else:
                settled.append(event)
            if kind.may_conflict:
                known.clear()  # an order event may have added or recomputed shipments
        _save_outcomes(settled)
    for event in events:
        _told(event)
    return Counter(event.outcome for event in events)


def _lock_shipments(parsed) -> dict[tuple[int, str], list[Tracking]]:
    """Lock the orders of every shipment the batch's carrier updates name (in id order, one
    statement), then read those shipments: fresh, and no one else changes them until commit, so
    the lifecycle need not read them again for each event (`record_checkpoint(locked=True)`).
    Applying an order event may change them behind these instances: the caller then drops them."""
    numbers: dict[int, set[str]] = defaultdict(set)
    for event, (_envelope, _kind, data) in parsed:
        if isinstance(data, TrackingUpdate):
            numbers[event.account_id].add(data.trackingNumber)
    known: dict[tuple[int, str], list[Tracking]] = {}
    for account_id, account_numbers in numbers.items():
        shipments = Tracking.objects.filter(order__account_id=account_id, tracking_number__in=account_numbers)
        locked = Order.objects.select_for_update().filter(pk__in=shipments.values("order_id")).order_by("pk")
        orders = {order.pk: order for order in locked}
        for tracking in shipments.order_by("pk"):
            tracking.order = orders[tracking.order_id]  # one instance per order, as the lifecycle wants
            known.setdefault((account_id, tracking.tracking_number), []).append(tracking)
    return known


def _told(event: WebhookEvent) -> None:
    """A rejected event is a conflict the sender no longer hears about in its answer: log it."""
    if event.outcome == WebhookOutcome.REJECTED:
        logger.warning(
            "Webhook event %s:%s (%s, %s) rejected: %s",
            event.source, event.event_id, event.event_type, event.order_ref, event.message,
        )  # fmt: skip


def _save_outcomes(events: list[WebhookEvent]) -> None:
    """One UPDATE per distinct outcome instead of one per event."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in events:
        groups[(event.outcome, event.message)].append(event.pk)
    now = timezone.now()
    for (outcome, message), ids in groups.items():
        WebhookEvent.objects.filter(pk__in=ids).update(outcome=outcome, message=message, processed_at=now)


def _one_by_one(limit: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for _ in range(limit):
        with transaction.atomic():
            claimed = WebhookEvent.objects.claim(1)
            if not claimed:
                break
            event = claimed[0]
            try:
                with transaction.atomic():
                    _apply_alone(event)
            except UNAVAILABLE:
                raise
            except Exception as exc:
                logger.exception("Webhook event %s could not be applied", event.pk)
                event.outcome, event.processed_at = WebhookOutcome.FAILED, timezone.now()
                event.message = f"Could not be applied ({type(exc).__name__}: {exc})"[:500]
                event.save(update_fields=OUTCOME_FIELDS)
            _told(event)
            outcomes[event.outcome] += 1
    return outcomes


def _apply_alone(event: WebhookEvent) -> None:
    item = parse_stored(event)
    if item is None:
        return
    envelope, kind, data = item
    _apply(Context(event.account, event, envelope, data), kind)
    event.save(update_fields=OUTCOME_FIELDS)


def _apply(ctx: Context, kind: EventType, *, ref_locked: bool = False) -> None:
    try:
        apply_event(ctx, kind, ref_locked=ref_locked)
    except OrderExists as exc:  # a request would answer 409 order_exists; this one was stored
        ctx.event.outcome, ctx.event.message = WebhookOutcome.REJECTED, str(exc)[:500]
        ctx.event.processed_at = timezone.now()
