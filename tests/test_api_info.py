"""`GET /v4/track/orders/info/`: parcelLab's shape, the resolver's access levels, no personal data
when limited, one 404 for unknown and unverified, localised texts, hidden checkpoints for keys."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import override_settings
from django.urls import reverse

from orders import apikeys
from orders.models import LineItem

from .conftest import days_ago, make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

URL = "/v4/track/orders/info/"
NUMBER = "1Z999AA10123456784"


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001", external_order_id=uuid.uuid4())
    tracking = ship(order, NUMBER)
    LineItem.objects.filter(order=order).update(tracking=tracking)
    tracking.pickup_location_name = "Corner Shop"
    tracking.pickup_location_address = "5 Elm St, Austin"
    tracking.save()
    scan(tracking, "info_received", days_ago(3), location="Memphis, TN")
    scan(tracking, "in_transit", days_ago(2), location="Dallas, TX", message="Departed facility")
    scan(tracking, "in_transit", days_ago(1), location="Hub 7", status_code="INTERNAL", is_hidden=True)
    return order


@pytest.fixture
def key(account) -> str:
    return apikeys.create_key(account=account, name="storefront").secret


def test_reverse_info_is_the_v4_path():
    assert reverse("orders:info") == URL


def test_api_key_gets_the_full_parcellab_shape(client, shipped, key):
    response = client.get(URL, {"order_number": "1001"}, headers={"X-API-Key": key})
    assert response.status_code == 200
    info = response.json()
    assert info["access"] == "full"
    assert (info["order_number"], info["status"]) == ("1001", "shipped")
    assert (info["recipient_name"], info["recipient_email"]) == ("Jane Shopper", "Jane.Shopper@example.com")
    assert info["destination_country_iso3"] == "USA"
    assert info["order_date"]
    assert "estimated_delivery_date" in info
    tracking = info["trackings"][0]
    assert tracking["tracking_number"] == NUMBER
    assert tracking["courier_info"] == {
        "courier": "ups",
        "courier_name": "UPS",
        "courier_tracking_url": f"https://www.ups.com/track?tracknum={NUMBER}",
        "courier_reroute_url": "",
        "last_mile_courier": "ups",
        "last_mile_courier_name": "UPS",
    }
    status = tracking["last_delivery_status"]
    assert (status["step"], status["status_code"], status["lifecycle_status"]) == (3, "INTERNAL", "InTransit")
    assert status["status_text"] == "In transit"
    assert {"is_delayed", "is_exception", "is_return", "announced_delivery_date"} <= set(tracking)
    assert tracking["action_box"]["type"] == "pickup-location"
    assert tracking["action_box"]["label"] == "Corner Shop"
    assert tracking["articles"][0]["article_name"] == "Trail Runner Shoe"
    assert [c["status_code"] for c in tracking["checkpoints"]] == ["INTERNAL", "in_transit", "info_received"]
    assert tracking["checkpoints"][1]["location"] == "Dallas, TX, US"
    assert tracking["checkpoints"][1]["status_details"] == "Departed facility"
    assert response["Cache-Control"] == "private, no-store"


def test_bearer_key_works_too(client, shipped, key):
    response = client.get(URL, {"order_number": "1001"}, headers={"Authorization": f"Bearer {key}"})
    assert response.json()["access"] == "full"


def test_shopper_with_email_gets_full_without_hidden_checkpoints(client, shipped):
    response = client.get(URL, {"order_number": "1001", "recipient_email": "jane.shopper@example.com"})
    info = response.json()
    assert (response.status_code, info["access"]) == (200, "full")
    codes = [c["status_code"] for c in info["trackings"][0]["checkpoints"]]
    assert codes == ["in_transit", "info_received"]
    assert info["trackings"][0]["last_delivery_status"]["status_code"] == "in_transit"


def test_signed_link_gets_full(client, shipped):
    response = client.get(shipped.status_url(kind="info", absolute=False))
    assert response.json()["access"] == "full"


PERSONAL_KEYS = {
    "recipient_name",
    "recipient_email",
    "destination_country_iso3",
    "order_number",
    "order_date",
    "articles",
    "action_box",
    "shipping_address",
    "recipient_postal_code",
}


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_limited_json_contains_no_personal_field(client, shipped):
    response = client.get(URL, {"tracking_number": NUMBER})
    info = response.json()
    assert (response.status_code, info["access"]) == (200, "limited")
    assert not _keys(info) & PERSONAL_KEYS
    text = response.content.decode()
    for personal in (
        "Jane",
        "Shopper",
        "example.com",
        "555 0100",
        "123 Main",
        "78701",
        "Trail Runner",
        "Elm St",
    ):
        assert personal not in text
    assert info["trackings"][0]["last_delivery_status"]["status_text"] == "In transit"
    assert len(info["trackings"][0]["checkpoints"]) == 2  # progress is still there


def test_unknown_and_unverified_answer_the_same_404(client, shipped):
    unverified = client.get(
        URL, {"order_number": "1001", "recipient_email": "x@y.com"}, REMOTE_ADDR="10.0.0.1"
    )
    unknown = client.get(URL, {"order_number": "9999", "recipient_email": "x@y.com"}, REMOTE_ADDR="10.0.0.2")
    bare = client.get(URL, {"order_number": "1001"}, REMOTE_ADDR="10.0.0.3")
    for response in (unverified, unknown, bare):
        assert response.status_code == 404
    bodies = [r.json() for r in (unverified, unknown, bare)]
    for body in bodies:
        body["error"].pop("requestId")
    assert (
        bodies[0]
        == bodies[1]
        == bodies[2]
        == {"error": {"code": "not_found", "message": "No order matches these details"}}
    )


def test_a_key_never_sees_another_accounts_order(client, shipped):
    other = make_account(name="Other", slug="other")
    other_key = apikeys.create_key(account=other, name="x").secret
    for params in (
        {"order_number": "1001"},
        {"order_number": "1001", "account": str(shipped.account_id)},
        {"tracking_number": NUMBER},
    ):
        response = client.get(URL, params, headers={"X-API-Key": other_key})
        assert response.status_code == 404, params


def test_wrong_api_key_is_401_not_a_silent_downgrade(client, shipped):
    response = client.get(URL, {"tracking_number": NUMBER}, headers={"X-API-Key": "sk_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_lang_localises_status_texts(client, shipped, key):
    info = client.get(URL, {"order_number": "1001", "lang": "de"}, headers={"X-API-Key": key}).json()
    english = client.get(URL, {"order_number": "1001", "lang": "en"}, headers={"X-API-Key": key}).json()
    german_text = info["trackings"][0]["last_delivery_status"]["status_text"]
    assert english["trackings"][0]["last_delivery_status"]["status_text"] == "In transit"
    assert german_text != "In transit"
    assert info["status_text"] != english["status_text"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "identifier"),
        ({"order_number": "1", "tracking_number": NUMBER}, "identifier"),
        ({"external_order_id": "not-a-uuid"}, "external_order_id"),
        ({"tracking_number": "1Z<>"}, "tracking_number"),
        ({"tracking_number": NUMBER, "courier": "pony"}, "courier"),
        ({"order_number": "1001", "recipient_email": "not-an-email"}, "recipient_email"),
        ({"order_number": "1001", "account": "nope"}, "account"),
    ],
)
def test_invalid_parameters_are_400_naming_the_field(client, shipped, params, field):
    response = client.get(URL, params)
    assert response.status_code == 400
    body = response.json()["error"]
    assert (body["code"], body["details"]["field"]) == ("validation_error", field)


@override_settings(LOOKUP_FAILURE_RATE="2/m")
def test_repeated_failed_verifications_are_429_with_retry_after(client, shipped):
    params = {"order_number": "1001", "recipient_email": "guess@example.com"}
    statuses = [client.get(URL, params).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    response = client.get(URL, params)
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_info_does_not_write(client, shipped, key, django_assert_max_num_queries):
    shipped.refresh_from_db()
    before = shipped.state_version
    with django_assert_max_num_queries(12):
        client.get(URL, {"order_number": "1001"}, headers={"X-API-Key": key})
    shipped.refresh_from_db()
    assert shipped.state_version == before


def test_response_is_valid_json_for_an_order_without_trackings(client, account, key):
    make_order(account, order_number="2002")
    info = client.get(URL, {"order_number": "2002"}, headers={"X-API-Key": key}).json()
    assert (info["status"], info["trackings"], info["status_text"]) == (
        "pending",
        [],
        "We have received your order",
    )
    json.dumps(info)


# --- answers cached for polling storefronts -----------------------------------------------------


def test_repeated_poll_is_served_from_cache_without_the_database(client, shipped, django_assert_num_queries):
    url = shipped.status_url(kind="info", absolute=False)
    first = client.get(url)
    with django_assert_num_queries(0):
        again = client.get(url)
    assert (again.status_code, again.content) == (200, first.content)
    assert again["Content-Type"] == first["Content-Type"] == "application/json; charset=utf-8"
    assert again["Content-Language"] == first["Content-Language"]
    assert again["Cache-Control"] == "private, no-store"


def test_a_new_checkpoint_shows_on_the_next_poll(client, shipped, django_capture_on_commit_callbacks):
    url = shipped.status_url(kind="info", absolute=False)
    client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        scan(shipped.trackings.get(), "out_for_delivery", days_ago(0.1), location="Austin, TX")
    latest = client.get(url).json()["trackings"][0]["last_delivery_status"]
    assert latest["lifecycle_status"] == "OutForDelivery"


def test_revoked_link_is_refused_on_the_next_poll(client, shipped, django_capture_on_commit_callbacks):
    from orders import lifecycle

    url = shipped.status_url(kind="info", absolute=False)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.revoke_links(shipped)
    assert client.get(url).status_code == 404


def test_an_api_keys_answer_is_never_served_without_the_key(client, shipped, key):
    """With a key, hidden checkpoints are shown; the same query without it must not get them."""
    params = {"tracking_number": NUMBER}
    keyed = client.get(URL, params, headers={"X-API-Key": key}).json()
    anonymous = client.get(URL, params).json()
    assert keyed["access"] == "full" and anonymous["access"] == "limited"
    assert "Hub 7" in json.dumps(keyed) and "Hub 7" not in json.dumps(anonymous)
    assert "recipient_name" not in anonymous


def test_a_deleted_orders_cached_answer_is_gone(client, shipped, django_capture_on_commit_callbacks):
    url = shipped.status_url(kind="info", absolute=False)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        shipped.delete()
    assert client.get(url).status_code == 404


def test_answers_do_not_vary_with_the_browser_language(client, shipped):
    url = shipped.status_url(kind="info", absolute=False)
    first, again = client.get(url, HTTP_ACCEPT_LANGUAGE="de"), client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    assert first.content == again.content and first["Content-Language"] == "en"
    assert "Accept-Language" not in first.get("Vary", "") and "Accept-Language" not in again.get("Vary", "")
