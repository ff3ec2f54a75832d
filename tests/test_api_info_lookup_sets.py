"""The info API's six lookup sets of parcelLab's v4 API (plus `tracking_id`), each answered at the
levels it can reach: full (API key or a matching factor), limited (tracking lookups without a
factor) and none (404); and the parameters that shape them."""

from __future__ import annotations

import uuid

import pytest

from orders import apikeys

from .conftest import make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

URL = "/v4/track/orders/info/"
NUMBER = "1Z999AA10123456784"
EXTERNAL_ID = uuid.UUID("6f1c2c3e-4b5a-4d6e-8f70-112233445566")


@pytest.fixture
def order(account):
    order = make_order(
        account,
        order_number="1001",
        external_order_id=EXTERNAL_ID,
        external_reference="rx_9876543210",
        customer_number="C-77",
        recipient_email="jane@example.com",
    )
    scan(ship(order, NUMBER), "in_transit")
    return order


@pytest.fixture
def key(account) -> str:
    return apikeys.create_key(account=account, name="storefront").secret


def lookup_sets(order) -> dict[str, dict[str, str]]:
    tracking = order.trackings.get()
    return {
        "order_number": {"order_number": "1001", "account": str(order.account_id)},
        "order_number+client_key": {"order_number": "1001", "client_key": "acme"},
        "external_order_id": {"external_order_id": str(EXTERNAL_ID), "account": "acme"},
        "external_reference": {"external_reference": "rx_9876543210", "account": "acme"},
        "tracking_number+courier": {"tracking_number": NUMBER, "courier": "ups"},
        "tracking_number": {"tracking_number": NUMBER},
        "tracking_id": {"tracking_id": tracking.public_id},
        "customer_number": {"customer_number": "C-77", "account": "acme"},
        "recipient_email": {"recipient_email": "jane@example.com", "account": "acme"},
    }


# What each set answers without a key: (with the matching postal code, without any factor).
WITHOUT_KEY = {
    "order_number": ("full", "none"),
    "order_number+client_key": ("full", "none"),
    "external_order_id": ("full", "none"),
    "external_reference": ("full", "none"),
    "tracking_number+courier": ("full", "limited"),
    "tracking_number": ("full", "limited"),
    "tracking_id": ("full", "limited"),
    "customer_number": ("full", "none"),
    "recipient_email": ("none", "none"),  # an email alone never opens an order
}


def access(response) -> str:
    if response.status_code == 404:
        return "none"
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.mark.parametrize("name", WITHOUT_KEY)
def test_with_an_api_key_every_set_is_full(client, order, key, name):
    response = client.get(URL, lookup_sets(order)[name], headers={"X-API-Key": key})
    assert access(response) == "full"
    assert response.json()["order_number"] == "1001"


@pytest.mark.parametrize("name", WITHOUT_KEY)
def test_with_a_matching_factor(client, order, name):
    params = {**lookup_sets(order)[name], "recipient_postal_code": "78701"}
    assert access(client.get(URL, params)) == WITHOUT_KEY[name][0]


@pytest.mark.parametrize("name", WITHOUT_KEY)
def test_without_a_factor(client, order, name):
    assert access(client.get(URL, lookup_sets(order)[name])) == WITHOUT_KEY[name][1]


@pytest.mark.parametrize("name", WITHOUT_KEY)
def test_with_a_wrong_factor_nothing_personal_leaves(client, order, name):
    params = {**lookup_sets(order)[name], "recipient_postal_code": "10001"}
    response = client.get(URL, params)
    assert access(response) == WITHOUT_KEY[name][1]
    assert "jane@example.com" not in response.content.decode()


def test_postal_code_is_an_alias_of_recipient_postal_code(client, order):
    assert access(client.get(URL, {"order_number": "1001", "postal_code": "78701"})) == "full"
    assert access(client.get(URL, {"order_number": "1001", "postal_code": "10001"})) == "none"


def test_external_reference_is_not_unique_the_newest_order_answers(client, account, order, key):
    make_order(account, order_number="1002", external_reference="rx_9876543210")
    info = client.get(URL, {"external_reference": "rx_9876543210"}, headers={"X-API-Key": key}).json()
    assert info["order_number"] == "1002"


def test_customer_and_email_lookups_answer_the_newest_order(client, account, order, key):
    make_order(account, order_number="1003", customer_number="C-77", recipient_email="JANE@example.com")
    for params in ({"customer_number": "C-77"}, {"recipient_email": "jane@EXAMPLE.com"}):
        assert client.get(URL, params, headers={"X-API-Key": key}).json()["order_number"] == "1003"


def test_single_tracking_returns_only_the_matching_tracking(client, order, key):
    ship(order, "TBA123456789000")
    both = client.get(URL, {"tracking_number": NUMBER}, headers={"X-API-Key": key}).json()
    assert len(both["trackings"]) == 2
    for flag in ("true", "1"):
        only = client.get(
            URL, {"tracking_number": NUMBER, "single_tracking": flag}, headers={"X-API-Key": key}
        ).json()
        assert [t["tracking_number"] for t in only["trackings"]] == [NUMBER]
    tracking_id = order.trackings.get(tracking_number="TBA123456789000").public_id
    by_id = client.get(URL, {"tracking_id": tracking_id, "single_tracking": "true"}).json()
    assert [t["tracking_number"] for t in by_id["trackings"]] == ["TBA123456789000"]


def test_unknown_parameters_are_ignored(client, order, key):
    params = {"order_number": "1001", "utm_source": "mail", "foo": "<bar>", "live_refresh": "true"}
    assert access(client.get(URL, params, headers={"X-API-Key": key})) == "full"


def test_client_key_of_another_account_finds_nothing_there(client, order):
    make_account(name="Other", slug="other")
    params = {"order_number": "1001", "client_key": "other", "recipient_postal_code": "78701"}
    assert access(client.get(URL, params)) == "none"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tracking_id": "12"}, "tracking_id"),
        ({"tracking_id": "trk_xyz"}, "tracking_id"),
        ({"order_number": "1001", "client_key": "no-such-shop"}, "client_key"),
        ({"order_number": "1001", "account": "acme", "client_key": "other"}, "client_key"),
        ({"tracking_number": NUMBER, "single_tracking": "perhaps"}, "single_tracking"),
        ({"recipient_email": "not-an-email", "account": "acme"}, "recipient_email"),
        ({"external_reference": "x" * 201, "account": "acme"}, "external_reference"),
        ({"tracking_number": NUMBER, "tracking_id": "trk_" + "0" * 20}, "identifier"),
        ({"postal_code": "78701"}, "identifier"),
    ],
)
def test_invalid_values_of_known_parameters_are_400(client, order, params, field):
    make_account(name="Other", slug="other")
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field
