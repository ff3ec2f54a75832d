"""The shopper pages in a real browser: the three lookup flows, "Show all" via htmx, the
screenshot in docs/, axe-core accessibility checks and a 320 px wide viewport."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import Tracking

from ..conftest import days_ago, make_account, make_order, scan, ship
from .conftest import run_axe, save_if_changed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect

DOCS = Path(__file__).resolve().parents[2] / "docs"
EVENTS = [
    ("info_received", 4.2, "Shipping label created", "Austin, TX"),
    ("in_transit", 3.8, "Picked up by UPS", "Austin, TX"),
    ("in_transit", 3.1, "Departed facility", "Dallas, TX"),
    ("in_transit", 2.4, "Arrived at facility", "Memphis, TN"),
    ("in_transit", 1.5, "Departed facility", "Memphis, TN"),
    ("in_transit", 0.9, "Arrived at local facility", "Columbus, OH"),
    ("out_for_delivery", 0.2, "Loaded on delivery vehicle", "Columbus, OH"),
]


@pytest.fixture
def demo(fixed_clock):
    account = make_account(name="Northwind Outdoor", slug="northwind", brand_color="#0f766e")
    order = make_order(account, order_number="NW-10482", recipient_name="Jane Shopper", city="Columbus")
    tomorrow = timezone.localdate() + timedelta(days=1)
    parcel = ship(order, "1Z999AA10123456784", estimated_delivery_date=tomorrow)
    for status, ago, message, place in EVENTS:
        scan(parcel, status, days_ago(ago), message=message, location=place)
    second = ship(order, "9400111899223197428490", carrier="usps")
    scan(
        second, "in_transit", days_ago(1.2), message="Accepted at USPS origin facility", location="Austin, TX"
    )
    scan(
        second,
        "available_for_pickup",
        days_ago(0.3),
        message="Available at pickup point",
        location="Columbus, OH",
    )
    Tracking.objects.filter(pk=second.pk).update(
        pickup_location_name="Corner Market",
        pickup_location_address="42 High St, Columbus, OH 43215",
        pickup_opening_hours=[
            {"day": "mon", "open": "08:00", "close": "20:00"},
            {"day": "sat", "open": "09:00", "close": "14:00"},
        ],
    )
    return order


def assert_accessible(page):
    violations = run_axe(page)
    assert violations == [], violations


def test_order_number_lookup_show_all_screenshot_and_accessibility(page, live_server, demo):
    page.goto(f"{live_server.url}/")
    assert_accessible(page)
    page.get_by_label("Order number").fill("NW-10482")
    page.get_by_label("Email address or postal code").fill("jane.shopper@example.com")
    page.get_by_role("button", name="Find my order").click()
    page.wait_for_url(re.compile(r"/track/\?account="))
    assert "example.com" not in page.url
    assert page.locator("#headline").inner_text() == "1 of 2 packages ready for pickup at Corner Market"
    assert page.get_by_text("Step 4 of 5: Out for delivery").count() == 1
    timeline = page.locator("#timeline-1 li.event")
    assert timeline.count() == 3
    page.locator("#timeline-1").get_by_role("link", name=re.compile("Show all 7 updates")).click()
    expect(timeline).to_have_count(7)
    assert "all=1" not in page.url  # htmx swapped the timeline in place
    assert page.get_by_text("Trail Runner Shoe").count() == 1
    save_if_changed(page.screenshot(full_page=True), DOCS / "status-page.png")
    assert_accessible(page)
    assert page.console_errors == []  # no CSP violation, no failed request


def test_tracking_number_lookup_shows_progress_without_personal_data(page, live_server, demo):
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Tracking number").click()
    page.get_by_label("Tracking number").fill("1z999aa1 0123 4567 84")
    page.get_by_role("button", name="Find my order").click()
    page.wait_for_url(re.compile(r"tracking_number=1Z999AA10123456784"))
    body = page.locator("main").inner_text()
    assert "Loaded on delivery vehicle" in body
    assert "Jane Shopper" not in body and "Trail Runner" not in body
    assert_accessible(page)
    page.get_by_label("Email address or postal code").fill("78701")
    page.get_by_role("button", name="Show my order").click()
    page.wait_for_url(re.compile(r"[?&]s="))
    assert page.get_by_text("Trail Runner Shoe").count() == 1
    assert page.console_errors == []


def test_email_only_lookup_answers_and_sends_links(page, live_server, demo):
    page.goto(f"{live_server.url}/?mode=email")
    mail.outbox.clear()  # building the demo order sent its status emails
    page.get_by_label("Email address").fill("Jane.Shopper@example.com")
    page.get_by_role("button", name="Email me my links").click()
    page.get_by_text("If we have orders for that address, we have emailed you links.").wait_for()
    assert len(mail.outbox) == 1
    link = re.search(r"http://127\.0\.0\.1:8000(/track/\?\S+)", mail.outbox[0].body)[1]
    page.goto(live_server.url + link)
    assert page.get_by_text("Trail Runner Shoe").count() == 1
    assert page.console_errors == []


def test_wrong_input_shows_inline_errors_without_reload(page, live_server, demo):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Order number").fill("NW-10482")
    page.get_by_label("Email address or postal code").fill("wrong@example.com")
    page.get_by_role("button", name="Find my order").click()
    page.get_by_role("alert").get_by_text("We couldn't find an order with those details").wait_for()
    assert page.url == f"{live_server.url}/"
    page.get_by_label("Email address or postal code").fill("")
    page.get_by_role("button", name="Find my order").click()
    page.get_by_text("This field is required.").wait_for()
    assert page.get_by_label("Email address or postal code").get_attribute("aria-invalid") == "true"
    assert_accessible(page)


def test_pages_work_without_javascript(browser, live_server, demo):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_label("Order number").fill("NW-10482")
    page.get_by_label("Email address or postal code").fill("43215")  # wrong postal code
    page.get_by_role("button", name="Find my order").click()
    assert page.get_by_text("We couldn't find an order with those details").count() == 1
    page.get_by_label("Email address or postal code").fill("78701")
    page.get_by_role("button", name="Find my order").click()
    page.wait_for_url(re.compile(r"/track/"))
    page.locator("#timeline-1").get_by_role("link", name=re.compile("Show all")).click()
    page.wait_for_url(re.compile(r"all=1"))
    assert page.locator("#timeline-1 li.event").count() == 7
    context.close()


def test_status_page_is_usable_at_320_pixels(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(live_server.url + demo.status_url(absolute=False))
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("#headline").is_visible()
    assert_accessible(page)
    page.keyboard.press("Tab")  # the skip link comes first and is visible on focus
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.locator(".skip-link").is_visible()
    context.close()


def test_several_accounts_and_branding(page, live_server, demo):
    make_account(name="Other Shop", slug="other", brand_color="#ffd700")
    page.goto(f"{live_server.url}/?account=other")
    assert page.locator(".brand-name").inner_text() == "Other Shop"
    background = page.evaluate("getComputedStyle(document.querySelector('.brand-bar')).backgroundColor")
    assert background == "rgb(255, 215, 0)"
    assert_accessible(page)
