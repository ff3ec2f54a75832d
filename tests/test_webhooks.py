"""Incoming webhooks: signatures, every refusal writes nothing, seed payloads, idempotency,
stale/parked/rejected outcomes and arrival-order independence over HTTP."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
from django.test import Client, override_settings

from orders import webhooks
from orders.models import Order, OrderStatus, Tracking, WebhookEvent

from .conftest import make_account, make_order, ship

pytestmark = pytest.mark.django_db

ADDRESS = {"street1": "123 Main St", "city": "Austin", "state": "TX", "zip": "78701", "country": "US"}
# Seed 001: the order system's order JSON, as order.created's data.
CREATED = {
    "id": "evt_created",
    "type": "order.created",
    "createdAt": "2025-01-15T15:00:00Z",
    "data": {
        "id": "ord_abc123xyz",
        "patientId": "pat_1234567890",
        "prescriptionId": "rx_9876543210",
        "status": "pending",
        "shippingAddress": ADDRESS,
        "createdAt": "2025-01-15T15:00:00Z",
        "updatedAt": "2025-01-15T15:00:00Z",
    },
}
# Seed 000: the two order.fulfilled examples.
FULFILLED = {
    "id": "evt_1234567891",
    "type": "order.fulfilled",
    "createdAt": "2025-01-15T14:22:00Z",
    "data": {
        "orderId": "ord_abc123xyz",
        "trackingNumber": "1Z999AA10123456784",
        "estimatedDeliveryDate": "2025-01-18",
    },
}
FULFILLED_WITH_STATUS = {
    "id": "evt_1234567892",
    "type": "order.fulfilled",
    "createdAt": "2025-01-15T14:22:00Z",
    "data": {"orderId": "ord_abc123xyz", "status": "shipped", "trackingNumber": "1Z999AA10123456784"},
}


def event(kind: str, event_id: str, created_at: str = "2025-01-16T10:00:00Z", **data) -> dict:
    return {"id": event_id, "type": kind, "createdAt": created_at, "data": data}


def post(client, account, payload, source="nimbus", *, raw: bytes | None = None, signature=None, query=""):
    body = raw if raw is not None else json.dumps(payload).encode()
    header = webhooks.sign(account.webhook_secret, body) if signature is None else signature
    headers = {"Statuspage-Signature": header} if header else {}
    return client.post(f"/webhooks/{source}/{query}", body, content_type="application/json", headers=headers)


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def nothing_written():
    """Asserts at the end of the test that no order, tracking or event was stored."""
    yield
    assert (WebhookEvent.objects.count(), Order.objects.count(), Tracking.objects.count()) == (0, 0, 0)


# --- refusals: each writes nothing ----------------------------------------------------------


def test_missing_signature_is_401(client, account, nothing_written):
    response = post(client, account, CREATED, signature="")
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"
    assert response.json()["error"]["details"]["field"] == "Statuspage-Signature"


def test_signature_with_another_secret_is_401(client, account, nothing_written):
    body = json.dumps(CREATED).encode()
    response = post(client, account, None, raw=body, signature=webhooks.sign("whsec_other", body))
    assert response.status_code == 401


def test_signature_over_a_different_body_is_401(client, account, nothing_written):
    body = json.dumps(CREATED).encode()
    signature = webhooks.sign(account.webhook_secret, body)
    response = post(client, account, None, raw=body.replace(b"pending", b"shipped"), signature=signature)
    assert response.status_code == 401


@pytest.mark.parametrize("offset", [-305, 305])  # a few seconds clear: the timestamp is whole seconds
def test_signature_more_than_five_minutes_off_is_401(client, account, nothing_written, offset):
    body = json.dumps(CREATED).encode()
    signature = webhooks.sign(account.webhook_secret, body, int(time.time()) + offset)
    response = post(client, account, None, raw=body, signature=signature)
    assert response.status_code == 401
    assert "300 seconds" in response.json()["error"]["details"]["reason"]


def test_signature_within_tolerance_is_accepted(client, account):
    body = json.dumps(CREATED).encode()
    signature = webhooks.sign(account.webhook_secret, body, int(time.time()) - 280)
    assert post(client, account, None, raw=body, signature=signature).status_code == 200


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "v1=deadbeef", "t=1700000000"])
def test_malformed_signature_header_is_401(client, account, nothing_written, header):
    assert post(client, account, CREATED, signature=header).status_code == 401


def test_any_matching_v1_signature_is_accepted_during_a_rotation(client, account):
    body = json.dumps(CREATED).encode()
    good = webhooks.sign(account.webhook_secret, body)
    timestamp, digest = good.split(",")
    response = post(client, account, None, raw=body, signature=f"{timestamp},v1={'0' * 64},{digest}")
    assert response.status_code == 200


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_malformed_json_is_400(client, account, nothing_written, raw):
    response = post(client, account, None, raw=raw)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_body_over_256_kb_is_413(client, account, nothing_written):
    padding = "x" * (256 * 1024)
    payload = {**CREATED, "data": {**CREATED["data"], "notes": padding}}
    response = post(client, account, payload)
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


def test_unknown_event_type_is_422(client, account, nothing_written):
    response = post(client, account, event("order.teleported", "evt_x", orderId="A1"))
    assert response.status_code == 422
    assert error_code(response) == "unknown_event_type"
    assert "order.created" in response.json()["error"]["details"]["reason"]


def test_event_type_of_another_source_is_422(client, account, nothing_written):
    assert post(client, account, event("ORDER_PLACED", "evt_x", orderId="A1")).status_code == 422


def test_unknown_source_is_404(client, account, nothing_written):
    assert post(client, account, CREATED, source="acme").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (event("order.fulfilled", "evt_1", orderId="A1"), "data.trackingNumber"),
        (event("order.fulfilled", "evt_1", orderId="A1", trackingNumber="1Z!!"), "data.trackingNumber"),
        (
            event(
                "order.fulfilled", "evt_1", orderId="A1", trackingNumber="1Z9", estimatedDeliveryDate="soon"
            ),
            "data.estimatedDeliveryDate",
        ),
        ({"type": "order.cancelled", "data": {"orderId": "A1"}}, "id"),
        ({"id": "evt_1", "type": "order.cancelled", "data": {}}, "data.orderId"),
        (event("order.created", "evt_1", orderId="A1", shippingAddress={**ADDRESS, "zip": "787"}), None),
        (event("order.cancelled", "e\x00", orderId="A1"), "id"),
    ],
)
def test_invalid_event_fields_are_400_naming_the_field(client, account, nothing_written, payload, field):
    response = post(client, account, payload)
    assert response.status_code == 400
    reported = response.json()["error"]["details"]["field"]
    assert reported == (field or "data.shippingAddress.zip")


def test_a_checkpoint_that_is_not_an_object_is_400_naming_it(client, account, nothing_written):
    payload = event("tracking.updated", "evt_t", trackingNumber="1Z999AA10123456784", checkpoints=["x"])
    response = post(client, account, payload, source="tracking")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details == {"field": "data.checkpoints[0]", "reason": "Send a JSON object."}


def test_a_form_instead_of_json_is_400_not_500(client, account, nothing_written):
    body = json.dumps(CREATED).encode()
    headers = {"Statuspage-Signature": webhooks.sign(account.webhook_secret, body)}
    response = client.post("/webhooks/nimbus/", {"event": body.decode()}, headers=headers)  # multipart
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "body"
    assert "application/json" in response.json()["error"]["details"]["reason"]


def test_account_is_required_when_there_are_several(client, account, nothing_written):
    make_account(name="Other", slug="other")
    response = post(client, account, CREATED)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "account"
    WebhookEvent.objects.all().delete()
    Order.objects.all().delete()


def test_account_parameter_picks_the_secret(client, account):
    other = make_account(name="Other", slug="other")
    assert post(client, other, CREATED, query="?account=other").status_code == 200
    assert post(client, account, CREATED, query=f"?account={account.pk}").status_code == 200
    assert Order.objects.filter(account=other).count() == Order.objects.filter(account=account).count() == 1
    # The other account's secret does not sign for this one.
    assert (
        post(client, other, event("order.cancelled", "e9", orderId="x"), query="?account=acme").status_code
        == 401
    )


# --- seed payloads ----------------------------------------------------------------------------


def test_seed_order_created_creates_the_order(client, account):
    response = post(client, account, CREATED)
    assert response.status_code == 200
    assert response.json() == {"status": "applied", "eventId": "evt_created", "outcome": "applied"}
    order = Order.objects.get(order_number="ord_abc123xyz")
    assert (order.status, order.customer_number, order.postal_code, order.state) == (
        "pending",
        "pat_1234567890",
        "78701",
        "TX",
    )


@pytest.mark.parametrize("fulfilled", [FULFILLED, FULFILLED_WITH_STATUS], ids=["with_eta", "with_status"])
def test_seed_order_fulfilled_ships_the_order_with_a_detected_carrier(client, account, fulfilled):
    post(client, account, CREATED)
    response = post(client, account, fulfilled)
    assert response.status_code == 200
    order = Order.objects.get(order_number="ord_abc123xyz")
    tracking = order.trackings.get()
    assert (order.status, tracking.carrier, tracking.tracking_number) == (
        "shipped",
        "ups",
        "1Z999AA10123456784",
    )
    if "estimatedDeliveryDate" in fulfilled["data"]:
        assert tracking.announced_delivery_date == tracking.estimated_delivery_date == date(2025, 1, 18)


def test_order_updated_cancelled_and_delivered(client, account):
    post(client, account, CREATED)
    updated = event(
        "order.updated", "evt_u", orderId="ord_abc123xyz", status="processing", notes="Gate code 1234"
    )
    assert post(client, account, updated).json()["status"] == "applied"
    order = Order.objects.get()
    assert (order.status, order.notes) == ("processing", "Gate code 1234")
    assert (
        post(client, account, event("order.delivered", "evt_d", orderId="ord_abc123xyz")).status_code == 200
    )
    assert Order.objects.get().status == "delivered"


def test_order_cancelled_before_shipping(client, account):
    post(client, account, CREATED)
    assert (
        post(client, account, event("order.cancelled", "evt_c", orderId="ord_abc123xyz")).status_code == 200
    )
    assert Order.objects.get().status == "cancelled"


def test_vendor_events_place_and_ship_an_order(client, account):
    order = make_order(account, order_number="V-100")
    placed = event("ORDER_PLACED", "v1", orderId="V-100")
    obtained = event(
        "TRACKING_OBTAINED", "v2", orderId="V-100", carrier="FedEx", trackingNumber="123456789012"
    )
    assert post(client, account, placed, source="vendor").json()["status"] == "applied"
    order.refresh_from_db()
    assert order.status == "processing"
    assert post(client, account, obtained, source="vendor").json()["status"] == "applied"
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.trackings.get().carrier == "fedex"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("UPS", "ups"),
        ("DHL Express", "dhl"),
        ("Amazon Logistics", "amazon"),
        ("usps", "usps"),
        ("Pony", "ups"),
    ],
)
def test_vendor_carrier_names_map_to_codes_and_unknown_names_are_detected(client, account, name, code):
    make_order(account, order_number="V-1")
    obtained = event(
        "TRACKING_OBTAINED", "v2", orderId="V-1", carrier=name, trackingNumber="1Z999AA10123456784"
    )
    post(client, account, obtained, source="vendor")
    assert Tracking.objects.get().carrier == code


def tracking_event(event_id, number="1Z999AA10123456784", checkpoints=(), **extra):
    return event("tracking.updated", event_id, trackingNumber=number, checkpoints=list(checkpoints), **extra)


def cp(timestamp, status, code="", location="Austin, TX"):
    return {
        "timestamp": timestamp,
        "status": status,
        "statusCode": code or status.upper(),
        "location": location,
    }


def test_tracking_feed_records_checkpoints_and_eta(client, account):
    order = make_order(account)
    ship(order)
    payload = tracking_event(
        "t1",
        courier="UPS",
        status="in_transit",
        estimatedDeliveryDate="2025-01-20",
        checkpoints=[
            cp("2025-01-16T08:00:00Z", "info_received"),
            cp("2025-01-17T08:00:00Z", "InTransit", "I1"),
        ],
    )
    assert post(client, account, payload, source="tracking").json()["status"] == "applied"
    tracking = Tracking.objects.get()
    assert (tracking.status, tracking.step, tracking.estimated_delivery_date) == (
        "in_transit",
        3,
        date(2025, 1, 20),
    )
    assert tracking.checkpoints.count() == 2


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["escaped", "utf8"])
def test_text_beyond_ascii_is_stored_as_sent_escaped_or_not(client, account, ensure_ascii):
    ship(make_order(account))
    checkpoint = cp("2025-01-16T08:00:00Z", "in_transit", location="Zürich 🚚")
    payload = tracking_event("t1", checkpoints=[checkpoint])
    body = json.dumps(payload, ensure_ascii=ensure_ascii).encode()
    assert post(client, account, None, source="tracking", raw=body).json()["status"] == "applied"
    assert Tracking.objects.get().checkpoints.get().location == "Zürich 🚚"
    assert WebhookEvent.objects.get().payload == payload


def test_tracking_feed_delivered_checkpoint_delivers_the_order(client, account):
    order = make_order(account)
    ship(order)
    post(
        client,
        account,
        tracking_event("t1", checkpoints=[cp("2025-01-18T12:00:00Z", "delivered")]),
        "tracking",
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED


def test_tracking_feed_rejects_unknown_status(client, account, nothing_written):
    response = post(
        client, account, tracking_event("t1", checkpoints=[cp("2025-01-18T12:00:00Z", "lost")]), "tracking"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "data.checkpoints[0]"


# --- idempotency and ordering -----------------------------------------------------------------


def test_repeated_event_is_a_duplicate_with_no_effect(client, account):
    post(client, account, CREATED)
    first = post(client, account, FULFILLED)
    order = Order.objects.get()
    version = order.state_version
    second = post(client, account, FULFILLED)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["status"] == "duplicate"
    order.refresh_from_db()
    assert order.state_version == version
    assert WebhookEvent.objects.count() == 2


def test_backwards_update_is_stored_as_stale_and_ignored(client, account):
    post(client, account, CREATED)
    post(client, account, FULFILLED)
    stale = event("order.updated", "evt_old", orderId="ord_abc123xyz", status="processing")
    response = post(client, account, stale)
    assert (response.status_code, response.json()["status"]) == (200, "stale")
    assert Order.objects.get().status == "shipped"
    assert WebhookEvent.objects.get(event_id="evt_old").outcome == "stale"


def test_cancel_after_shipping_is_rejected_with_409_and_stored(client, account):
    post(client, account, CREATED)
    post(client, account, FULFILLED)
    response = post(client, account, event("order.cancelled", "evt_c", orderId="ord_abc123xyz"))
    assert response.status_code == 409
    assert error_code(response) == "invalid_transition"
    assert Order.objects.get().status == "shipped"
    stored = WebhookEvent.objects.get(event_id="evt_c")
    assert (stored.outcome, bool(stored.message)) == ("rejected", True)


def test_event_for_unknown_order_is_parked_then_applied_when_the_order_arrives(client, account):
    response = post(client, account, FULFILLED)
    assert (response.status_code, response.json()["status"]) == (202, "parked")
    assert Order.objects.count() == 0
    post(client, account, CREATED)
    order = Order.objects.get()
    assert order.status == "shipped"
    assert order.trackings.get().announced_delivery_date == date(2025, 1, 18)
    assert WebhookEvent.objects.get(event_id=FULFILLED["id"]).outcome == "applied"


def test_parked_event_is_applied_when_the_order_is_created_through_the_api(client, account):
    from orders import apikeys

    key = apikeys.create_key(account=account, name="t").secret
    post(client, account, event("order.delivered", "evt_d", orderId="API-1"))
    body = {"orderNumber": "API-1", "shippingAddress": ADDRESS}
    response = client.post("/v1/orders", body, content_type="application/json", headers={"X-API-Key": key})
    assert response.status_code == 201
    assert Order.objects.get(order_number="API-1").status == "delivered"


def test_carrier_events_for_an_unknown_shipment_wait_for_it(client, account):
    payload = tracking_event("t1", checkpoints=[cp("2025-01-17T08:00:00Z", "out_for_delivery")])
    assert post(client, account, payload, source="tracking").status_code == 202
    post(client, account, CREATED)
    post(client, account, FULFILLED)
    tracking = Tracking.objects.get()
    assert (tracking.status, tracking.checkpoints.count()) == ("out_for_delivery", 1)


def test_delivered_before_created_converges_to_delivered(client, account):
    post(client, account, event("order.delivered", "evt_d", orderId="ord_abc123xyz"))
    post(client, account, FULFILLED)
    post(client, account, CREATED)
    order = Order.objects.get()
    assert order.status == "delivered"
    assert order.trackings.get().tracking_number == "1Z999AA10123456784"


def test_latest_announced_date_wins_whatever_the_arrival_order(client, account):
    post(client, account, CREATED)
    newer = event(
        "order.fulfilled", "f2", "2025-01-16T09:00:00Z",
        orderId="ord_abc123xyz", trackingNumber="1Z999AA10123456784", estimatedDeliveryDate="2025-01-21",
    )  # fmt: skip
    post(client, account, newer)
    post(client, account, FULFILLED)  # older (2025-01-15), arrives last
    assert Tracking.objects.get().announced_delivery_date == date(2025, 1, 21)


def test_latest_order_details_win_whatever_the_arrival_order(client, account):
    post(client, account, CREATED)
    newer = event("order.updated", "u2", "2025-01-17T00:00:00Z", orderId="ord_abc123xyz", notes="new")
    older = event("order.updated", "u1", "2025-01-16T00:00:00Z", orderId="ord_abc123xyz", notes="old")
    post(client, account, newer)
    post(client, account, older)
    assert Order.objects.get().notes == "new"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_size_limit_follows_the_setting(client, account, nothing_written):
    payload = {**CREATED, "data": {**CREATED["data"], "notes": "y" * 1000}}
    assert post(client, account, payload).status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": "e1", "type": "order.cancelled", "data": {"orderId": "A1", "extra": "nul\\u0000"}}',
        b'{"id": "e1", "type": "order.cancelled", "data": {"orderId": "A1", "x": ["\\ud800"]}}',
        b'{"id": "e1", "type": "order.cancelled", "data": {"orderId": "A1", "x": "\xed\xa0\x80"}}',
        b'{"id": "e1", "type": "order.cancelled", "data": {"orderId": "A1", "x": [1e999]}}',
        b"[" * 5000 + b"]" * 5000,
    ],
    ids=["nul_in_ignored_field", "lone_surrogate", "raw_lone_surrogate", "infinite_number", "deep_nesting"],
)
def test_json_that_cannot_be_stored_is_400_not_500(client, account, nothing_written, raw):
    response = post(client, account, None, raw=raw)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_account_parameter_with_control_characters_is_400(client, account, nothing_written):
    assert post(client, account, CREATED, query="?account=ac%00me").status_code == 400


def test_wrong_method_answers_405_in_the_envelope(client, account):
    response = client.get("/webhooks/nimbus/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert error_code(response) == "method_not_allowed"


def test_seed_order_json_with_tracking_is_accepted_as_order_updated(client, account):
    """Seed 000's "Response with Tracking", sent as the data of order.updated."""
    post(client, account, CREATED)
    seed_order = {
        "id": "ord_abc123xyz",
        "status": "shipped",
        "trackingNumber": "1Z999AA10123456784",
        "estimatedDeliveryDate": "2025-01-18",
        "shippingAddress": ADDRESS,
        "updatedAt": "2025-01-15T16:30:00Z",
    }
    response = post(client, account, {"id": "evt_u", "type": "order.updated", "data": seed_order})
    assert response.json()["status"] == "applied"
    order = Order.objects.get()
    tracking = order.trackings.get()
    assert (order.status, tracking.carrier, tracking.announced_delivery_date) == (
        "shipped",
        "ups",
        date(2025, 1, 18),
    )


