"""Problem states tell the truth and say what to do (issue 13): the page's headline, the line under
it and the action box, and the widget's words, for every problem state in all four languages."""

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone, translation

from orders import formatting, lifecycle
from orders.lookup import resolve
from orders.models import Order, StateMessage, Tracking
from orders.presentation import order_headline
from orders.widget.render import truncated_texts
from orders.widget.state import build_state

from .conftest import days_ago, make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

LANGS = ("en", "de", "fr", "es")
WIDTHS = (320, 360, 480, 600, 800, 1200)
PAST_ETA = date(2025, 3, 4)


def future(days):
    return timezone.localdate() + timedelta(days=days)


def failed_attempt(order):
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=future(1))
    scan(tracking, "in_transit", days_ago(2))
    scan(tracking, "failed_attempt", days_ago(0.2), message="Nobody home, notice left")


def exception(order):
    tracking = ship(order, "1Z999AA10123456784")
    scan(tracking, "in_transit", days_ago(2))
    scan(tracking, "exception", days_ago(0.2), message="Address label damaged")


def returned(order):
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=PAST_ETA)
    scan(tracking, "in_transit", days_ago(3))
    scan(tracking, "returned", days_ago(0.2), message="Refused by recipient")


def pickup(order):
    tracking = ship(order, "1Z999AA10123456784")
    scan(tracking, "in_transit", days_ago(2))
    scan(tracking, "available_for_pickup", days_ago(0.2), message="At the pickup point")
    Tracking.objects.filter(pk=tracking.pk).update(
        pickup_location_name="Corner Market",
        pickup_location_address="42 High St, Columbus, OH 43215",
        pickup_opening_hours=[{"day": "mon", "open": "08:00", "close": "20:00"}],
        pickup_deadline=future(6),
    )


def delayed(order):
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=PAST_ETA)
    scan(tracking, "in_transit", days_ago(2))


def postponed(order):
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=future(1))
    scan(tracking, "in_transit", days_ago(2))
    scan(tracking, "in_transit", days_ago(1), message="Weather", estimated_delivery_date=future(3))


def cancelled(order):
    lifecycle.cancel_order(order)


def label_created(order):
    ship(order, "1Z999AA10123456784", estimated_delivery_date=future(3))


def out_for_delivery(order):
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=future(0))
    scan(tracking, "out_for_delivery", days_ago(0.1))


def arriving(order):
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=future(2))
    scan(tracking, "in_transit", days_ago(0.5))


def delivered(order):
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=future(0))
    scan(tracking, "delivered", days_ago(0.1))


STATES = {
    "failed_attempt": failed_attempt,
    "exception": exception,
    "returned": returned,
    "pickup": pickup,
    "delayed": delayed,
    "postponed": postponed,
    "cancelled": cancelled,
    "label_created": label_created,
    "out_for_delivery": out_for_delivery,
    "arriving": arriving,
    "delivered": delivered,
}
HEADLINE_KEY = {"postponed": "delayed"}
ACTION_BOX = {  # the state's action box title, in English
    "failed_attempt": "We missed you",
    "exception": "What happens now",
    "returned": "What happens next",
    "pickup": "Pick up your parcel",
    "delayed": "Your parcel is late",
    "postponed": "Your parcel is late",
    "cancelled": "Order cancelled",
}


@pytest.fixture
def shop(db):
    return make_account(name="Northwind Outdoor", slug="northwind", locale="en-GB", time_zone="Europe/London")


def build(shop, state) -> Order:
    order = make_order(shop, order_number="NW-10482")
    STATES[state](order)
    return Order.objects.get(pk=order.pk)


def anon():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    return request


def html_text(response) -> str:
    return html.unescape(response.content.decode())


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W\d_]{3,}", text)}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", STATES)
def test_page_headline_subline_and_action_box_in_every_language(client, shop, state, lang):
    order = build(shop, state)
    with translation.override(lang), formatting.localized(shop, lang, order.country):
        headline = order_headline(order, list(order.trackings.all()))
        box_title = translation.gettext(ACTION_BOX[state]) if state in ACTION_BOX else ""
    assert headline.key == HEADLINE_KEY.get(state, state)
    html = html_text(client.get(order.status_url(absolute=False, lang=lang)))
    assert f'id="headline" class="headline">{headline.text}</h1>' in html
    if headline.subline:
        assert f'<p class="date-line">{headline.subline}</p>' in html
    if box_title:
        assert f">{box_title}</h3>" in html
    if lang != "en" and box_title:
        assert box_title != ACTION_BOX[state]  # really translated
    # The line under the headline never repeats its words.
    assert not words(headline.text) & words(headline.subline), (headline.text, headline.subline)


@pytest.mark.parametrize("state", ["returned", "cancelled"])
def test_returned_or_cancelled_never_shows_an_estimate(client, shop, state):
    order = build(shop, state)
    Order.objects.filter(pk=order.pk).update(estimated_delivery_date=PAST_ETA)
    for lang in LANGS:
        html = client.get(order.status_url(absolute=False, lang=lang)).content.decode()
        with translation.override(lang):
            expected = translation.gettext("Expected %(date)s").split("%")[0].strip()
        assert expected not in html and "4 Mar" not in html and "4. März" not in html


