"""Incoming webhooks: verify, store once, apply through the lifecycle, in any order.

    POST /webhooks/{source}/   Statuspage-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>

Sources and their events (payloads documented in docs/api.md):

- `nimbus` (the order system): order.created, order.updated, order.fulfilled, order.cancelled,
  order.delivered. `data.orderId` is the order system's id and becomes our order number.
- `vendor` (the fulfilment vendor): ORDER_PLACED, TRACKING_OBTAINED.
- `tracking` (carrier feed): tracking.updated with checkpoints.

Guarantees:

- Idempotent: (account, source, event id) is unique in the database. The event row is inserted
  first (`INSERT … ON CONFLICT DO NOTHING RETURNING`), so of two concurrent copies exactly one is
  stored and applied and the other answers "duplicate".
- When: WEBHOOK_APPLY=sync applies the event in its request, in the transaction that stores it;
  async stores it `pending` (202 accepted) and orders.webhooks.batches applies it later, on a
  Celery worker or `manage.py apply_webhooks`, with the same functions below.
- Order-insensitive: statuses only move forward (a backwards move is stored as `stale`);
  checkpoints are ordered by their own timestamps (orders.lifecycle.refresh_tracking); order
  details and announced delivery dates come from the event with the latest `createdAt` (ties: the
  larger event id), whichever arrives last. An event about an order or shipment we do not know yet
  is stored as `parked` and applied when the order or shipment appears.
- Real conflicts (cancel after shipping, shipping a cancelled order) are stored as `rejected`
  (answered 409 in sync mode); nothing of such an event is applied.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from orders import lifecycle, orders_service
from orders.carriers import normalize_tracking_number
from orders.lifecycle import TransitionError
from orders.models import Account, Order, OrderStatus, Tracking, WebhookEvent, WebhookOutcome
from orders.orders_service import OrderData, carrier_code, find_order, lock_ref, tracking_ref
from orders.payloads import (
    detail_groups,
)
from orders.validation_errors import error_location, join_path, reason
from orders.webhooks import storage, wakeup
from orders.webhooks.formats import Envelope, FeedCheckpoint, NimbusOrder, OrderRef, Shipment, TrackingUpdate
from orders.webhooks.signatures import SIGNATURE_HEADER, WebhookError, find_account, verify_signature

DUPLICATE = "duplicate"
ACCEPTED = "accepted"  # stored, to be applied by a batch (WEBHOOK_APPLY=async)


@dataclass
class Receipt:
    """What happened to one delivery of an event."""

    status: str  # applied, stale, parked, rejected, accepted or duplicate
    event: WebhookEvent

    @property
    def http_status(self) -> int:
        return {"parked": 202, "accepted": 202, "rejected": 409}.get(self.status, 200)

    @property
    def message(self) -> str:
        return self.event.message

    def ack(self) -> str:
        """The answer's JSON (the WebhookAck schema; the OpenAPI test checks answers against it)."""
        ack = {"status": self.status, "eventId": self.event.event_id, "outcome": self.event.outcome}
        if self.message:
            ack["message"] = self.message
        return json.dumps(ack)


# --- applying events ----------------------------------------------------------------------------


class Park(Exception):
    """The order or shipment the event is about does not exist yet."""


@dataclass
class Context:
    account: Account
    event: WebhookEvent
    envelope: Envelope
    data: Any
    # A batch's shipments by (account id, number), read once under their orders' locks.
    trackings: dict[tuple[int, str], list[Tracking]] | None = None


def _key(event: WebhookEvent) -> tuple:
    """Events compare by their own timestamp (those without one count as oldest), then id."""
    moment = event.occurred_at or datetime.min.replace(tzinfo=timezone.get_current_timezone())
    return (moment, event.event_id)


def _newer_events(ctx: Context) -> list[WebhookEvent]:
    processed = (WebhookOutcome.APPLIED, WebhookOutcome.STALE)
    events = WebhookEvent.objects.filter(
        account=ctx.account, order_ref=ctx.event.order_ref, outcome__in=processed
    ).exclude(pk=ctx.event.pk)
    mine = _key(ctx.event)
    return [event for event in events if _key(event) > mine]


