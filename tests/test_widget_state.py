"""What the PNG widget says about an order (orders.widget.state): the words, and never personal data."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.test import RequestFactory

from orders import lifecycle
from orders.lookup import Access, resolve
from orders.widget.state import alt_text, build_state

from .conftest import make_order, scan, ship

pytestmark = pytest.mark.django_db

AT = datetime(2025, 1, 16, 14, 5, tzinfo=UTC)
PERSONAL = ("Jane Shopper", "Jane.Shopper@example.com", "555 0100", "123 Main St", "Springfield", "78701")
ITEM = "Trail Runner Shoe"


def anon():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    return request


def signed(order, **extra):
    return resolve({**order.link_params(), **extra}, request=anon())


def texts(state) -> list[str]:
    """Every string the widget would draw."""
    values = [v for v in dataclasses.astuple(state) if isinstance(v, str)]
    values += list(state.steps)
    for line in state.shipments:
        values += [line.carrier_name, line.status_text, line.detail]
    return values


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001", city="Springfield", street2="Apt 4")
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=date(2099, 1, 15))
    scan(tracking, "in_transit", AT, message="Arrived at facility", location="Memphis, TN")
    return order


def test_full_access_state_names_order_status_and_latest_checkpoint(shipped):
    state = build_state(signed(shipped), lang="en")
    assert (state.account_name, state.brand_color) == ("Acme Outfitters", "#1f6feb")
    assert state.order_label == "Order 1001"
    assert (state.headline, state.tone) == ("On its way", "normal")
    assert state.steps == ("Ordered", "Label created", "In transit", "Out for delivery", "Delivered")
    assert state.current_step == 3
    assert state.date_line == "Expected Thu, Jan 15"
    [line] = state.shipments
    assert (line.carrier_name, line.status_text, line.tone) == ("UPS", "In transit", "normal")
    assert line.detail == "Arrived at facility · Memphis, TN, US · Thu, Jan 16, 2:05\u202fPM UTC"
    assert state.summary == ""


@pytest.mark.parametrize("access", ["signature", "email", "staff", "tracking_number"])
def test_no_personal_data_at_any_access_level(shipped, access, admin_user):
    params = {
        "signature": shipped.link_params(),
        "email": {"order_number": "1001", "recipient_email": "jane.shopper@example.com"},
        "staff": {"order_number": "1001"},
        "tracking_number": {"tracking_number": "1Z999AA10123456784"},
    }[access]
    request = anon()
    if access == "staff":
        request.user = admin_user
    result = resolve(params, request=request)
    assert result.access != Access.NONE
    drawn = " ".join(texts(build_state(result, lang="en")))
    for secret in (*PERSONAL, "Apt 4", ITEM):
        assert secret.lower() not in drawn.lower()


def test_tracking_number_lookup_shows_the_shipment_not_the_order_number(shipped):
    result = resolve({"tracking_number": "1Z999AA10123456784"}, request=anon())
    assert result.access == Access.LIMITED
    state = build_state(result, lang="en")
    assert state.order_label == "Shipment 1Z999AA10123456784"
    assert "1001" not in " ".join(texts(state))


def test_hidden_checkpoints_never_reach_the_widget_even_for_staff(shipped, admin_user):
    scan(
        shipped.trackings.get(),
        "in_transit",
        datetime(2025, 1, 17, tzinfo=UTC),
        is_hidden=True,
        message="Re-sort",
    )
    request = anon()
    request.user = admin_user
    result = resolve({"order_number": "1001"}, request=request)
    assert result.show_hidden_checkpoints
    assert build_state(result, lang="en").shipments[0].detail.startswith("Arrived at facility")


def test_states_use_the_shared_headlines(shipped):
    tracking = shipped.trackings.get()
    scan(tracking, "out_for_delivery", datetime(2025, 1, 17, 8, tzinfo=UTC))
    assert build_state(signed(shipped), lang="en").headline == "Out for delivery"
    scan(tracking, "delivered", datetime(2025, 1, 17, 12, tzinfo=UTC))
    state = build_state(signed(shipped), lang="en")
    assert (state.headline, state.tone, state.current_step) == ("Delivered", "success", 5)
    assert state.date_line == "Fri, Jan 17, 12:00\u202fPM UTC"  # a US order, a shop on UTC: zone named


def test_cancelled_order_shows_no_progress(account):
    order = lifecycle.cancel_order(make_order(account))
    state = build_state(signed(order), lang="en")
    assert (state.headline, state.tone, state.steps) == ("Cancelled", "muted", ())
    assert state.date_line == "This order was cancelled. If you have been charged, you will be refunded."


def test_several_shipments_get_a_line_each_and_a_summary(shipped):
    second = ship(shipped, "9400111899223197428490")
    scan(second, "delivered", AT)
    ship(shipped, "RETURN0000001", carrier="ups", is_return=True)
    state = build_state(signed(shipped), lang="en")
    assert [line.carrier_name for line in state.shipments] == ["UPS", "USPS"]  # returns left out
    assert state.summary == "2 packages · 1 delivered"
    assert state.shipments[1].tone == "success"


def test_single_tracking_narrows_to_one_shipment_and_its_step(shipped):
    second = ship(shipped, "9400111899223197428490")
    scan(second, "out_for_delivery", AT)
    params = {"tracking_number": "9400111899223197428490", "single_tracking": "true"}
    state = build_state(resolve(params, request=anon()), lang="en")
    assert [line.carrier_name for line in state.shipments] == ["USPS"]
    assert state.current_step == 4


def test_shipment_without_checkpoints_shows_its_tracking_number(account):
    order = make_order(account)
    ship(order, "1Z999AA10123456784")
    assert build_state(signed(order), lang="en").shipments[0].detail == "1Z999AA10123456784"


def test_as_of_comes_from_the_data_not_the_clock(shipped):
    first = build_state(signed(shipped), lang="en")
    assert build_state(signed(shipped), lang="en") == first
    latest = shipped.__class__.objects.get(pk=shipped.pk).updated_at
    assert first.as_of.startswith("As of ") and first.as_of.endswith(" UTC")
    assert f"{latest:%-I:%M}\u202f{latest:%p}" in first.as_of


def test_german_dates_and_language_fallbacks(shipped):
    german = build_state(signed(shipped), lang="de").date_line
    assert german != build_state(signed(shipped), lang="en").date_line
    assert "Do" in german and "15" in german  # Thursday, in German
    assert signed(shipped, lang="de").display_language == "de"
    assert signed(shipped).display_language == "en"  # the order's language
    limited = resolve({"tracking_number": "1Z999AA10123456784"}, request=anon())
    limited.account.default_language = "fr"
    assert limited.display_language == "fr"  # no order language below FULL: the shop's default


def test_alt_text_states_the_status(shipped):
    scan(shipped.trackings.get(), "out_for_delivery", datetime(2025, 1, 17, 8, tzinfo=UTC))
    assert alt_text(shipped, lang="en") == "Order 1001: out for delivery"
    assert alt_text(shipped, lang="de") == "Bestellung 1001: In Zustellung"


def test_logo_is_read_from_the_account_and_a_missing_file_is_skipped(shipped, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    account = shipped.account
    account.logo.save("logo.png", ContentFile(b"\x89PNG fake"), save=True)
    assert build_state(signed(shipped), lang="en").logo == b"\x89PNG fake"
    (tmp_path / account.logo.name).unlink()
    assert build_state(signed(shipped), lang="en").logo is None
