"""The order lifecycle: the one place where order and shipment state changes.

    pending → processing → shipped → delivered      (forward skips allowed)
       └──────────┴──→ cancelled                    (never once shipped)

Trackings follow their checkpoints: status, progress step and estimated delivery are recomputed
from the checkpoints in `occurred_at` order, so the result does not depend on the order in which
the carrier's events arrived. Every function here is atomic: a forbidden move raises
`TransitionError` and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.cache import versions as state_cache
from orders.carriers import detect_carrier, get_carrier, normalize_tracking_number
from orders.models import (
    FINAL_TRACKING_STATUSES,
    STEP_FOR_STATUS,
    Checkpoint,
    EstimateChange,
    Order,
    OrderStatus,
    Tracking,
    TrackingStatus,
)
from orders.notifications import outbox

ORDER_FLOW = (OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
CANCELLABLE = frozenset({OrderStatus.PENDING, OrderStatus.PROCESSING})


class TransitionError(Exception):
    """A state change the lifecycle forbids (e.g. cancelling a shipped order)."""

    def __init__(self, message: str, *, current: str = "", requested: str = ""):
        super().__init__(message)
        self.current = current
        self.requested = requested


def is_backwards(current: str, requested: str) -> bool:
    """True for a forward-flow status that the order has already passed (a stale update)."""
    if current not in ORDER_FLOW or requested not in ORDER_FLOW:
        return False
    return ORDER_FLOW.index(requested) < ORDER_FLOW.index(current)


def allowed_next_statuses(current: str) -> list[str]:
    if current == OrderStatus.CANCELLED:
        return []
    following = list(ORDER_FLOW[ORDER_FLOW.index(current) + 1 :])
    if current in CANCELLABLE:
        following.append(OrderStatus.CANCELLED)
    return following


def check_transition(current: str, requested: str) -> None:
    """Raise TransitionError unless `current → requested` is allowed (staying put is allowed)."""
    if requested not in OrderStatus.values:
        raise TransitionError(
            _("Unknown order status “%s”.") % requested, current=current, requested=requested
        )
    if requested == current:
        return
    if requested == OrderStatus.CANCELLED:
        if current not in CANCELLABLE:
            raise TransitionError(
                _("An order that is %s can no longer be cancelled.") % OrderStatus(current).label.lower(),
                current=current,
                requested=requested,
            )
        return
    if current == OrderStatus.CANCELLED:
        raise TransitionError(
            _("A cancelled order cannot change status."), current=current, requested=requested
        )
    if is_backwards(current, requested):
        raise TransitionError(
            _("Order status cannot move back from %(current)s to %(requested)s.")
            % {"current": current, "requested": requested},
            current=current,
            requested=requested,
        )


def _locked(order: Order) -> Order:
    """Re-read the order under a row lock so concurrent updates serialise.

    Within the transaction this instance is the order's truth: pass it down rather than
    re-reading, and change it only through `_bump`.
    """
    return Order.objects.select_for_update().get(pk=order.pk)


def _bump(order: Order, *, shipment: outbox.ShipmentChange | None = None, **fields) -> None:
    """Save `fields` on the locked order and bump the state version that ETags and caches use.

    Every state change passes here, so this is where its notifications are written to the outbox,
    in the same transaction (`shipment` says which shipment changed and how it was before).
    """
    previous_status = order.status
    order.state_version += 1
    order.updated_at = timezone.now()
    for name, value in fields.items():
        setattr(order, name, value)
    Order.objects.filter(pk=order.pk).update(
        state_version=order.state_version, updated_at=order.updated_at, **fields
    )
    state_cache.publish(order.pk, order.state_version)
    outbox.record(order, previous_status=previous_status, change=shipment)


def _copy_state(target: Order, locked: Order) -> None:
    """Bring the caller's instance up to date with what was written under the lock."""
    for name in ("status", "state_version", "link_version", "updated_at"):
        setattr(target, name, getattr(locked, name))


@transaction.atomic
def transition_order(order: Order, status: str) -> Order:
    """Move `order` to `status` if the lifecycle allows it; a no-op when it is already there."""
    locked = _locked(order)
    check_transition(locked.status, status)
    if locked.status != status:
        _bump(locked, status=status)
    _copy_state(order, locked)
    return order


def cancel_order(order: Order) -> Order:
    return transition_order(order, OrderStatus.CANCELLED)


