"""Shopper status emails: one email per change, in the order's language, with signed links, the
widget image, RFC 8058 unsubscribe headers; nothing for repeats, stale events or unsubscribed
orders; coalescing; retries when the mail server is down."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from orders import lifecycle
from orders.models import Account, Order, Tracking
from orders.notifications import emails, tasks
from orders.notifications.models import DeliveryStatus, EmailNotification, NotificationSettings, OutboxEvent

from .conftest import make_order, scan, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what the code does after commit (the tasks) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def shipped(order: Order, commit, **kwargs):
    with commit():
        tracking = ship(order, **kwargs)
    mail.outbox.clear()
    return tracking


def html_of(message) -> str:
    return next(body for body, kind in message.alternatives if kind == "text/html")


def test_shipping_sends_one_branded_email_with_carrier_number_eta_and_links(order, commit):
    with commit():
        ship(order, "1Z999AA10123456784", estimated_delivery_date=date(2031, 5, 14))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Jane.Shopper@example.com"]
    assert message.subject == f"Your order {order.order_number} is on its way"
    assert "1Z999AA10123456784" in message.body and "UPS" in message.body
    assert "May 14, 2031" in message.body
    html = html_of(message)
    assert "/v4/track/orders/info-widget/?" in html  # the PNG widget image
    page_links = re.findall(r'href="([^"]*/track/\?[^"]*)"', html)
    assert page_links and all("s=" in link and "exp=" in link for link in page_links)
    assert "<style" not in html and "background: #1f6feb" in html.replace("background-color", "background")
    assert "Acme Outfitters" in html
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert re.fullmatch(r"<http://[^>]+/notifications/unsubscribe/[^>]+/>", unsubscribe)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.reply_to == ["help@acme.test"]
    log = EmailNotification.objects.get()
    assert (log.event, log.status, log.to, log.attempts) == ("shipped", "sent", message.to[0], 1)


@pytest.mark.parametrize(
    ("status", "subject", "says"),
    [
        ("out_for_delivery", "is out for delivery", "should arrive today"),
        ("available_for_pickup", "is ready for pickup", "Bring an ID"),
        ("failed_attempt", "delivery of order {n} failed", "What to do next"),
        ("exception", "A problem with the delivery of order {n}", "What to do next"),
        ("delivered", "has been delivered", "has been delivered"),
    ],
)
def test_each_carrier_event_sends_one_email_with_its_subject(order, commit, status, subject, says):
    tracking = shipped(order, commit)
    with commit():
        scan(tracking, status)
    assert len(mail.outbox) == 1
    assert subject.format(n=order.order_number) in mail.outbox[0].subject
    assert order.order_number in mail.outbox[0].subject
    assert says in mail.outbox[0].body


def held_at(order, commit, **pickup):
    tracking = shipped(order, commit)
    Tracking.objects.filter(pk=tracking.pk).update(
        pickup_location_name="Corner Shop",
        pickup_location_address="5 Elm St, Austin",
        pickup_opening_hours=[{"day": "mon", "open": "09:00", "close": "18:00"}],
        **pickup,
    )
    tracking.refresh_from_db()
    with commit():
        scan(tracking, "available_for_pickup")
    return mail.outbox[0]


def test_pickup_email_names_the_place_its_week_and_the_last_day_to_collect(order, commit):
    message = held_at(order, commit, pickup_deadline=date(2031, 5, 16))
    body = message.body
    assert "Corner Shop" in body and "5 Elm St, Austin" in body
    assert "Pick up by Fri, May 16" in body  # the shop's formats (en-US here)
    assert "Monday: 9:00\u202fAM–6:00\u202fPM" in body and "Tuesday: Closed" in body
    assert "Pick up by Fri, May 16" in html_of(message)


def test_pickup_email_in_german_and_without_a_known_deadline(account, commit):
    german = make_order(account, language="de")
    body = held_at(german, commit).body
    assert "Montag: 09:00–18:00" in body and "Dienstag: Geschlossen" in body
    assert "Abholen bis" not in body  # no deadline known: none invented


def test_a_later_estimate_sends_a_delay_email_with_both_dates(order, commit):
    tracking = shipped(order, commit, estimated_delivery_date=date(2031, 5, 14))
    with commit():
        scan(tracking, "in_transit", estimated_delivery_date=date(2031, 5, 18))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == f"Your order {order.order_number} is delayed"
    assert "May 14, 2031" in message.body and "May 18, 2031" in message.body


def test_an_earlier_estimate_or_plain_progress_sends_nothing(order, commit):
    tracking = shipped(order, commit, estimated_delivery_date=date(2031, 5, 14))
    with commit():
        scan(tracking, "info_received", when=timezone.now() - timedelta(hours=2))
        scan(tracking, "in_transit", estimated_delivery_date=date(2031, 5, 12))
    assert mail.outbox == []


def test_a_return_delivered_back_sends_return_received(order, commit):
    shipped(order, commit)
    with commit():
        returned = lifecycle.attach_tracking(
            order=order, tracking_number="1Z999AA10123456799", is_return=True
        )
    assert mail.outbox == []  # a return label is no "on its way"
    with commit():
        scan(returned, "in_transit", when=timezone.now() - timedelta(hours=1))
        scan(returned, "delivered")
    assert [m.subject for m in mail.outbox] == [f"We received your return for order {order.order_number}"]


def test_repeated_and_stale_events_send_nothing_more(order, commit):
    tracking = shipped(order, commit)
    now = timezone.now()
    with commit():
        scan(tracking, "out_for_delivery", when=now - timedelta(hours=2))
    with commit():
        scan(tracking, "out_for_delivery", when=now - timedelta(hours=2))  # the same event again
        scan(tracking, "delivered", when=now)
    with commit():
        scan(tracking, "in_transit", when=now - timedelta(hours=5))  # late, older than the rest
        scan(tracking, "delivered", when=now)
    assert [m.subject.split(" is ")[-1].split(" has ")[-1] for m in mail.outbox] == [
        "out for delivery",
        "been delivered",
    ]


def test_the_email_is_in_the_orders_language_or_else_the_accounts(account, commit):
    german = make_order(account, language="de")
    with commit():
        ship(german)
    assert mail.outbox[-1].subject == f"Ihre Bestellung {german.order_number} ist unterwegs"
    assert "lang=de" in html_of(mail.outbox[-1])
    account.default_language = "fr"
    account.save()
    unset = make_order(account, language="")
    with commit():
        ship(unset, "1Z999AA10123456799")
    assert mail.outbox[-1].subject == f"Votre commande {unset.order_number} est en route"


@pytest.mark.skipif(not hasattr(Account, "time_zone"), reason="Account.time_zone arrives with issue 13")
def test_dates_and_times_are_in_the_accounts_time_zone(account, order, commit):
    account.time_zone = "America/New_York"
    account.save()
    tracking = shipped(order, commit)
    with commit():
        scan(tracking, "out_for_delivery", when=datetime(2031, 1, 15, 14, 30, tzinfo=UTC))
    assert "9:30 a.m." in mail.outbox[0].body  # 14:30 UTC in New York in January


def test_several_changes_in_one_window_become_one_email(account, commit):
    order = make_order(account)
    with commit():
        first, second = ship(order), ship(order, "123456789012", carrier="fedex")
    mail.outbox.clear()
    # Two parcels out for delivery in one poll (one transaction): one email.
    with commit(), transaction.atomic():
        scan(first, "out_for_delivery")
        scan(second, "out_for_delivery")
    assert len(mail.outbox) == 1
    # With a broker, the email task runs NOTIFICATION_COALESCE_SECONDS after the first change:
    # changes committed separately in that window share it too.
    scan(first, "delivered")  # no on-commit execution: the task has not run yet
    scan(second, "failed_attempt")
    tasks.send_order_emails(order.pk)
    assert len(mail.outbox) == 2
    assert "delivery of order" in mail.outbox[1].subject  # the most important change leads
    assert OutboxEvent.objects.filter(event__startswith="email.", handled_at__isnull=True).count() == 0


def test_switched_off_events_are_not_emailed(account, order, commit):
    NotificationSettings.objects.create(account=account, out_for_delivery=False)
    tracking = shipped(order, commit)
    with commit():
        scan(tracking, "out_for_delivery", when=timezone.now() - timedelta(hours=1))
    assert mail.outbox == []
    with commit():
        scan(tracking, "delivered")
    assert len(mail.outbox) == 1


def test_an_order_without_email_address_sends_nothing(account, commit):
    order = make_order(account, recipient_email="")
    with commit():
        ship(order)
    assert mail.outbox == [] and EmailNotification.objects.count() == 0


def test_a_down_mail_server_is_retried_with_backoff(order, commit, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    with commit():
        ship(order)
    log = EmailNotification.objects.get()
    assert (log.status, log.attempts) == ("pending", 1)
    assert log.last_error
    assert timedelta(seconds=45) <= log.next_attempt_at - timezone.now() <= timedelta(seconds=75)
    tasks.run_sweep(now=timezone.now())  # not due yet
    assert EmailNotification.objects.get().attempts == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tasks.run_sweep(now=log.next_attempt_at)
    log.refresh_from_db()
    assert (log.status, log.attempts) == ("sent", 2)
    assert len(mail.outbox) == 1


def test_retries_stop_after_the_last_attempt(order, commit, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 2
    with commit():
        ship(order)
    log = EmailNotification.objects.get()
    tasks.run_sweep(now=log.next_attempt_at)
    log.refresh_from_db()
    assert (log.status, log.attempts, log.next_attempt_at) == (DeliveryStatus.FAILED, 2, None)


def test_a_notification_is_sent_once_even_if_two_workers_pick_it_up(order, commit):
    with commit():
        ship(order)
    log = EmailNotification.objects.get()
    assert emails.deliver(log.pk) == "skipped"
    assert len(mail.outbox) == 1
