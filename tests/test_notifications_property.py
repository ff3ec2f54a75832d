"""Property: whatever order webhook events arrive in, and however often, each notification is
written and sent once; replaying everything again sends nothing. Reuses the generator of
tests/test_webhooks_property.py (the shuffled and repeated event sets of one order)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core import mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders import webhooks
from orders.notifications.models import EmailNotification, OutboxEvent

from .test_webhooks_property import event_sets, reset

pytestmark = pytest.mark.django_db


def with_shopper(event: tuple[str, dict]) -> tuple[str, dict]:
    """The generator's orders have no email address; the shopper gets one on creation."""
    source, payload = event
    if payload["type"] == "order.created":
        recipient = {"name": "Jane Shopper", "email": "jane@example.com"}
        payload = {**payload, "data": {**payload["data"], "recipient": recipient}}
    return source, payload


def apply_committing(account, events, capture) -> None:
    for source, payload in events:
        with capture(execute=True):
            webhooks.process(account=account, source=source, payload=payload)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_shuffled_and_repeated_events_send_each_notification_once(
    account, django_capture_on_commit_callbacks, data
):
    events = [with_shopper(event) for event in data.draw(event_sets(), label="events")]
    shuffled = data.draw(st.permutations(events), label="arrival order")
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=4), label="repeats")
    arrival = list(shuffled)
    for repeat in repeats:
        arrival.insert(data.draw(st.integers(0, len(arrival)), label="position"), repeat)
    reset()
    OutboxEvent.objects.all().delete()
    mail.outbox.clear()

    apply_committing(account, arrival, django_capture_on_commit_callbacks)

    intents = list(OutboxEvent.objects.filter(event__startswith="email."))
    assert all(row.handled_at for row in intents)  # every intent was taken up
    sent = EmailNotification.objects.filter(status="sent")
    assert len(mail.outbox) == sent.count() == len({row.notification_id for row in intents}) > 0
    # Each parcel is announced as shipped once, and each milestone once per parcel.
    parcels = {e[1]["data"]["trackingNumber"] for e in events if e[1]["type"] == "order.fulfilled"}
    shipped = [row for row in intents if row.event == "email.shipped"]
    assert sorted(row.data["trackingNumber"] for row in shipped) == sorted(parcels)
    milestones = Counter(
        (row.event, row.tracking_id) for row in intents if row.email_key and row.event != "email.delivered"
    )
    assert all(count == 1 for count in milestones.values())
    assert len([row for row in intents if row.event == "email.delivered" and not row.tracking_id]) <= 1

    # Everything arrives again (a sender retrying its whole history): nothing new is written or sent.
    written, mailed = OutboxEvent.objects.count(), len(mail.outbox)
    apply_committing(account, arrival, django_capture_on_commit_callbacks)
    assert OutboxEvent.objects.count() == written
    assert len(mail.outbox) == mailed