def _details_set_later(ctx: Context) -> set[str]:
    """Detail groups that an event newer than this one has already set (those win)."""
    groups: set[str] = set()
    for event in _newer_events(ctx):
        if event.event_type in ("order.created", "order.updated"):
            groups |= detail_groups(event.payload.get("data"))
    return groups


def _eta_for(event: WebhookEvent, number: str) -> bool:
    data = event.payload.get("data") or {}
    return (
        isinstance(data.get("trackingNumber"), str)
        and normalize_tracking_number(data["trackingNumber"]) == number
        and bool(data.get("estimatedDeliveryDate"))
    )


def _order_or_park(ctx: Context) -> Order:
    order = find_order(ctx.account, ctx.event.order_ref)
    if order is None:
        raise Park()
    return order


def _advance(order: Order, status: str | None) -> bool:
    """Move forward to `status`; False when that would be a step back (a stale update)."""
    if not status or status == order.status:
        return False
    if lifecycle.is_backwards(order.status, status):
        return False
    lifecycle.transition_order(order, status)  # a real conflict (e.g. after cancelling) raises
    return True


def _ship(ctx: Context, order: Order, number: str, carrier: str | None, eta: date | None) -> None:
    if eta is not None and any(_eta_for(event, number) for event in _newer_events(ctx)):
        eta = None  # a later event already announced this shipment's date
    orders_service.add_tracking(
        order=order, tracking_number=number, carrier=carrier, estimated_delivery_date=eta
    )


def apply_order_json(ctx: Context) -> str:
    """order.created and order.updated: create or update the order, forward-only status."""
    data: NimbusOrder = ctx.data
    if data.trackingNumber:  # _apply holds the order's lock; the shipment's too before any row
        lock_ref(ctx.account.pk, tracking_ref(data.trackingNumber))
    order = find_order(ctx.account, ctx.event.order_ref)
    changed = False
    if order is None:
        if ctx.event.event_type != "order.created":
            raise Park()
        fields = data.detail_fields()
        order = orders_service.create_order(
            account=ctx.account,
            data=OrderData(order_number=data.ref, fields=fields, items=data.item_data() or []),
            status=data.status or OrderStatus.PENDING,
        )
        changed = True
    else:
        fields = data.detail_fields(skip=_details_set_later(ctx))
        changed |= orders_service.update_details(order, fields)
        if data.status == OrderStatus.CANCELLED:
            lifecycle.transition_order(order, OrderStatus.CANCELLED)
            changed = True
        else:
            changed |= _advance(order, data.status)
    if data.trackingNumber:
        _ship(ctx, order, data.trackingNumber, data.carrier, data.estimatedDeliveryDate)
        changed = True
    return WebhookOutcome.APPLIED if changed else WebhookOutcome.STALE


def apply_shipment(ctx: Context) -> str:
    data: Shipment = ctx.data
    order = _order_or_park(ctx)
    _ship(ctx, order, data.trackingNumber, data.carrier, data.estimatedDeliveryDate)
    order.refresh_from_db()
    _advance(order, data.status if data.status != OrderStatus.PENDING else None)
    return WebhookOutcome.APPLIED


def apply_cancelled(ctx: Context) -> str:
    order = _order_or_park(ctx)
    lifecycle.transition_order(order, OrderStatus.CANCELLED)
    return WebhookOutcome.APPLIED


def apply_delivered(ctx: Context) -> str:
    order = _order_or_park(ctx)
    lifecycle.transition_order(order, OrderStatus.DELIVERED)
    return WebhookOutcome.APPLIED


def apply_placed(ctx: Context) -> str:
    order = _order_or_park(ctx)
    return WebhookOutcome.APPLIED if _advance(order, OrderStatus.PROCESSING) else WebhookOutcome.STALE


