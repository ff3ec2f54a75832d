"""Local time and local formats (issue 13): each shop's time zone and locale, through Babel."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from orders import formatting
from orders.models import LineItem

from .conftest import make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 11, 24, 19, 5, tzinfo=UTC)


def fmt(account, lang, country, func, *args):
    with translation.override(lang), formatting.localized(account, lang, country):
        return func(*args)


@pytest.fixture
def us_shop(db):
    return make_account(name="US Shop", slug="us", locale="en-US", time_zone="America/New_York")


@pytest.fixture
def german_shop(db):
    return make_account(
        name="Laden", slug="laden", locale="de-DE", time_zone="Europe/Berlin", default_language="de"
    )


def test_us_shop_writes_12_hour_times_in_its_zone_and_names_it(us_shop):
    # The US spans several zones: a shopper cannot assume New York time, so it is named.
    assert fmt(us_shop, "en", "US", formatting.date_time, MOMENT) == "Tue, Nov 24, 2:05\u202fPM EST"
    assert fmt(us_shop, "en", "US", formatting.short_date, date(2026, 11, 26)) == "Thu, Nov 26"
    assert fmt(us_shop, "en", "US", formatting.money, Decimal("1234.5"), "USD") == "$1,234.50"


def test_german_shop_writes_24_hour_times_and_leaves_the_obvious_zone_out(german_shop):
    assert fmt(german_shop, "de", "DE", formatting.date_time, MOMENT) == "Di., 24. Nov., 20:05"
    assert fmt(german_shop, "de", "DE", formatting.money, Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
    # Shipped abroad, Berlin time is no longer obvious.
    assert fmt(german_shop, "de", "US", formatting.date_time, MOMENT) == "Di., 24. Nov., 20:05 CET"


def test_the_page_language_keeps_the_shops_zone(german_shop):
    assert fmt(german_shop, "en", "DE", formatting.time_of_day, MOMENT) == "20:05"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "Thu 26 Nov"), ("de", "Do., 26. Nov."), ("fr", "jeu. 26 nov."), ("es", "jue, 26 nov")],
)
def test_british_shop_in_each_language_abbreviates_as_that_language_does(lang, expected):
    shop = make_account(name="UK", slug="uk", locale="en-GB", time_zone="Europe/London")
    assert fmt(shop, lang, "GB", formatting.short_date, date(2026, 11, 26)) == expected


def test_status_page_shows_prices_totals_and_order_date_in_the_shops_locale(client, german_shop):
    order = make_order(
        german_shop,
        order_number="B-1",
        language="de",
        country="DE",
        postal_code="10115",
        order_date=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    first = ship(order, "1Z999AA10123456784")
    second = ship(order, "00340434161094042557", carrier="dhl")
    LineItem.objects.filter(order=order).update(tracking=first, currency="EUR")
    LineItem.objects.create(
        order=order,
        tracking=second,
        name="Socken",
        quantity=2,
        unit_price="4.50",
        currency="EUR",
        image_url="https://cdn.example/socks.jpg",
    )
    scan(first, "in_transit", MOMENT)
    html = client.get(order.status_url(absolute=False)).content.decode()
    assert "Bestellt am 20. Nov. 2026" in html
    assert "89,90\xa0€" in html and "9,00\xa0€" in html and "(4,50\xa0€ pro Stück)" in html
    assert "98,90\xa0€" in html  # the total
    assert (
        html.index("Paket 1 · UPS")
        < html.index("Trail Runner")
        < html.index("Paket 2 · DHL")
        < html.index("Socken")
    )
    assert 'src="https://cdn.example/socks.jpg"' in html
    assert "Di., 24. Nov., 20:05" in html  # the event, in Berlin time
