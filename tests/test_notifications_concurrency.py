"""Concurrent duplicates on PostgreSQL send one email: the same carrier event recorded by several
workers at once, the same webhook delivered several times at once, two senders draining one
outbox. Real threads, each with its own database connection and real commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from orders import lifecycle, webhooks
from orders.models import Tracking
from orders.notifications import emails
from orders.notifications.models import EmailNotification, OutboxEvent

from .conftest import make_account, make_order, ship
from .test_api_concurrency import COPIES, run_concurrently

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks and real concurrency"
    ),
]


def test_the_same_carrier_event_recorded_concurrently_sends_one_email():
    order = make_order(make_account())
    tracking = ship(order)
    mail.outbox.clear()
    when = timezone.now() - timedelta(minutes=5)

    def record():
        copy = Tracking.objects.get(pk=tracking.pk)
        return lifecycle.record_checkpoint(tracking=copy, occurred_at=when, status="out_for_delivery")[1]

    assert sorted(run_concurrently(record)) == [False] * (COPIES - 1) + [True]
    assert [m.subject for m in mail.outbox] == [f"Your order {order.order_number} is out for delivery"]
    assert OutboxEvent.objects.filter(event="email.out_for_delivery").count() == 1


def test_the_same_webhook_delivered_concurrently_sends_one_email():
    account = make_account()
    order = make_order(account, order_number="RACE-2")
    ship(order, "1Z999AA10123456784")
    mail.outbox.clear()
    payload = {
        "id": "evt-race",
        "type": "tracking.updated",
        "createdAt": timezone.now().isoformat(),
        "data": {
            "trackingNumber": "1Z999AA10123456784",
            "courier": "ups",
            "checkpoints": [
                {
                    "timestamp": timezone.now().isoformat(),
                    "status": "delivered",
                    "statusCode": "D",
                    "location": "x",
                }
            ],
        },
    }
    run_concurrently(lambda: webhooks.process(account=account, source="tracking", payload=payload))
    assert [m.subject for m in mail.outbox] == ["Your order RACE-2 has been delivered"]


def test_two_senders_draining_one_outbox_send_one_email():
    order = make_order(make_account())
    # Intents written without their after-commit task (as if it was lost): the senders race.
    OutboxEvent.objects.create(order=order, event="email.shipped", state_version=2, email_key="shipped:x")
    OutboxEvent.objects.create(order=order, event="email.delayed", state_version=3)

    def drain():
        notification = emails.collect(order.pk)
        return emails.deliver(notification.pk) if notification else None

    outcomes = run_concurrently(drain)
    assert outcomes.count("sent") == 1
    assert EmailNotification.objects.count() == 1 and len(mail.outbox) == 1