def test_parked_event_is_applied_when_staff_add_the_order_in_the_admin(client, admin_client, account):
    post(client, account, FULFILLED)
    form = {
        "account": account.pk,
        "order_number": "ord_abc123xyz",
        "status": "pending",
        "order_date_0": "2025-01-15",
        "order_date_1": "10:00:00",
        "link_version": 1,
        "language": "en",
        **{
            f"{prefix}-{name}": value
            for prefix in ("items", "trackings")
            for name, value in (
                ("TOTAL_FORMS", 0),
                ("INITIAL_FORMS", 0),
                ("MIN_NUM_FORMS", 0),
                ("MAX_NUM_FORMS", 1000),
            )
        },
    }
    response = admin_client.post("/admin/orders/order/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get(order_number="ord_abc123xyz")
    assert (order.status, order.trackings.get().tracking_number) == ("shipped", "1Z999AA10123456784")
    assert WebhookEvent.objects.get(event_id=FULFILLED["id"]).outcome == "applied"


@pytest.mark.parametrize(
    ("source", "payload"),
    [
        ("nimbus", event("order.delivered", "evt_late", orderId="C-1")),
        ("vendor", event("ORDER_PLACED", "evt_late", orderId="C-1")),
    ],
)
def test_events_after_a_cancellation_are_rejected_with_409(client, account, source, payload):
    order = make_order(account, order_number="C-1", status="cancelled")
    response = post(client, account, payload, source=source)
    assert response.status_code == 409
    assert WebhookEvent.objects.get(event_id="evt_late").outcome == "rejected"
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_order_updated_can_change_the_prescription_reference(client, account):
    post(client, account, CREATED)
    updated = event("order.updated", "evt_rx", orderId="ord_abc123xyz", prescriptionId="rx_222")
    assert post(client, account, updated).json()["status"] == "applied"
    assert Order.objects.get().external_reference == "rx_222"


# --- the process's copy of the account --------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_rotated_secret_works_at_once_and_the_old_one_stops(client, account, settings, mode):
    settings.WEBHOOK_APPLY = mode
    assert post(client, account, CREATED).status_code in (200, 202)  # the account is now kept
    old = account.webhook_secret
    account.webhook_secret = "whsec_rotated"
    account.save(update_fields=["webhook_secret"])
    fulfilled = post(client, account, FULFILLED)  # signed with the new secret
    assert fulfilled.status_code in (200, 202)
    cancelled = json.dumps(event("order.cancelled", "evt_old_secret", orderId="ord_abc123xyz")).encode()
    refused = post(client, account, None, raw=cancelled, signature=webhooks.sign(old, cancelled))
    assert (refused.status_code, error_code(refused)) == (401, "unauthorized")
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {CREATED["id"], FULFILLED["id"]}


def test_a_deleted_account_takes_no_more_events(client, account):
    assert post(client, account, CREATED, query="?account=acme").status_code == 200
    account.delete()
    response = post(client, account, FULFILLED, query="?account=acme")
    assert (response.status_code, response.json()["error"]["details"]["field"]) == (400, "account")
    assert not WebhookEvent.objects.exists()


# --- the fast lane (orders.fastlane): webhooks skip the middleware they do not use --------------


def test_a_webhook_answers_alike_in_the_fast_lane_and_the_full_chain(client, account):
    fast = post(client, account, CREATED)
    browser = Client()
    browser.cookies["sessionid"] = "no-such-session"  # a session cookie: the full chain
    full = post(browser, account, FULFILLED)
    assert (fast.status_code, full.status_code) == (200, 200)
    assert fast.json()["status"] == full.json()["status"] == "applied"
    for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Content-Type"):
        assert fast[name] == full[name], name
    assert fast["X-Request-Id"] and full["X-Request-Id"]
    assert "Set-Cookie" not in fast and "Cookie" not in fast.get("Vary", "")


def test_a_rejected_webhook_speaks_the_senders_language_in_the_fast_lane(client, account):
    post(client, account, CREATED)
    post(client, account, FULFILLED)
    body = json.dumps(event("order.cancelled", "evt_c", orderId="ord_abc123xyz")).encode()
    headers = {"Statuspage-Signature": webhooks.sign(account.webhook_secret, body), "Accept-Language": "de"}
    response = client.post("/webhooks/nimbus/", body, content_type="application/json", headers=headers)
    assert response.status_code == 409
    assert "kann nicht mehr storniert werden" in response.json()["error"]["message"]
