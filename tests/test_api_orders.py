"""The orders API: the seed's request and response shapes, idempotency, lifecycle rules, every
error code in the seed's envelope, and a key that only sees its own account."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import override_settings

from orders import apikeys
from orders.models import IdempotencyRecord, Order

from .conftest import make_account, make_order

pytestmark = pytest.mark.django_db

ADDRESS = {"street1": "123 Main St", "city": "Austin", "state": "TX", "zip": "78701", "country": "US"}
# Seed 001's request body.
SEED_BODY = {
    "patientId": "pat_1234567890",
    "prescriptionId": "rx_9876543210",
    "shippingAddress": ADDRESS,
    "notes": "Please leave at front door",
}


@pytest.fixture
def key(account) -> str:
    return apikeys.create_key(account=account, name="order system").secret


@pytest.fixture
def api(client, key):
    class Api:
        def post(self, path, body, *, idempotency_key=None, raw=None, **headers):
            if idempotency_key is not None:
                headers["Idempotency-Key"] = idempotency_key
            data = raw if raw is not None else json.dumps(body)
            return client.post(
                path, data, content_type="application/json", headers={"X-API-Key": key, **headers}
            )

        def get(self, path, **headers):
            return client.get(path, headers={"X-API-Key": key, **headers})

    return Api()


def error(response) -> dict:
    return response.json()["error"]


def create(api, body=None, **kwargs):
    response = api.post("/v1/orders", body or SEED_BODY, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


# --- creating orders --------------------------------------------------------------------------


def test_seed_request_creates_a_pending_order(api):
    created = create(api, idempotency_key="unique-key-123")
    assert created["id"].startswith("ord_")
    assert created["status"] == "pending"
    assert (created["patientId"], created["shippingAddress"]) == (
        "pat_1234567890",
        {**ADDRESS, "street2": ""},
    )
    assert created["notes"] == "Please leave at front door"
    assert created["createdAt"].endswith("Z") and created["updatedAt"].endswith("Z")
    order = Order.objects.get(public_id=created["id"])
    assert (order.customer_number, order.postal_code, order.order_number) == (
        "pat_1234567890",
        "78701",
        created["orderNumber"],
    )
    assert (order.external_reference, created["prescriptionId"]) == ("rx_9876543210", "rx_9876543210")
    assert api.get(f"/v1/orders/{created['id']}").json()["prescriptionId"] == "rx_9876543210"


def test_full_body_is_stored(api):
    body = {
        "orderNumber": "A-1001",
        "customerId": "C-77",
        "externalOrderId": "6f1c2c3e-4b5a-4d6e-8f70-112233445566",
        "recipient": {"name": "Jane Shopper", "email": "jane@example.com", "phone": "+1 512 555 0100"},
        "shippingAddress": {**ADDRESS, "street2": "Apt 4B"},
        "items": [{"name": "Vitamin D", "sku": "VD-1", "quantity": 2, "unitPrice": "9.90"}],
        "language": "de",
    }
    created = create(api, body)
    assert created["orderNumber"] == "A-1001"
    assert created["recipient"]["email"] == "jane@example.com"
    assert created["items"] == [
        {
            "name": "Vitamin D",
            "sku": "VD-1",
            "quantity": 2,
            "unitPrice": "9.90",
            "currency": "USD",
            "imageUrl": "",
        }
    ]
    order = Order.objects.get(order_number="A-1001")
    assert (str(order.external_order_id), order.language, order.street2) == (
        body["externalOrderId"],
        "de",
        "Apt 4B",
    )


def test_order_number_is_generated_when_absent(api):
    first, second = create(api), create(api)
    assert first["orderNumber"] and first["orderNumber"] != second["orderNumber"]


def test_same_key_same_body_replays_the_original_response(api):
    first = api.post("/v1/orders", SEED_BODY, idempotency_key="order-2025-01-15-001")
    reordered = dict(reversed(list(SEED_BODY.items())))  # key order does not make a new body
    second = api.post("/v1/orders", reordered, idempotency_key="order-2025-01-15-001")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_same_key_different_body_is_409(api):
    create(api, idempotency_key="k-1")
    response = api.post("/v1/orders", {**SEED_BODY, "notes": "other"}, idempotency_key="k-1")
    assert response.status_code == 409
    assert error(response)["code"] == "idempotency_key_conflict"
    assert error(response)["message"] == "An order with this idempotency key already exists"
    assert Order.objects.count() == 1


def test_keys_are_per_account(api, client):
    other = make_account(name="Other", slug="other")
    other_key = apikeys.create_key(account=other, name="x").secret
    create(api, idempotency_key="shared")
    response = client.post(
        "/v1/orders",
        json.dumps(SEED_BODY),
        content_type="application/json",
        headers={"X-API-Key": other_key, "Idempotency-Key": "shared"},
    )
    assert response.status_code == 201
    assert Order.objects.filter(account=other).count() == 1


def test_without_idempotency_key_each_request_creates_an_order(api):
    create(api)
    create(api)
    assert Order.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


def test_failed_request_does_not_burn_its_idempotency_key(api, account):
    make_order(account, order_number="TAKEN")
    response = api.post("/v1/orders", {**SEED_BODY, "orderNumber": "TAKEN"}, idempotency_key="k-2")
    assert response.status_code == 409
    assert error(response)["code"] == "order_exists"
    assert create(api, {**SEED_BODY, "orderNumber": "FREE"}, idempotency_key="k-2")["orderNumber"] == "FREE"


def test_idempotency_key_over_255_characters_is_400(api):
    response = api.post("/v1/orders", SEED_BODY, idempotency_key="k" * 256)
    assert response.status_code == 400
    assert error(response)["details"]["field"] == "Idempotency-Key"
    assert Order.objects.count() == 0


@pytest.mark.parametrize("sent", ["", "   ", "caf\u00e9", " padded", "tab\tkey"])
def test_an_empty_or_malformed_idempotency_key_is_400_not_no_key(api, sent):
    response = api.post("/v1/orders", SEED_BODY, idempotency_key=sent)
    assert response.status_code == 400
    assert error(response)["details"]["field"] == "Idempotency-Key"
    assert Order.objects.count() == 0


def test_neutral_names_and_the_seeds_aliases_are_one_field(api):
    order = create(api, {"customerId": "C-9", "externalReference": "ref-9", "shippingAddress": ADDRESS})
    assert (order["customerId"], order["patientId"]) == ("C-9", "C-9")
    assert (order["externalReference"], order["prescriptionId"]) == ("ref-9", "ref-9")
    conflicting = {**SEED_BODY, "externalReference": "other"}
    response = api.post("/v1/orders", conflicting)
    assert (response.status_code, error(response)["details"]["field"]) == (400, "externalReference")


# --- validation errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shippingAddress": {**ADDRESS, "zip": "7870"}}, "shippingAddress.zip"),
        ({"shippingAddress": {**ADDRESS, "zip": "ABCDE"}}, "shippingAddress.zip"),
        ({"shippingAddress": {**ADDRESS, "state": "Texas"}}, "shippingAddress.state"),
        ({"shippingAddress": {**ADDRESS, "country": "XX"}}, "shippingAddress.country"),
        ({"shippingAddress": {k: v for k, v in ADDRESS.items() if k != "city"}}, "shippingAddress.city"),
        ({"shippingAddress": None}, "shippingAddress"),
        ({"notes": "n" * 1001}, "notes"),
        ({"recipient": {"email": "not-an-email"}}, "recipient.email"),
        ({"recipient": {"name": "Jane\x00"}}, "recipient.name"),
        ({"items": [{"name": "x", "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"name": "x", "unitPrice": "-1"}]}, "items[0].unitPrice"),
        ({"externalOrderId": "not-a-uuid"}, "externalOrderId"),
        ({"patientId": "p1", "customerId": "c2"}, "customerId"),
        ({"language": "xx"}, "language"),
        ({"shippingAdress": ADDRESS}, "shippingAdress"),
        ({"orderNumber": "   "}, "orderNumber"),
    ],
)
def test_invalid_body_is_400_naming_the_field(api, change, field):
    body = {**SEED_BODY, **change}
    response = api.post("/v1/orders", body)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "validation_error"
    assert error(response)["message"] == "The request body is invalid"
    assert error(response)["details"]["field"] == field
    assert error(response)["details"]["reason"]
    assert Order.objects.count() == 0


def test_us_zip_plus_four_and_foreign_postcodes_are_accepted(api):
    create(api, {**SEED_BODY, "shippingAddress": {**ADDRESS, "zip": "78701-1234"}})
    foreign = {"street1": "10 Downing St", "city": "London", "zip": "SW1A 2AA", "country": "gb"}
    assert create(api, {**SEED_BODY, "shippingAddress": foreign})["shippingAddress"]["country"] == "GB"


@pytest.mark.parametrize("raw", ["{bad json", "", "[]", '"text"', "null"])
def test_malformed_or_missing_body_is_400(api, raw):
    response = api.post("/v1/orders", None, raw=raw)
    assert response.status_code == 400
    assert error(response)["code"] == "validation_error"
    assert Order.objects.count() == 0


def test_body_over_the_limit_is_413(api):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=500):
        response = api.post("/v1/orders", {**SEED_BODY, "notes": "n" * 600})
    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"
    assert Order.objects.count() == 0


def test_duplicate_order_number_is_409_with_the_existing_id(api):
    first = create(api, {**SEED_BODY, "orderNumber": "A-1"})
    response = api.post("/v1/orders", {**SEED_BODY, "orderNumber": "A-1"})
    assert response.status_code == 409
    assert error(response)["details"] == {"field": "orderNumber", "reason": f"Existing order: {first['id']}"}


# --- reading, status and trackings ------------------------------------------------------------


def test_get_returns_the_seed_shape_with_tracking_and_eta(api):
    created = create(api)
    api.post(
        f"/v1/orders/{created['id']}/trackings",
        {"trackingNumber": "1Z999AA10123456784", "estimatedDeliveryDate": "2025-01-18"},
    )
    response = api.get(f"/v1/orders/{created['id']}")
    assert response.status_code == 200
    order = response.json()
    assert {
        "id",
        "patientId",
        "status",
        "shippingAddress",
        "trackingNumber",
        "createdAt",
        "updatedAt",
    } <= set(order)
    assert (order["status"], order["trackingNumber"], order["estimatedDeliveryDate"]) == (
        "shipped",
        "1Z999AA10123456784",
        "2025-01-18",
    )
    assert order["trackings"][0]["carrier"] == "ups"
    assert "s=" in order["statusUrl"]


def test_get_by_order_number(api):
    created = create(api, {**SEED_BODY, "orderNumber": "N-5"})
    assert api.get("/v1/orders/N-5").json()["id"] == created["id"]


def test_unknown_order_is_404(api):
    response = api.get("/v1/orders/ord_doesnotexist")
    assert (response.status_code, error(response)["code"]) == (404, "not_found")


def test_a_key_never_sees_another_accounts_orders(api, client):
    other = make_account(name="Other", slug="other")
    theirs = make_order(other, order_number="B-1")
    for response in (
        api.get(f"/v1/orders/{theirs.public_id}"),
        api.get("/v1/orders/B-1"),
        api.post(f"/v1/orders/{theirs.public_id}/status", {"status": "processing"}),
        api.post(f"/v1/orders/{theirs.public_id}/trackings", {"trackingNumber": "1Z999AA10123456784"}),
    ):
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.trackings.count()) == ("pending", 0)


def test_status_follows_the_lifecycle(api):
    order_id = create(api)["id"]
    assert (
        api.post(f"/v1/orders/{order_id}/status", {"status": "processing"}).json()["status"] == "processing"
    )
    response = api.post(f"/v1/orders/{order_id}/status", {"status": "pending"})
    assert (response.status_code, error(response)["code"]) == (409, "invalid_transition")
    assert Order.objects.get().status == "processing"


def test_cancel_after_shipping_is_409(api):
    order_id = create(api)["id"]
    api.post(f"/v1/orders/{order_id}/trackings", {"trackingNumber": "1Z999AA10123456784"})
    response = api.post(f"/v1/orders/{order_id}/status", {"status": "cancelled"})
    assert response.status_code == 409
    assert "can no longer be cancelled" in error(response)["message"]
    assert Order.objects.get().status == "shipped"


def test_unknown_status_is_400(api):
    order_id = create(api)["id"]
    response = api.post(f"/v1/orders/{order_id}/status", {"status": "lost"})
    assert (response.status_code, error(response)["details"]["field"]) == (400, "status")


def test_adding_a_tracking_detects_the_carrier_and_ships(api):
    order_id = create(api)["id"]
    response = api.post(f"/v1/orders/{order_id}/trackings", {"trackingNumber": "9400 1118 9922 3197 4284 90"})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "shipped"
    assert (body["trackings"][0]["carrier"], body["trackingNumber"]) == ("usps", "9400111899223197428490")
    again = api.post(f"/v1/orders/{order_id}/trackings", {"trackingNumber": "9400111899223197428490"})
    assert again.status_code == 200
    assert len(again.json()["trackings"]) == 1


def test_tracking_carrier_by_name_and_eta(api):
    order_id = create(api)["id"]
    body = api.post(
        f"/v1/orders/{order_id}/trackings",
        {"trackingNumber": "123456789012", "carrier": "FedEx Ground", "estimatedDeliveryDate": "2025-01-20"},
    ).json()
    assert (body["trackings"][0]["carrier"], body["trackings"][0]["announcedDeliveryDate"]) == (
        "fedex",
        "2025-01-20",
    )
    assert Order.objects.get().trackings.get().estimated_delivery_date == date(2025, 1, 20)


def test_tracking_for_a_cancelled_order_is_409(api):
    order_id = create(api)["id"]
    api.post(f"/v1/orders/{order_id}/status", {"status": "cancelled"})
    response = api.post(f"/v1/orders/{order_id}/trackings", {"trackingNumber": "1Z999AA10123456784"})
    assert (response.status_code, error(response)["code"]) == (409, "invalid_transition")
    assert Order.objects.get().trackings.count() == 0


def test_invalid_tracking_number_is_400(api):
    order_id = create(api)["id"]
    response = api.post(f"/v1/orders/{order_id}/trackings", {"trackingNumber": "1Z<script>"})
    assert (response.status_code, error(response)["details"]["field"]) == (400, "trackingNumber")


# --- authentication, rate limits, request ids -------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "sk_wrong"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_missing_or_wrong_key_is_401(client, account, headers):
    response = client.post(
        "/v1/orders", json.dumps(SEED_BODY), content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert error(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert Order.objects.count() == 0


def test_bearer_key_is_accepted(client, key):
    response = client.post(
        "/v1/orders",
        json.dumps(SEED_BODY),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201


def test_revoked_key_is_401(api, account, key):
    apikeys.revoke(account.api_keys.get())
    assert api.get("/v1/orders/x").status_code == 401


@override_settings(API_KEY_RATE="3/m")
def test_key_over_its_rate_is_429_with_retry_after(api):
    statuses = [api.get("/v1/orders/x").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    response = api.get("/v1/orders/x")
    assert error(response)["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_every_response_carries_a_request_id_that_the_error_quotes(api, client):
    ok = api.get("/v1/orders/nope")
    assert ok["X-Request-Id"].startswith("req_")
    assert error(ok)["requestId"] == ok["X-Request-Id"]
    assert client.get("/healthz")["X-Request-Id"]


def test_a_callers_request_id_is_kept(api):
    response = api.get("/v1/orders/nope", **{"X-Request-Id": "upstream-1234-abcd"})
    assert response["X-Request-Id"] == error(response)["requestId"] == "upstream-1234-abcd"


def test_request_id_appears_in_the_log_lines(api, caplog):
    with caplog.at_level("INFO", logger="orders.api"):
        response = api.get("/v1/orders/nope")
    record = next(r for r in caplog.records if r.name == "orders.api")
    from orders.request_id import RequestIdFilter

    RequestIdFilter().filter(record)
    assert record.request_id == response["X-Request-Id"]


def test_unknown_api_path_answers_in_the_envelope(api):
    response = api.get("/v1/invoices")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error(response)["code"] == "not_found"


def test_openapi_document_covers_every_json_endpoint(client):
    schema = client.get("/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/v1/orders",
        "/v1/orders/{order_id}",
        "/v1/orders/{order_id}/status",
        "/v1/orders/{order_id}/trackings",
        "/v4/track/orders/info/",
        "/webhooks/{source}/",
    } <= set(schema["paths"])
