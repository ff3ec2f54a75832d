"""The demo's notifications: seeded history sends nothing; a live demo parcel's move writes a
status email file and reaches the demo receiver, which verifies every signature."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders import lifecycle
from orders.models import Order
from orders.notifications import demo
from orders.notifications.models import EmailNotification, OutboxEvent, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def test_seeding_the_demo_sends_nothing():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert OutboxEvent.objects.exists()
    assert not OutboxEvent.objects.filter(handled_at__isnull=True).exists()
    assert EmailNotification.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_a_live_parcel_moving_writes_an_email_file_and_a_verified_webhook_log(settings, tmp_path):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.BASE_DIR = tmp_path
    outgoing = demo.configure(demo.serve_receiver())
    assert outgoing["mail"] == str(tmp_path / "demo-mail")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.account.slug == "northwind" and endpoint.url == outgoing["receiver"]

    live = Order.objects.get(order_number="NW-1101")
    tracking = live.trackings.get()
    lifecycle.record_checkpoint(tracking=tracking, occurred_at=timezone.now(), status="out_for_delivery")

    files = list((tmp_path / "demo-mail").iterdir())
    assert len(files) == 1 and "is out for delivery" in files[0].read_text()
    log = list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", "response_status"))
    assert log and ("sent", 200) in log
    assert all(code in (200, 500) for _status, code in log)  # 401 would be a signature it refused