def _trackings(ctx: Context, number: str, carrier: str | None) -> tuple[list[Tracking], bool]:
    """The shipments with this number, and whether they (and their orders) were read under the
    orders' locks (a batch's)."""
    known = (ctx.trackings or {}).get((ctx.account.pk, number))
    if known:
        return [tracking for tracking in known if not carrier or tracking.carrier == carrier], True
    trackings = Tracking.objects.filter(order__account=ctx.account, tracking_number=number)
    if carrier:
        trackings = trackings.filter(carrier=carrier)
    return list(trackings.select_related("order")), False


def apply_tracking_update(ctx: Context) -> str:
    data: TrackingUpdate = ctx.data
    trackings, locked = _trackings(ctx, data.trackingNumber, carrier_code(data.courier))
    if not trackings:
        raise Park()
    checkpoints = sorted(data.checkpoints, key=lambda c: c.timestamp)
    if not checkpoints:  # a bare status: one checkpoint at the event's time
        moment = ctx.envelope.createdAt or ctx.event.received_at
        checkpoints = [FeedCheckpoint(timestamp=moment, status=data.status)]
    created = False
    for tracking in trackings:
        for index, checkpoint in enumerate(checkpoints):
            newest = index == len(checkpoints) - 1
            _cp, was_created = lifecycle.record_checkpoint(
                tracking=tracking,
                occurred_at=checkpoint.timestamp,
                status=checkpoint.status,
                status_code=checkpoint.statusCode,
                message=checkpoint.message,
                location=checkpoint.location,
                country=checkpoint.country,
                estimated_delivery_date=data.estimatedDeliveryDate if newest else None,
                locked=locked,
            )
            created |= was_created
    return WebhookOutcome.APPLIED if created else WebhookOutcome.STALE


@dataclass(frozen=True)
class EventType:
    schema: type
    apply: Callable[[Context], str]
    ref: Callable[[Any], str]
    # Order events may meet a real conflict after writing something, so they are applied in a
    # savepoint; a carrier update raises nothing once parsed (it parks before any write).
    may_conflict: bool = True


def _order_ref(data) -> str:
    return data.ref if isinstance(data, NimbusOrder) else data.orderId


EVENT_TYPES: dict[str, dict[str, EventType]] = {
    "nimbus": {
        "order.created": EventType(NimbusOrder, apply_order_json, _order_ref),
        "order.updated": EventType(NimbusOrder, apply_order_json, _order_ref),
        "order.fulfilled": EventType(Shipment, apply_shipment, _order_ref),
        "order.cancelled": EventType(OrderRef, apply_cancelled, _order_ref),
        "order.delivered": EventType(OrderRef, apply_delivered, _order_ref),
    },
    "vendor": {
        "ORDER_PLACED": EventType(OrderRef, apply_placed, _order_ref),
        "TRACKING_OBTAINED": EventType(Shipment, apply_shipment, _order_ref),
    },
    "tracking": {
        "tracking.updated": EventType(
            TrackingUpdate,
            apply_tracking_update,
            lambda d: tracking_ref(d.trackingNumber),
            may_conflict=False,
        ),
    },
}
SOURCES = tuple(EVENT_TYPES)


def _pydantic_error(exc: ValidationError, prefix: str) -> WebhookError:
    first = exc.errors(include_url=False)[0]
    path = join_path(error_location(first), start=prefix)
    why = "Send a JSON object." if first["type"] == "model_type" else reason(first)
    return WebhookError(400, "validation_error", "The event is invalid", field=path or "body", reason=why)


def parse(source: str, payload: Any) -> tuple[Envelope, EventType, Any]:
    """Validate an event; raises WebhookError 400 (bad shape) or 422 (unknown type)."""
    if not isinstance(payload, dict):
        raise WebhookError(
            400, "validation_error", "The event is invalid", field="body", reason="Send a JSON object."
        )
    try:
        envelope = Envelope.model_validate(payload)
    except ValidationError as exc:
        raise _pydantic_error(exc, "") from None
    kind = EVENT_TYPES[source].get(envelope.type)
    if kind is None:
        raise WebhookError(
            422, "unknown_event_type", f"Unknown event type “{envelope.type}” for source {source}",
            field="type", reason=f"Known types: {', '.join(EVENT_TYPES[source])}.",
        )  # fmt: skip
    try:
        data = kind.schema.model_validate(envelope.data)
    except ValidationError as exc:
        raise _pydantic_error(exc, "data") from None
    return envelope, kind, data


