"""Notification logs hold personal data: erase_customer and export_customer include them, and
purge_expired removes old ones (through orders.privacy.registry)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.notifications import emails
from orders.notifications.models import EmailNotification, EmailSuppression, WebhookDelivery, WebhookEndpoint
from orders.privacy.retention import purge_expired

from .conftest import make_order, ship
from .test_merchant_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def notified(account, django_capture_on_commit_callbacks, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    receiver = Receiver()
    WebhookEndpoint.objects.create(account=account, url=receiver.url, events=["order.status_changed"])
    order = make_order(account, recipient_email="jane@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        ship(order)
    emails.unsubscribe(order, whole_address=True)
    yield order
    receiver.close()


def test_erasing_a_customer_blanks_their_email_log_webhook_bodies_and_unsubscribes(notified):
    assert "jane@example.com" in WebhookDelivery.objects.get().payload
    out = io.StringIO()
    call_command("export_customer", "jane@example.com", stdout=out)
    exported = json.loads(out.getvalue())
    assert exported["status_emails"][0]["to"] == "jane@example.com"
    assert exported["email_unsubscribes"][0]["email"] == "jane@example.com"
    assert "jane@example.com" in exported["webhook_deliveries"][0]["payload"]

    call_command("erase_customer", "jane@example.com", stdout=io.StringIO())

    assert list(EmailNotification.objects.values_list("to", "event")) == [("", "shipped")]
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload == "{}" and delivery.event_type == "order.status_changed"
    assert not EmailSuppression.objects.exists()


def test_purge_expired_removes_old_notification_logs(notified):
    old = timezone.now() - timedelta(days=91)
    EmailNotification.objects.update(created_at=old)
    WebhookDelivery.objects.update(created_at=old)
    result = purge_expired()
    assert result["status_emails"] == 1 and result["webhook_deliveries"] == 1
    assert not EmailNotification.objects.exists() and not WebhookDelivery.objects.exists()


def test_beat_purges_expired_records_daily(notified, settings):
    """The task beat names exists and purges (eagerly here, as without a broker)."""
    from statuspage.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["purge-expired"]
    assert entry["schedule"] == 24 * 3600
    app.loader.import_default_modules()
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(days=91))

    app.tasks[entry["task"]].delay()

    assert not WebhookDelivery.objects.exists()
    assert EmailNotification.objects.exists()  # not yet past retention
