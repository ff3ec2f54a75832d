"""Headlines and summaries: the words the page, the widget and the API all use."""

from datetime import date, timedelta

import pytest
from django.utils import timezone, translation

from orders.models import Order
from orders.presentation import order_headline, shipment_summary, short_date

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db


def headline(order):
    order = Order.objects.get(pk=order.pk)
    return order_headline(order, list(order.trackings.all()))


def test_pending_and_cancelled(account):
    assert headline(make_order(account)).key == "received"
    cancelled = headline(make_order(account, status="cancelled"))
    assert (cancelled.key, cancelled.tone) == ("cancelled", "muted")


def test_arriving_with_eta(order):
    eta = timezone.localdate() + timedelta(days=2)
    tracking = ship(order, estimated_delivery_date=eta)
    assert headline(order).key == "label_created"  # no scan yet: step 2, "Label created"
    scan(tracking, "in_transit", days_ago(0.5))
    result = headline(order)
    assert result.key == "arriving"
    assert (result.text, result.subline) == ("On its way", f"Expected {eta:%a}, {eta:%b} {eta.day}")


@pytest.mark.parametrize(
    ("status", "key", "tone"),
    [
        ("out_for_delivery", "out_for_delivery", "normal"),
        ("available_for_pickup", "pickup", "warning"),
        ("failed_attempt", "failed_attempt", "warning"),
        ("exception", "exception", "danger"),
        ("delivered", "delivered", "success"),
    ],
)
def test_shipment_status_drives_the_headline(order, status, key, tone):
    tracking = ship(order)
    scan(tracking, "in_transit", days_ago(2))
    scan(tracking, status, days_ago(0.1))
    result = headline(order)
    assert (result.key, result.tone) == (key, tone)


def test_delayed_when_eta_passed(order):
    tracking = ship(order, estimated_delivery_date=timezone.localdate() - timedelta(days=1))
    scan(tracking, "in_transit", days_ago(3))
    assert headline(order).key == "delayed"


def test_pickup_headline_names_the_place(order):
    tracking = ship(order)
    tracking.pickup_location_name = "Kiosk Lindenstraße"
    tracking.save()
    scan(tracking, "available_for_pickup", days_ago(0.2))
    assert headline(order).text == "Ready for pickup at Kiosk Lindenstraße"


def test_summary_counts_outbound_packages(order):
    ups, amazon = ship(order, "1Z999AA10123456784"), ship(order, "TBA123456789000")
    ship(order, "123456789012", is_return=True)
    scan(ups, "delivered", days_ago(0.5))
    trackings = list(Order.objects.get(pk=order.pk).trackings.all())
    assert shipment_summary(trackings) == "2 packages · 1 delivered"
    assert shipment_summary(trackings[:1]) == ""
    assert amazon.status == "pending"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "Thu, Jan 18"), ("de", "Do., 18. Jan."), ("fr", "jeu. 18 janv."), ("es", "jue, 18 ene")],
)
def test_dates_follow_the_language(lang, expected):
    with translation.override(lang):
        assert short_date(date(2024, 1, 18)) == expected


@pytest.mark.parametrize(
    ("fields", "lines"),
    [
        ({"country": "US"}, ["123 Main St", "Austin, TX 78701", "US"]),
        (
            {"country": "DE", "city": "Berlin", "state": "", "postal_code": "10115"},
            ["123 Main St", "10115 Berlin", "DE"],
        ),
        (
            {"country": "GB", "city": "London", "state": "", "postal_code": "SW1A 1AA"},
            ["123 Main St", "London", "SW1A 1AA", "GB"],
        ),
    ],
)
def test_addresses_are_written_the_way_the_country_does(account, fields, lines):
    assert make_order(account, **fields).address_lines == lines


@pytest.mark.parametrize(
    ("status", "short", "text"),
    [
        ("out_for_delivery", "1 of 2 out for delivery", "1 of 2 packages out for delivery"),
        ("available_for_pickup", "1 of 2 ready for pickup", "1 of 2 packages ready for pickup"),
        ("failed_attempt", "1 of 2: attempt failed", "Delivery attempt failed for 1 of 2 packages"),
    ],
)
def test_news_about_one_of_several_packages_says_how_many(order, status, short, text):
    ups, amazon = ship(order, "1Z999AA10123456784"), ship(order, "TBA123456789000")
    scan(ups, "in_transit", days_ago(1))
    scan(amazon, status, days_ago(0.1))
    result = headline(order)
    assert (result.short, result.text) == (short, text)
    scan(ups, status, days_ago(0.05), location="Elsewhere")
    assert headline(order).short in ("Out for delivery", "Ready for pickup", "Delivery attempt failed")