def apply_event(ctx: Context, kind: EventType, *, ref_locked: bool = False) -> None:
    """Apply one stored event and set its outcome on `ctx.event` (the caller saves it)."""
    event = ctx.event
    # Locked outside the savepoint below: rolling a savepoint back releases the advisory locks
    # taken inside it, and a parked event must stay locked until it is committed.
    if not ref_locked:
        lock_ref(ctx.account.pk, event.order_ref)
    try:
        if kind.may_conflict:
            with transaction.atomic():  # a rejected event leaves no trace but its own row
                outcome = kind.apply(ctx)
        else:
            outcome = kind.apply(ctx)
        event.outcome, event.message = outcome, ""
    except Park:
        event.outcome, event.message = WebhookOutcome.PARKED, PARKED_MESSAGE
    except TransitionError as exc:
        event.outcome, event.message = WebhookOutcome.REJECTED, str(exc)[:500]
    event.processed_at = timezone.now()


PARKED_MESSAGE = "Waiting for the order or shipment to arrive."
OUTCOME_FIELDS = ["outcome", "message", "processed_at"]


def _apply(ctx: Context, kind: EventType) -> None:
    apply_event(ctx, kind)
    ctx.event.save(update_fields=OUTCOME_FIELDS)


def store(*, account: Account, source: str, envelope: Envelope, kind: EventType, data: Any,
          payload: dict, outcome: str) -> WebhookEvent | None:  # fmt: skip
    """Insert the event once; None when (account, source, id) is already stored, or when the
    account's secret is no longer the one the signature was checked with."""
    event = WebhookEvent(
        account=account,
        source=source,
        event_id=envelope.id,
        event_type=envelope.type,
        payload=payload,
        order_ref=kind.ref(data)[:200],
        occurred_at=envelope.createdAt,
        outcome=outcome,
    )
    return event if storage.insert(event, signed_with=account.webhook_secret) else None


class SecretChanged(WebhookError):
    """The account's webhook secret is not the one the signature was checked with (any more)."""

    def __init__(self):
        super().__init__(
            401, "unauthorized", "The webhook signature is missing or invalid", field=SIGNATURE_HEADER,
            reason="The webhook secret was rotated while the event arrived; sign it with the new one.",
        )  # fmt: skip


def _duplicate(account: Account, source: str, event_id: str) -> Receipt:
    # On PostgreSQL the insert waited for a concurrent copy to commit, so its row is visible.
    stored = WebhookEvent.objects.filter(account=account, source=source, event_id=event_id)
    stored = stored.only("event_id", "outcome", "message").first()  # not its payload
    if stored is None:
        raise SecretChanged()
    return Receipt(DUPLICATE, stored)


def process(*, account: Account, source: str, payload: Any, storable: bool = False) -> Receipt:
    """Store one parsed event and apply it now (sync) or leave it to a batch (async).

    The HTTP layer has verified its signature. WEBHOOK_APPLY decides when it is applied.
    `storable`: the caller knows that the payload holds nothing a JSON column refuses.
    """
    if source not in EVENT_TYPES:
        raise WebhookError(404, "not_found", f"Unknown webhook source “{source}”")
    envelope, kind, data = parse(source, payload)
    if not (storable or _storable(payload)):
        raise _invalid_body(UNSTORABLE)
    fields = {"account": account, "source": source, "envelope": envelope, "kind": kind, "data": data}
    if settings.WEBHOOK_APPLY == "async":
        event = store(**fields, payload=payload, outcome=WebhookOutcome.PENDING)
        if event is None:
            return _duplicate(account, source, envelope.id)
        transaction.on_commit(wakeup.request_batch)
        return Receipt(ACCEPTED, event)
    with transaction.atomic():
        event = store(**fields, payload=payload, outcome=WebhookOutcome.APPLIED)  # settled below
        if event is None:
            return _duplicate(account, source, envelope.id)
        _apply(Context(account, event, envelope, data), kind)
    return Receipt(event.outcome, event)


