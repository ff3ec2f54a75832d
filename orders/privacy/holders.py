"""The built-in places personal data lives: the orders (with their shipments' carrier text),
the payloads of webhook events about them, and the responses remembered for idempotency keys.

Erasing keeps what counts and dates need: the order row with its number, status, dates and country,
its line items, its shipments with their statuses and times, the webhook events' ids, types,
outcomes and times. Everything naming or locating the person goes: recipient, email, phone,
address, postal code, customer number, external reference, notes, the pickup place chosen near
them, names and addresses in carrier text, raw payloads, remembered responses.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orders import lifecycle
from orders.models import PERSONAL_ORDER_FIELDS, Checkpoint, IdempotencyRecord, Order, Tracking, WebhookEvent
from orders.orders_service import tracking_ref
from orders.privacy.registry import Subject, register
from orders.privacy.scrub import scrub

PERSONAL_TRACKING_FIELDS = {
    "pickup_location_name": "",
    "pickup_location_address": "",
    "pickup_opening_hours": [],
}


# --- the orders ---------------------------------------------------------------------------------


def _row(instance, exclude: tuple[str, ...] = ()) -> dict:
    """Every stored field of a row (foreign keys as ids), except `exclude`."""
    return {
        field.name: field.value_from_object(instance)
        for field in instance._meta.concrete_fields
        if field.name not in exclude
    }


def _export_orders(subject: Subject) -> list[dict]:
    exported = []
    for order in subject.orders:
        data = _row(order, exclude=("id", "account", "link_version", "state_version"))
        data["account"] = order.account.slug
        data["items"] = [_row(item, exclude=("id", "order")) for item in order.items.all()]
        data["trackings"] = [_export_tracking(tracking) for tracking in order.trackings.all()]
        exported.append(data)
    return exported


def _export_tracking(tracking: Tracking) -> dict:
    data = _row(tracking, exclude=("order",))
    data["checkpoints"] = [_row(c, exclude=("id", "tracking")) for c in tracking.checkpoints.all()]
    return data


def erase_order(order: Order) -> int:
    """Blank the order's personal fields, its shipments' pickup places and the people in its
    carrier text; revoke its signed links and retire every cached answer (one state change)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.erased_at is not None:
            return 0
        for name in PERSONAL_ORDER_FIELDS:
            setattr(order, name, "")
        order.erased_at = timezone.now()
        order.link_version += 1  # every signed link stops opening it
        lifecycle.update_order_details(order, [*PERSONAL_ORDER_FIELDS, "erased_at", "link_version"])
        Tracking.objects.filter(order=order).update(**PERSONAL_TRACKING_FIELDS)
        checkpoints = Checkpoint.objects.filter(tracking__order=order)
        for checkpoint in checkpoints.only("pk", "message", "details", "location"):
            clean = (scrub(checkpoint.message), scrub(checkpoint.details), scrub(checkpoint.location))
            if clean != (checkpoint.message, checkpoint.details, checkpoint.location):
                checkpoint.message, checkpoint.details, checkpoint.location = clean
                checkpoint.save(update_fields=["message", "details", "location"])
    return 1


def _erase_orders(subject: Subject) -> int:
    return sum(erase_order(order) for order in subject.orders)


# --- webhook events -----------------------------------------------------------------------------


def events_about(orders: tuple[Order, ...]):
    """The webhook events that name one of `orders`: by order number, or by a shipment's number."""
    condition = Q(pk__in=[])
    for order in orders:
        refs = [order.order_number, *(tracking_ref(t.tracking_number) for t in order.trackings.all())]
        condition |= Q(account_id=order.account_id, order_ref__in=refs)
    return WebhookEvent.objects.filter(condition)


def _export_events(subject: Subject) -> list[dict]:
    fields = ("source", "event_id", "event_type", "order_ref", "occurred_at", "received_at", "outcome")
    fields += ("payload",)
    return list(events_about(subject.orders).order_by("received_at", "id").values(*fields))


def _erase_events(subject: Subject) -> int:
    return (
        events_about(subject.orders)
        .filter(payload_purged_at__isnull=True)
        .update(payload={}, payload_purged_at=timezone.now())
    )


def purge_event_payloads(cutoff) -> int:
    """Empty the payloads received before `cutoff`; events still parked then never will be applied."""
    old = WebhookEvent.objects.filter(received_at__lt=cutoff, payload_purged_at__isnull=True)
    old.filter(outcome="parked").update(outcome="rejected", message="Expired: its order never arrived.")
    return old.update(payload={}, payload_purged_at=timezone.now())


# --- idempotency records ------------------------------------------------------------------------


def _export_records(subject: Subject) -> list[dict]:
    records = IdempotencyRecord.objects.filter(order__in=subject.orders).order_by("created_at", "id")
    return list(records.values("key", "created_at", "response_status", "response_body"))


def _erase_records(subject: Subject) -> int:
    """The remembered response is the order as created: it goes. The key stays, so a retry with it
    answers 410 rather than creating the order again (orders.orders_service.idempotent)."""
    records = IdempotencyRecord.objects.filter(order__in=subject.orders, response_body__isnull=False)
    return records.update(response_body=None)


def purge_idempotency_records(cutoff) -> int:
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


register("orders", export=_export_orders, erase=_erase_orders)
register("webhook_events", export=_export_events, erase=_erase_events, purge=purge_event_payloads)
register("idempotency_records", export=_export_records, erase=_erase_records, purge=purge_idempotency_records)