@transaction.atomic
def attach_tracking(
    *,
    order: Order,
    tracking_number: str,
    carrier: str | None = None,
    estimated_delivery_date: date | None = None,
    is_return: bool = False,
) -> Tracking:
    """Add a shipment to an order (or return the existing one) and mark the order shipped.

    The carrier is detected from the number when not given. Re-attaching the same number is
    idempotent. The ETA given here is the announced one; carrier checkpoints that carry a newer
    estimate take precedence (see refresh_tracking). Cancelled orders take no shipments.
    """
    number = normalize_tracking_number(tracking_number)
    if not number:
        raise TransitionError(_("A tracking number is required."))
    carrier_code = get_carrier(carrier).code if carrier else detect_carrier(number).code
    locked = _locked(order)
    if locked.status == OrderStatus.CANCELLED and not is_return:
        raise TransitionError(
            _("A cancelled order cannot be shipped."), current=locked.status, requested=OrderStatus.SHIPPED
        )
    tracking, created = Tracking.objects.get_or_create(
        order=locked,
        carrier=carrier_code,
        tracking_number=number,
        # A new shipment is due for its first carrier poll at once.
        defaults={"is_return": is_return, "next_poll_at": timezone.now()},
    )
    tracking.order = locked
    if estimated_delivery_date and tracking.announced_delivery_date != estimated_delivery_date:
        tracking.announced_delivery_date = estimated_delivery_date
        _refresh(tracking, locked)
    changes = {}
    if not is_return and locked.status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
        changes["status"] = OrderStatus.SHIPPED
    if created or changes:
        added = outbox.ShipmentChange(tracking, outbox.ShipmentBefore(), added=True) if created else None
        _bump(locked, shipment=added, **changes)
    if created:
        _retire_answers_naming_other_holders(tracking)
    _sync_order_delivery(locked)
    _copy_state(order, locked)
    return tracking


def _retire_answers_naming_other_holders(tracking: Tracking) -> None:
    """A cached answer to "where is tracking number X" names the holder it was built from; a new
    holder changes what that lookup resolves to, so the other holders' answers are retired too
    (their state versions move on; nothing else about them changes)."""
    others = (
        Tracking.objects.recent()
        .holding(tracking.tracking_number)
        .exclude(order_id=tracking.order_id)
        .values_list("order_id", flat=True)
    )
    order_ids = sorted(set(others))
    if not order_ids:
        return
    Order.objects.filter(pk__in=order_ids).update(state_version=F("state_version") + 1)
    for order_id, version in Order.objects.filter(pk__in=order_ids).values_list("pk", "state_version"):
        state_cache.publish(order_id, version)


def record_checkpoint(
    *,
    tracking: Tracking,
    occurred_at: datetime,
    status: str,
    status_code: str = "",
    message: str = "",
    details: str = "",
    location: str = "",
    country: str = "",
    estimated_delivery_date: date | None = None,
    estimated_delivery_end: date | None = None,
    estimated_time_from: time | None = None,
    estimated_time_to: time | None = None,
    zone_known: bool = True,
    is_hidden: bool = False,
    locked: bool = False,
) -> tuple[Checkpoint, bool]:
    """Store a carrier event once (repeats are ignored) and bring the shipment up to date.

    Returns (checkpoint, created). The status code defaults to the status so that two different
    events at the same time and place stay distinct. `locked`: the caller holds the order's lock,
    and read `tracking` and `tracking.order` under it (a webhook batch locks its orders up front
    and passes each order's one instance down, changed only here): neither is read again.
    """
    if status not in TrackingStatus.values:
        raise TransitionError(_("Unknown tracking status “%s”.") % status)
    identity = {"occurred_at": occurred_at, "status_code": status_code or status, "location": location}
    fields = {"message": message, "details": details, "country": country, "is_hidden": is_hidden}
    fields |= {
        "estimated_delivery_date": estimated_delivery_date,
        "estimated_delivery_end": estimated_delivery_end if estimated_delivery_date else None,
        "estimated_time_from": estimated_time_from if estimated_delivery_date else None,
        "estimated_time_to": estimated_time_to if estimated_delivery_date else None,
        "zone_known": zone_known,
    }
    # No savepoint of its own (a webhook applies events by the thousand): inside a caller's
    # transaction, a failure here fails the caller's savepoint instead.
    with transaction.atomic(savepoint=False):
        if locked:
            order, before = tracking.order, outbox.ShipmentBefore.of(tracking)
        else:  # lock the order first: refreshes of sibling shipments must not interleave
            order, before = _locked(tracking.order), None
            tracking.order = order
        checkpoint = Checkpoint(tracking=tracking, status=status, **identity, **fields)
        # The unique constraint, not a prior SELECT, decides "new"; a repeat costs no savepoint.
        if not Checkpoint.objects.insert_once(checkpoint, constraint="checkpoint_event_unique"):
            return Checkpoint.objects.get(tracking=tracking, **identity), False
        if tracking.last_event_at is None or occurred_at >= tracking.last_event_at:
            _advance(tracking, checkpoint)  # the usual case: the newest event so far
            _save_derived(tracking, order, checkpoint=checkpoint, before=before)
        else:  # a late event: replay the history in time order
            _refresh(tracking, order, checkpoint=checkpoint, before=before)
    return checkpoint, True