def parse_stored(event: WebhookEvent) -> tuple[Envelope, EventType, Any] | None:
    """Parse a stored event again; None (and the event rejected, saying why) when it no longer
    parses (stored before a stricter release, or its payload erased since)."""
    try:
        return parse(event.source, event.payload)
    except WebhookError as exc:
        event.outcome, event.message = WebhookOutcome.REJECTED, (exc.reason or exc.message)[:500]
        event.processed_at = timezone.now()
        event.save(update_fields=OUTCOME_FIELDS)
        return None


def receive(*, account_ref: str | None, source: str, body: bytes, signature: str) -> Receipt:
    """The whole webhook request: account (`?account=`), signature, JSON, then the event."""
    if source not in EVENT_TYPES:
        raise WebhookError(404, "not_found", f"Unknown webhook source “{source}”")
    account = _signed_by(account_ref, signature, body)
    try:
        payload = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except Infinite:
        raise _invalid_body(UNSTORABLE) from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _invalid_body("The body is not valid JSON.") from None
    fields = {"source": source, "payload": payload, "storable": _plain(body)}
    try:
        return process(account=account, **fields)
    except SecretChanged:  # the process's copy of the account was older than a rotation
        account = find_account(account_ref, fresh=True)
        verify_signature(account.webhook_secret, signature, body)
        return process(account=account, **fields)


def _signed_by(account_ref: str | None, signature: str, body: bytes) -> Account:
    """The account whose secret signed `body`; a refusal by the process's copy of the account is
    checked against the database before it is final (the sender may use a new secret)."""
    account = find_account(account_ref)
    try:
        verify_signature(account.webhook_secret, signature, body)
    except WebhookError:
        current = find_account(account_ref, fresh=True)
        if current.webhook_secret == account.webhook_secret:
            raise
        verify_signature(current.webhook_secret, signature, body)
        return current
    return account


def _reject_constant(name: str):
    """NaN and Infinity are not JSON (RFC 8259), and no database stores them in a JSON column."""
    raise ValueError(f"{name} is not valid JSON")


class Infinite(ValueError):
    """A number too large for a float (1e999 parses as infinity)."""


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise Infinite(text)
    return value


def _plain(body: bytes) -> bool:
    """True when no string in this JSON body can hold a NUL or an unpaired surrogate: ASCII
    without NUL bytes (so read as UTF-8, not UTF-16 or -32) and without `\\u` escapes, the only
    way to write those (strict JSON refuses raw control characters). Such a body, parsed with
    `_finite_float`, needs no walk through its values (`_storable`)."""
    return body.isascii() and b"\x00" not in body and b"\\u" not in body


def _finite(value) -> bool:
    """False for numbers too large for a float (1e999 parses as infinity)."""
    return not isinstance(value, float) or math.isfinite(value)


def _invalid_body(reason: str) -> WebhookError:
    return WebhookError(400, "validation_error", "The event is invalid", field="body", reason=reason)


UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "NUL characters, unpaired surrogates and infinite numbers cannot be stored."


def _storable(value) -> bool:
    """False for JSON a JSON column refuses (\\u0000, unpaired surrogates, 1e999), at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if not _finite(item):
            return False
        if isinstance(item, str):
            if UNSTORABLE_CHARACTERS.search(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def replay_parked(*, account: Account, ref: str) -> None:
    """Apply, in arrival order, the events that were waiting for `ref` (an order or shipment)."""
    parked = WebhookEvent.objects.filter(account=account, order_ref=ref, outcome=WebhookOutcome.PARKED)
    for event in parked.order_by("received_at", "id"):
        parsed = parse_stored(event)
        if parsed is not None:
            envelope, kind, data = parsed
            _apply(Context(account, event, envelope, data), kind)