def test_delayed_without_a_new_date_says_so_and_with_one_shows_it(client, shop):
    late = build(shop, "delayed")
    html = client.get(late.status_url(absolute=False, lang="de")).content.decode()
    assert "Erwartet war Di., 4. März · neues Datum noch unbekannt" in html
    moved = make_order(shop, order_number="NW-2")
    postponed(moved)
    html = client.get(moved.status_url(absolute=False)).content.decode()
    first, later = future(1), future(3)
    assert f"Expected {first:%a} {first.day} {first:%b}, now {later:%a} {later.day} {later:%b}" in html


def test_failed_attempt_box_quotes_the_carrier_and_links_to_rescheduling(client, shop):
    order = build(shop, "failed_attempt")
    html = client.get(order.status_url(absolute=False)).content.decode()
    assert "UPS said: “Nobody home, notice left”" in html
    limited = html_text(client.get("/track/?tracking_number=1Z999AA10123456784"))
    assert "UPS said" not in limited and "Choose a new delivery day with UPS" in limited
    assert (
        "Choose a new delivery day with UPS" in html and "ups.com/track?tracknum=1Z999AA10123456784" in html
    )
    tomorrow = future(1)
    assert f"The carrier will try again {tomorrow:%a} {tomorrow.day} {tomorrow:%b}" in html


def test_pickup_box_lists_every_day_the_deadline_and_a_plain_map_link(client, shop):
    order = build(shop, "pickup")
    html = client.get(order.status_url(absolute=False)).content.decode()
    assert "Corner Market" in html and "42 High St, Columbus, OH 43215" in html
    assert "Monday</th><td>08:00–20:00" in html and "Tuesday</th><td>Closed" in html
    deadline = future(6)
    assert f"Pick up by {deadline:%a} {deadline.day} {deadline:%b}" in html
    assert 'href="https://www.openstreetmap.org/search?query=Corner%20Market%2C%2042%20High%20St' in html
    assert "<iframe" not in html and "openstreetmap.org/" not in re.sub(r'href="[^"]+"', "", html)
    limited = html_text(client.get("/track/?tracking_number=1Z999AA10123456784"))
    assert "Corner Market" not in limited and "42 High St" not in limited
    assert "Confirm it's your order to see where." in limited


def test_merchant_text_per_state_and_language(client, shop):
    StateMessage.objects.create(account=shop, state="returned", text="We refund you within 5 days.")
    StateMessage.objects.create(
        account=shop, state="returned", language="de", text="Wir erstatten in 5 Tagen."
    )
    order = build(shop, "returned")
    assert "We refund you within 5 days." in client.get(order.status_url(absolute=False)).content.decode()
    german = client.get(order.status_url(absolute=False, lang="de")).content.decode()
    assert "Wir erstatten in 5 Tagen." in german and "We refund" not in german


def test_label_created_reads_label_created_at_step_2(client, shop):
    order = build(shop, "label_created")
    html = client.get(order.status_url(absolute=False)).content.decode()
    assert "Step 2 of 5: Label created" in html and ">Pending<" not in html
    assert '<span class="badge tone-normal">Label created</span>' in html


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("state", STATES)
def test_widget_words_fit_every_width_in_every_language(shop, state, lang):
    order = build(shop, state)
    result = resolve(order.link_params(), request=anon())
    state_ = build_state(result, lang=lang)
    with translation.override(lang):
        headline = order_headline(order, list(order.trackings.all()), full=False)
    assert state_.headline == headline.short
    for width in WIDTHS:
        assert truncated_texts(state_, width=width) == [], (state, lang, width)


def test_long_german_shop_and_headline_wrap_instead_of_being_cut(shop):
    shop.name = "Nordwind Outdoor-Ausrüstung"
    shop.save()
    order = build(shop, "failed_attempt")
    second = ship(order, "9400111899223197428490", carrier="usps")
    scan(second, "in_transit", days_ago(1))
    result = resolve(order.link_params(), request=anon())
    state_ = build_state(result, lang="de")
    assert state_.headline == "1 von 2: Zustellversuch fehlgeschlagen" or "Zustell" in state_.headline
    for width in (320, 340, 400):
        assert truncated_texts(state_, width=width) == []


def test_cancelled_widget_is_branded_and_says_what_it_means(shop):
    order = build(shop, "cancelled")
    state_ = build_state(resolve(order.link_params(), request=anon()), lang="fr")
    assert state_.account_name == "Northwind Outdoor" and state_.brand_color == shop.brand_color
    assert state_.headline == "Annulée" and "rembours" in state_.date_line


def test_return_label_widget_shows_the_returns_own_progress(shop):
    order = make_order(shop, order_number="NW-9")
    outbound = ship(order, "1Z999AA10123456784")
    scan(outbound, "delivered", days_ago(3))
    back = ship(order, "1Z999AA10123456700", carrier="ups", is_return=True)
    params = {"tracking_number": "1Z999AA10123456700"}
    state_ = build_state(resolve(params, request=anon()), lang="en")
    assert state_.steps == ("Return label created", "On its way back", "Received by the shop")
    assert (state_.headline, state_.current_step) == ("Return label ready", 1)
    scan(back, "in_transit", datetime(2026, 1, 2, tzinfo=UTC))
    state_ = build_state(resolve(params, request=anon()), lang="de")
    assert (state_.headline, state_.current_step) == ("Retoure unterwegs", 2)
    assert [line.carrier_name for line in state_.shipments] == ["UPS"]
