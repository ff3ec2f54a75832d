"""Property: any permutation of a set of webhook events, with repeats, ends in the same state as
applying them in order — applied in the request (WEBHOOK_APPLY=sync) or stored and applied in
batches of any size at any moment (async).

The events are what an order system and a carrier feed send for one order: created, updated
(status and details), fulfilled for one or two parcels (plus a revised date), carrier checkpoint
batches and delivered. Applied through the service layer (orders.webhooks.process), not HTTP.

Two deliberate limits, both real conflicts rather than ordering questions: no cancellation (a
cancel and a shipment contradict each other; whichever comes second is rejected with a 409), and
when a parcel's checkpoints say "delivered", the set includes order.delivered. Without it, the
lifecycle marks an order delivered as soon as every parcel *known so far* is delivered, so a
second parcel announced afterwards cannot undo that (orders.lifecycle._sync_order_delivery).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders import webhooks
from orders.models import Order, WebhookEvent, WebhookOutcome

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
NUMBERS = ("1Z999AA10123456784", "123456789012")
STATUSES = ("info_received", "in_transit", "out_for_delivery", "delivered")
ADDRESS = {"street1": "123 Main St", "city": "Austin", "state": "TX", "zip": "78701", "country": "US"}


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def nimbus(event_id: str, kind: str, hours: float, **data) -> tuple[str, dict]:
    return "nimbus", {
        "id": event_id,
        "type": kind,
        "createdAt": at(hours),
        "data": {"orderId": "ORD-1", **data},
    }


@st.composite
def event_sets(draw) -> list[tuple[str, dict]]:
    events = [nimbus("created", "order.created", 0, status="pending", shippingAddress=ADDRESS, notes="first")]
    if draw(st.booleans()):
        events.append(nimbus("updated-1", "order.updated", 1, status="processing", notes="second"))
    if draw(st.booleans()):
        moved = {**ADDRESS, "street1": "9 Oak Ave", "zip": "78702"}
        events.append(nimbus("updated-2", "order.updated", 2, shippingAddress=moved))
    parcels = NUMBERS[: draw(st.integers(1, 2))]
    any_delivered = False
    for index, number in enumerate(parcels):
        day = draw(st.integers(17, 20))
        events.append(
            nimbus(f"fulfilled-{index}", "order.fulfilled", 3 + index, trackingNumber=number,
                   estimatedDeliveryDate=f"2025-01-{day:02d}")
        )  # fmt: skip
        batches = draw(st.lists(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3), max_size=3))
        slot = 0
        for batch_index, batch in enumerate(batches):
            checkpoints = []
            for status in batch:
                slot += 1  # every checkpoint of a parcel has its own time: batches never overlap
                checkpoints.append(
                    {
                        "timestamp": at(20 + slot),
                        "status": status,
                        "statusCode": status.upper(),
                        "location": "Hub",
                    }
                )
                any_delivered |= status == "delivered"
            data = {
                "trackingNumber": number,
                "courier": "ups" if index == 0 else "fedex",
                "checkpoints": checkpoints,
            }
            if draw(st.booleans()):
                data["estimatedDeliveryDate"] = f"2025-01-{draw(st.integers(18, 28)):02d}"
            events.append(
                ("tracking", {"id": f"t-{index}-{batch_index}", "type": "tracking.updated",
                              "createdAt": at(20 + slot), "data": data})
            )  # fmt: skip
    if draw(st.booleans()):
        revised = f"2025-01-{draw(st.integers(21, 25)):02d}"
        events.append(nimbus("fulfilled-rev", "order.fulfilled", 9, trackingNumber=NUMBERS[0],
                             estimatedDeliveryDate=revised))  # fmt: skip
    if any_delivered or draw(st.booleans()):
        events.append(nimbus("delivered", "order.delivered", 40))
    return events


def arrival_order(data, events) -> list[tuple[str, dict]]:
    """The events shuffled, with a few of them repeated anywhere."""
    arrival = list(data.draw(st.permutations(events), label="arrival order"))
    for repeat in data.draw(st.lists(st.sampled_from(events), max_size=4), label="repeats"):
        arrival.insert(data.draw(st.integers(0, len(arrival)), label="position"), repeat)
    return arrival


def reset():
    WebhookEvent.objects.all().delete()
    Order.objects.all().delete()


def apply_all(account, events) -> None:
    for source, payload in events:
        webhooks.process(account=account, source=source, payload=payload)


def snapshot() -> tuple:
    order = Order.objects.get()
    trackings = []
    for tracking in order.trackings.all():
        checkpoints = frozenset(
            (c.occurred_at, c.status, c.status_code, c.location) for c in tracking.checkpoints.all()
        )
        trackings.append(
            (
                tracking.carrier,
                tracking.tracking_number,
                tracking.status,
                tracking.step,
                tracking.announced_delivery_date,
                tracking.estimated_delivery_date,
                tracking.delivered_at,
                checkpoints,
            )
        )
    parked = WebhookEvent.objects.filter(outcome=WebhookOutcome.PARKED).count()
    return (order.status, order.notes, order.street1, order.postal_code, sorted(trackings), parked)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # examples: tests/conftest.py
@given(data=st.data())
def test_shuffled_and_repeated_events_converge_to_the_in_order_state(account, data):
    events = data.draw(event_sets(), label="events")
    reset()
    apply_all(account, events)
    expected = snapshot()
    assert expected[-1] == 0  # nothing left waiting

    arrival = arrival_order(data, events)
    reset()
    apply_all(account, arrival)
    assert snapshot() == expected
    assert WebhookEvent.objects.count() == len(events)  # each event stored once


# Each example applies its events twice, like the test above: half as many keep the suite quick.
@settings(
    max_examples=max(5, settings.default.max_examples // 2),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_shuffled_events_applied_in_batches_converge_to_the_in_order_state(account, data):
    events = data.draw(event_sets(), label="events")
    reset()
    apply_all(account, events)  # synchronously, in order
    expected = snapshot()

    arrival = arrival_order(data, events)
    reset()
    with override_settings(WEBHOOK_APPLY="async"):
        for source, payload in arrival:
            receipt = webhooks.process(account=account, source=source, payload=payload)
            assert receipt.status in ("accepted", "duplicate")
            batch = data.draw(st.integers(0, 3), label="batch after it (0: none)")
            if batch:
                webhooks.apply_pending(limit=batch)
        webhooks.drain(limit=data.draw(st.integers(1, 5), label="last batches"))
    assert snapshot() == expected
    assert WebhookEvent.objects.count() == len(events)  # each event stored once
    assert not WebhookEvent.objects.pending().exists()