def update_checkpoint_estimate(
    checkpoint: Checkpoint,
    *,
    estimated_delivery_date: date | None,
    estimated_delivery_end: date | None = None,
    estimated_time_from: time | None = None,
    estimated_time_to: time | None = None,
) -> bool:
    """A carrier changed its estimate without a new scan: the estimate belongs to its newest
    event, so it is updated there and the shipment recomputed. Returns True when it changed."""
    new = {
        "estimated_delivery_date": estimated_delivery_date,
        "estimated_delivery_end": estimated_delivery_end,
        "estimated_time_from": estimated_time_from,
        "estimated_time_to": estimated_time_to,
    }
    if all(getattr(checkpoint, name) == value for name, value in new.items()):
        return False
    with transaction.atomic():
        tracking = checkpoint.tracking
        order = _locked(tracking.order)
        tracking.order = order
        Checkpoint.objects.filter(pk=checkpoint.pk).update(**new)
        for name, value in new.items():
            setattr(checkpoint, name, value)
        _refresh(tracking, order, estimate_changed_at=timezone.now())
    return True


def _advance(tracking: Tracking, checkpoint: Checkpoint) -> None:
    """Apply one event on top of the shipment's state. Exceptions keep the step reached."""
    tracking.status = checkpoint.status
    tracking.step = STEP_FOR_STATUS[checkpoint.status] or tracking.step
    if checkpoint.estimated_delivery_date:  # the carrier's newest estimate, with its window
        if checkpoint.estimated_delivery_date != tracking.estimated_delivery_date:
            tracking.estimate_set_at = checkpoint.occurred_at
        tracking.estimated_delivery_date = checkpoint.estimated_delivery_date
        tracking.estimated_delivery_date_end = checkpoint.estimated_delivery_end
        tracking.estimated_time_from = checkpoint.estimated_time_from
        tracking.estimated_time_to = checkpoint.estimated_time_to
    is_delivered = checkpoint.status == TrackingStatus.DELIVERED
    tracking.delivered_at = checkpoint.occurred_at if is_delivered else None
    tracking.last_event_at = checkpoint.occurred_at


DERIVED_FIELDS = (
    "status",
    "step",
    "announced_delivery_date",
    "estimated_delivery_date",
    "estimated_delivery_date_end",
    "estimated_time_from",
    "estimated_time_to",
    "delivered_at",
    "last_event_at",
    "next_poll_at",
    "updated_at",
)


def _save_derived(
    tracking: Tracking,
    order: Order,
    checkpoint: Checkpoint | None = None,
    before: outbox.ShipmentBefore | None = None,
) -> None:
    before = before or outbox.ShipmentBefore.stored(tracking)
    _record_estimate_change(tracking)
    if tracking.status in FINAL_TRACKING_STATUSES:
        tracking.next_poll_at = None  # nothing more to learn from the carrier
    fields = {name: getattr(tracking, name) for name in DERIVED_FIELDS}
    held = TrackingStatus.AVAILABLE_FOR_PICKUP
    if before.status == held and tracking.status != held:
        # Collected, re-routed or sent back: a later hold comes with a date of its own.
        tracking.pickup_deadline = fields["pickup_deadline"] = None
    tracking.updated_at = fields["updated_at"] = timezone.now()  # an UPDATE, not save(): no signals
    Tracking.objects.filter(pk=tracking.pk).update(**fields)
    _bump(order, shipment=outbox.ShipmentChange(tracking, before, checkpoint.pk if checkpoint else None))
    _sync_order_delivery(order, tracking)


