"""Lookup that forgives what shoppers type (issue 13) without weakening the rate limits or the
identical answer for unknown orders."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from orders.lookup import Access, resolve
from orders.models import postal_codes_match
from orders.ratelimits import RateLimited

from .conftest import make_account, make_order, ship

pytestmark = pytest.mark.django_db


def anon(ip="203.0.113.9"):
    request = RequestFactory().get("/", REMOTE_ADDR=ip)
    request.user = AnonymousUser()
    return request


@pytest.fixture
def northwind(db):
    account = make_account(name="Northwind", slug="northwind", order_number_prefix="NW-")
    order = make_order(account, order_number="NW-1004", postal_code="78701-1234")
    ship(order, "1Z999AA10123456784")
    return order


@pytest.mark.parametrize(
    "typed", ["NW-1004", "nw-1004", "  NW-1004 ", "#NW-1004", "# nw-1004", "1004", "#1004"]
)
def test_order_number_ignores_case_spaces_hash_and_the_shops_prefix(northwind, typed):
    result = resolve(
        {"account": "northwind", "order_number": typed, "recipient_postal_code": "78701"}, request=anon()
    )
    assert (result.access, result.order) == (Access.FULL, northwind)


def test_the_exact_spelling_wins_over_the_prefixed_one(northwind):
    plain = make_order(northwind.account, order_number="1004", postal_code="78701")
    result = resolve(
        {"account": "northwind", "order_number": "1004", "recipient_postal_code": "78701"}, request=anon()
    )
    assert result.order == plain


def test_prefix_is_per_shop(northwind):
    other = make_account(name="Other", slug="other")
    make_order(other, order_number="NW-1004", postal_code="78701")
    result = resolve(
        {"account": "other", "order_number": "1004", "recipient_postal_code": "78701"}, request=anon()
    )
    assert result.access == Access.NONE  # "Other" declares no prefix


@pytest.mark.parametrize(
    ("stored", "typed", "country", "matches"),
    [
        ("78701-1234", "78701", "US", True),
        ("78701", "78701-1234", "US", True),
        ("78701", "787011234", "US", True),
        ("78701", "78 701", "US", True),
        ("78701-1234", "78701-9999", "US", False),
        ("78701", "78702", "US", False),
        ("SW1A 1AA", "sw1a-1aa", "GB", True),
        ("10115", "101151234", "DE", False),  # ZIP+4 is a US rule
    ],
)
def test_postal_codes_compare_zip_plus_4_with_zip5_and_ignore_spaces_and_hyphens(
    stored, typed, country, matches
):
    assert postal_codes_match(stored, typed, country=country) is matches


def test_zip5_opens_an_order_stored_with_zip_plus_4(northwind):
    for typed in ("78701", "78701 1234", "787011234"):
        result = resolve(
            {"account": "northwind", "order_number": "NW-1004", "recipient_postal_code": typed},
            request=anon(),
        )
        assert result.access == Access.FULL, typed


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_spellings_of_one_order_share_one_failure_budget(northwind):
    """Writing the number differently does not buy more guesses."""
    spellings = ["NW-1004", "nw-1004", "#NW-1004", "1004"]
    for index, typed in enumerate(spellings[:3]):
        params = {"account": "northwind", "order_number": typed, "recipient_postal_code": "00000"}
        assert resolve(params, request=anon(f"198.51.100.{index}")).access == Access.NONE
    with pytest.raises(RateLimited):
        params = {"account": "northwind", "order_number": spellings[3], "recipient_postal_code": "78701"}
        resolve(params, request=anon("198.51.100.99"))


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_spellings_of_an_unknown_number_share_one_failure_budget(northwind):
    for index, typed in enumerate(["NW-9999", "nw-9999", "#NW-9999 "]):
        params = {"account": "northwind", "order_number": typed, "recipient_postal_code": "00000"}
        assert resolve(params, request=anon(f"198.51.100.{index}")).access == Access.NONE
    with pytest.raises(RateLimited):
        resolve(
            {"account": "northwind", "order_number": "NW-9999", "recipient_postal_code": "1"},
            request=anon("192.0.2.1"),
        )


def test_unknown_orders_get_the_same_page_whatever_the_spelling(client, northwind):
    def page(number):
        response = client.post("/", {"mode": "order", "order_number": number, "verification": "00000"})
        return response.status_code, response.content.decode().split('name="csrfmiddlewaretoken"')[0]

    known_wrong = page("#nw-1004")
    unknown = page("#nw-9999")
    assert known_wrong[0] == unknown[0] == 404
    assert known_wrong[1] == unknown[1]


def test_the_form_accepts_a_hash_and_the_short_number(client, northwind):
    response = client.post("/", {"mode": "order", "order_number": "# 1004", "verification": "78701"})
    assert response.status_code == 303 and "order_number=NW-1004" in response["Location"]
