"""Writing notification intents in the same transaction as the state change (the outbox).

The lifecycle calls `record` from `_bump`, the one place every state change passes through, with
the order locked: what changed is compared against what was stored before, so a repeated or
stale carrier event (which changes nothing) records nothing. After commit, Celery tasks drain the
outbox (orders.notifications.tasks); a beat sweep picks up anything a lost task left behind.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from orders.models import Order, OrderStatus, Tracking, TrackingStatus
from orders.notifications import events as ev
from orders.notifications.models import OutboxEvent


@dataclass(frozen=True)
class ShipmentBefore:
    """A shipment's reportable state as stored before this change (None fields: a new shipment)."""

    status: str | None = None
    eta: date | None = None

    @classmethod
    def stored(cls, tracking: Tracking) -> ShipmentBefore:
        row = (
            Tracking.objects.filter(pk=tracking.pk)
            .values("status", "estimated_delivery_date", "estimated_delivery_date_end")
            .first()
        )
        if row is None:
            return cls()
        return cls(
            status=row["status"], eta=row["estimated_delivery_date_end"] or row["estimated_delivery_date"]
        )

    @classmethod
    def of(cls, tracking: Tracking) -> ShipmentBefore:
        """The same, from an instance that holds what is stored (read under its order's lock)."""
        return cls(
            status=tracking.status,
            eta=tracking.estimated_delivery_date_end or tracking.estimated_delivery_date,
        )


@dataclass(frozen=True)
class ShipmentChange:
    tracking: Tracking
    before: ShipmentBefore
    checkpoint_id: int | None = None
    added: bool = False  # the shipment was just attached to the order


EMAIL_FOR_STATUS = {
    TrackingStatus.OUT_FOR_DELIVERY: ev.OUT_FOR_DELIVERY,
    TrackingStatus.AVAILABLE_FOR_PICKUP: ev.READY_FOR_PICKUP,
    TrackingStatus.FAILED_ATTEMPT: ev.FAILED_ATTEMPT,
    TrackingStatus.EXCEPTION: ev.EXCEPTION,
    TrackingStatus.DELIVERED: ev.DELIVERED,
}


def _eta(tracking: Tracking) -> date | None:
    return tracking.estimated_delivery_date_end or tracking.estimated_delivery_date


def _one_of_several_delivered(order: Order, tracking: Tracking) -> bool:
    """A parcel arrived while others are still on their way (the order is not delivered yet)."""
    if order.status == OrderStatus.DELIVERED:
        return False
    others = order.trackings.filter(is_return=False).exclude(pk=tracking.pk)
    return others.exclude(status=TrackingStatus.DELIVERED).exists()


def events_for(
    order: Order, previous_status: str, change: ShipmentChange | None
) -> list[tuple[str, str, dict]]:
    """(event, email key, data) for what this change means to shoppers and merchants."""
    found: list[tuple[str, str, dict]] = []
    if order.status != previous_status:
        data = {"previousStatus": previous_status, "status": order.status}
        found.append((ev.ORDER_STATUS_CHANGED, "", data))
        if order.status == OrderStatus.DELIVERED:
            found.append(("email." + ev.DELIVERED, f"{ev.DELIVERED}:order", data))
    if change is None:
        return found
    tracking, before = change.tracking, change.before
    base = {"trackingNumber": tracking.tracking_number, "carrier": tracking.carrier}
    if change.added and not tracking.is_return:
        found.append(("email." + ev.SHIPPED, f"{ev.SHIPPED}:{tracking.pk}", base))
    if change.checkpoint_id:
        found.append((ev.CHECKPOINT_ADDED, "", {**base, "checkpointId": change.checkpoint_id}))
    if before.status is not None and tracking.status != before.status:
        data = {**base, "previousStatus": before.status, "status": tracking.status}
        found.append((ev.TRACKING_STATUS_CHANGED, "", data))
        if tracking.is_exception:
            found.append((ev.TRACKING_EXCEPTION, "", data))
        email = EMAIL_FOR_STATUS.get(tracking.status)
        if tracking.is_return:
            email = ev.RETURN_RECEIVED if tracking.status == TrackingStatus.DELIVERED else None
        elif email == ev.DELIVERED and not _one_of_several_delivered(order, tracking):
            email = None  # the order's own "delivered" (written next, or earlier) says it
        if email in ev.MILESTONES:
            found.append(("email." + email, f"{email}:{tracking.pk}", data))
        elif email:
            found.append(("email." + email, "", data))
    new_eta = _eta(tracking)
    if (
        before.eta
        and new_eta
        and new_eta > before.eta
        and not tracking.is_delivered
        and not tracking.is_return
    ):
        data = {**base, "previousEstimate": before.eta.isoformat(), "estimate": new_eta.isoformat()}
        found.append((ev.TRACKING_DELAYED, "", data))
        found.append(("email." + ev.DELAYED, "", data))
    return found


def record(order: Order, *, previous_status: str, change: ShipmentChange | None = None) -> None:
    """Write the intents of one state change (the order is locked and its version just bumped)."""
    found = events_for(order, previous_status, change)
    if not found:
        return
    tracking = change.tracking if change else None
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                order_id=order.pk,
                tracking=tracking,
                event=event,
                state_version=order.state_version,
                email_key=email_key,
                data=data,
            )
            for event, email_key, data in found
        ],
        ignore_conflicts=True,  # the unique keys decide: a milestone already announced stays quiet
    )
    emails = any(event.startswith("email.") for event, _key, _data in found)
    webhooks = any(not event.startswith("email.") for event, _key, _data in found)
    _kick_after_commit(order.pk, emails=emails, webhooks=webhooks)


_waiting = threading.local()  # {order id: (emails, webhooks)} to kick when this thread commits


def _kick_after_commit(order_id: int, *, emails: bool, webhooks: bool) -> None:
    """Kick each order once per transaction, all of them together after it commits: a webhook
    batch changes hundreds of orders in one transaction, and one message for all is far cheaper
    than one each. (A kick left over from a transaction that rolled back goes with the next
    commit: it finds nothing to send, as a sweep would.)"""
    kicks = getattr(_waiting, "kicks", None)
    if kicks is None:
        kicks = _waiting.kicks = {}
    had_emails, had_webhooks = kicks.get(order_id, (False, False))
    kicks[order_id] = (had_emails or emails, had_webhooks or webhooks)
    transaction.on_commit(_kick_waiting)


def _kick_waiting() -> None:
    kicks, _waiting.kicks = getattr(_waiting, "kicks", None), None
    if kicks:
        from orders.notifications import tasks  # tasks import the services, which import this module

        tasks.schedule_many(kicks)


def settle(order_ids) -> int:
    """Mark the orders' pending intents handled without sending anything (seeded demo history is
    no news to anyone). Call inside the transaction that wrote them."""
    from django.utils import timezone

    pending = OutboxEvent.objects.filter(order_id__in=list(order_ids), handled_at__isnull=True)
    return pending.update(handled_at=timezone.now())