def _refresh(
    tracking: Tracking,
    order: Order,
    checkpoint: Checkpoint | None = None,
    *,
    estimate_changed_at: datetime | None = None,
    before: outbox.ShipmentBefore | None = None,
) -> None:
    """Recompute the shipment from its checkpoints, oldest to newest (order must be locked).

    Walking the events in time order (not arrival order) is what makes late or repeated carrier
    events harmless: an old checkpoint arriving last never moves the status back.
    `estimate_changed_at`: when the estimate moved, if not at one of the events (ETA history).
    """
    tracking.status, tracking.step, tracking.last_event_at = TrackingStatus.PENDING, 1, None
    tracking.estimated_delivery_date, tracking.delivered_at = tracking.announced_delivery_date, None
    tracking.estimated_time_from = tracking.estimated_time_to = None
    tracking.estimate_set_at = timezone.now()  # the shop's announcement, unless an event overrides it
    for event in tracking.checkpoints.order_by("occurred_at", "id"):
        _advance(tracking, event)
    if estimate_changed_at is not None:
        tracking.estimate_set_at = estimate_changed_at
    _save_derived(tracking, order, checkpoint=checkpoint, before=before)


def _record_estimate_change(tracking: Tracking) -> None:
    """Keep the history of a shipment's estimate: one row whenever a known date moves.

    Compared with what is stored, so replays (late events) that end at the same date add nothing.
    """
    if tracking.pk is None or tracking.estimated_delivery_date is None:
        return
    previous = (
        Tracking.objects.filter(pk=tracking.pk).values_list("estimated_delivery_date", flat=True).first()
    )
    if previous is None or previous == tracking.estimated_delivery_date:
        return
    EstimateChange.objects.create(
        tracking=tracking,
        previous_date=previous,
        new_date=tracking.estimated_delivery_date,
        changed_at=getattr(tracking, "estimate_set_at", None) or timezone.now(),
    )


def lock_for_edit(order: Order) -> None:
    """Take the order's row lock for the rest of the transaction before a staff edit writes a
    shipment row. Every lifecycle change locks the order first and the shipment after; an edit
    that did the reverse could deadlock with a carrier poll or a webhook on the same order."""
    _locked(order)


@transaction.atomic
def set_pickup_deadline(tracking: Tracking, deadline: date) -> bool:
    """The carrier named the last day to collect a held parcel: shown on the page, in the pickup
    email and the calendar file, so it is a state change. Returns True when it changed."""
    order = _locked(tracking.order)
    changed = (
        Tracking.objects.filter(pk=tracking.pk)
        .exclude(pickup_deadline=deadline)
        .update(pickup_deadline=deadline, updated_at=timezone.now())
    )
    tracking.pickup_deadline = deadline
    if changed:
        _bump(order)
        _copy_state(tracking.order, order)
    return bool(changed)


@transaction.atomic
def refresh_tracking(tracking: Tracking) -> Tracking:
    """Recompute a shipment's status, step and ETA from its checkpoints (after staff edits)."""
    order = _locked(tracking.order)
    tracking.order = order
    _refresh(tracking, order)
    return tracking


def _sync_order_delivery(order: Order, changed: Tracking | None = None) -> None:
    """An order is delivered once every outbound shipment is (returns do not count)."""
    if order.status != OrderStatus.SHIPPED:
        return
    if changed is not None and (changed.is_return or not changed.is_delivered):
        return  # this shipment cannot have completed the order
    outbound = order.trackings.filter(is_return=False).aggregate(
        total=Count("pk"), open=Count("pk", filter=~Q(status=TrackingStatus.DELIVERED))
    )
    if outbound["total"] and not outbound["open"]:
        _bump(order, status=OrderStatus.DELIVERED)


@transaction.atomic
def update_order_details(order: Order, fields: Iterable[str] = ()) -> Order:
    """Save staff or API edits of an order's details (never its status) as a state change.

    Widget images and info API answers are cached by state version, so an edited address or item
    must bump it like any other change.
    """
    fields = [name for name in fields if name != "status"]
    locked = _locked(order)
    _bump(locked, **{name: getattr(order, name) for name in fields})
    _copy_state(order, locked)
    return order


@transaction.atomic
def detach_tracking(tracking: Tracking) -> None:
    """Remove a shipment and re-derive its order from the shipments it still has."""
    order = _locked(tracking.order)
    tracking.delete()
    remaining = order.trackings.order_by("is_return", "id").first()  # outbound ones first
    if remaining is not None:
        remaining.order = order
        _refresh(remaining, order)  # bumps the order and re-checks delivery
    else:
        _bump(order)
    _sync_order_delivery(order)


@transaction.atomic
def revoke_links(order: Order) -> Order:
    """Invalidate every signed link issued for the order so far (see orders.signing)."""
    locked = _locked(order)
    _bump(locked, link_version=locked.link_version + 1)
    _copy_state(order, locked)
    return order
