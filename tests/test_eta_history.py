"""ETA history (issue 13): when the estimate moves, the page says so and the timeline marks it."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from orders import lifecycle
from orders.models import EstimateChange, Order
from orders.presentation import eta_text, order_headline

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def moving(account):
    account.locale = "en-GB"
    account.save()
    order = make_order(account, order_number="4004")
    today = timezone.localdate()
    first, later = today + timedelta(days=2), today + timedelta(days=4)
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=first)
    scan(tracking, "in_transit", days_ago(2), message="Picked up")
    scan(tracking, "in_transit", days_ago(1), message="Weather delay", estimated_delivery_date=later)
    return order, tracking, first, later


def test_the_lifecycle_records_each_move_once(moving):
    _order, tracking, first, later = moving
    change = EstimateChange.objects.get(tracking=tracking)
    assert (change.previous_date, change.new_date) == (first, later)
    lifecycle.refresh_tracking(tracking)  # a replay that ends at the same date adds nothing
    assert EstimateChange.objects.filter(tracking=tracking).count() == 1


def test_page_says_expected_then_now_and_marks_the_timeline(client, moving):
    order, _tracking, first, later = moving
    html = client.get(order.status_url(absolute=False)).content.decode()
    words = f"Expected {first:%a} {first.day} {first:%b}, now {later:%a} {later.day} {later:%b}"
    assert words in html
    assert "Delayed" in html  # moved later: the headline says so, the line under it says when
    assert ' estimate-change"' in html and "Estimated delivery changed" in html
    marked = html.index("Estimated delivery changed")
    assert html.index("Weather delay") < marked or marked < html.index("Picked up")


def test_a_past_estimate_without_a_new_one_says_the_date_is_not_known(account):
    order = make_order(account)
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=date(2025, 1, 2))
    scan(tracking, "in_transit", days_ago(1))
    order = Order.objects.get(pk=order.pk)
    headline = order_headline(order, list(order.trackings.all()))
    assert headline.key == "delayed"
    assert headline.subline == "Was expected Thu, Jan 2 · new date not yet known"


@pytest.mark.parametrize("final", ["delivered", "returned"])
def test_delivered_or_returned_shipments_show_no_estimate(client, account, final):
    order = make_order(account)
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=date(2025, 1, 2))
    scan(tracking, final, days_ago(0.1))
    tracking.refresh_from_db()
    assert eta_text(tracking) == ""
    html = client.get(order.status_url(absolute=False)).content.decode()
    assert "Expected" not in html and "new date not yet known" not in html


def test_cancelled_order_shows_no_estimate(client, account):
    order = make_order(account, estimated_delivery_date=date(2025, 1, 2))
    lifecycle.cancel_order(order)
    html = client.get(order.status_url(absolute=False)).content.decode()
    assert "Order cancelled" in html and "Expected" not in html and "Jan 2" not in html
