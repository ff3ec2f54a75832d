"""Data protection: erase a person everywhere their data lives (command and admin action), export
everything we hold on them, purge old payloads and idempotency records, and make sure a deleted or
erased order never comes back from a replayed idempotency key or a cached answer."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from orders import apikeys, webhooks
from orders.cache import versions as state_cache
from orders.models import (
    PERSONAL_ORDER_FIELDS,
    Account,
    Checkpoint,
    IdempotencyRecord,
    Order,
    Tracking,
    WebhookEvent,
)
from orders.privacy import registry
from orders.privacy.retention import purge_expired

from .conftest import days_ago, make_account, make_order, scan

pytestmark = pytest.mark.django_db

EMAIL = "jane.shopper@example.com"
NUMBER = "1Z999AA10123456784"
ADDRESS = {"street1": "123 Main St", "city": "Austin", "state": "TX", "zip": "78701", "country": "US"}
BODY = {
    "customerId": "cust_4711",
    "recipient": {"name": "Jane Shopper", "email": EMAIL, "phone": "+1 512 555 0100"},
    "shippingAddress": ADDRESS,
    "notes": "Ring twice, Jane",
    "items": [{"name": "Trail Runner Shoe", "sku": "TR-42", "quantity": 1, "unitPrice": "89.90"}],
}


@pytest.fixture
def key(account) -> str:
    return apikeys.create_key(account=account, name="order system").secret


def create_via_api(client, key, number: str, *, idempotency_key: str, email: str = EMAIL):
    body = {**BODY, "recipient": {**BODY["recipient"], "email": email}}
    response = client.post(
        "/v1/orders", json.dumps({**body, "orderNumber": number}), content_type="application/json",
        headers={"X-API-Key": key, "Idempotency-Key": idempotency_key},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return response


def webhook(client, account, payload):
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/tracking/", body, content_type="application/json",
        headers={"Statuspage-Signature": webhooks.sign(account.webhook_secret, body)},
    )  # fmt: skip


@pytest.fixture
def jane(client, account, key):
    """Jane's order as it really arrives: created over the API, shipped, carrier events by webhook."""
    create_via_api(client, key, "2001", idempotency_key="create-2001")
    order = Order.objects.get(order_number="2001")
    client.post(
        "/v1/orders/2001/trackings", json.dumps({"trackingNumber": NUMBER}), content_type="application/json",
        headers={"X-API-Key": key},
    )  # fmt: skip
    Tracking.objects.filter(order=order).update(
        pickup_location_name="Kiosk near Jane", pickup_location_address="9 Elm St, Austin"
    )
    events = [
        {"timestamp": "2025-01-16T09:00:00Z", "status": "out_for_delivery", "message": "Out for delivery"},
        {
            "timestamp": "2025-01-16T15:00:00Z",
            "status": "delivered",
            "message": "Delivered - Signed for by : J SHOPPER",
            "location": "Austin, TX",
        },
    ]
    payload = {
        "id": "evt_trk_1",
        "type": "tracking.updated",
        "createdAt": "2025-01-16T15:05:00Z",
        "data": {"trackingNumber": NUMBER, "courier": "ups", "checkpoints": events},
    }
    assert webhook(client, account, payload).status_code == 200
    order.refresh_from_db()
    return order


@pytest.fixture
def someone_else(client, key):
    create_via_api(client, key, "3001", idempotency_key="create-3001", email="other@example.com")
    return Order.objects.get(order_number="3001")


def personal(order: Order) -> dict:
    order.refresh_from_db()
    return {name: getattr(order, name) for name in PERSONAL_ORDER_FIELDS if name != "external_reference"}


# --- erase_customer -----------------------------------------------------------------------------


def test_erase_customer_removes_the_person_everywhere_and_keeps_the_counts(
    client, jane, someone_else, django_capture_on_commit_callbacks
):
    signed_info = jane.status_url(kind="info", absolute=False)
    assert client.get(signed_info).json()["recipient_name"] == "Jane Shopper"  # now cached
    before = (Order.objects.count(), Tracking.objects.count(), Checkpoint.objects.count())
    status, delivered_at, order_date = jane.status, jane.delivered_at, jane.order_date

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("erase_customer", EMAIL.upper(), stdout=out)

    assert "Erased the personal data of 1 order(s)" in out.getvalue()
    assert set(personal(jane).values()) == {""}
    assert jane.erased_at is not None and jane.country == "US"
    assert (jane.status, jane.delivered_at, jane.order_date) == (status, delivered_at, order_date)
    assert (Order.objects.count(), Tracking.objects.count(), Checkpoint.objects.count()) == before
    assert jane.items.get().sku == "TR-42"
    tracking = jane.trackings.get()
    assert (tracking.pickup_location_name, tracking.pickup_location_address) == ("", "")
    messages = set(Checkpoint.objects.filter(tracking=tracking).values_list("message", flat=True))
    assert messages == {"Out for delivery", "Delivered - Signed for"}
    event = WebhookEvent.objects.get(event_id="evt_trk_1")
    assert event.payload == {} and event.payload_purged_at is not None and event.outcome == "applied"
    assert IdempotencyRecord.objects.get(key="create-2001").response_body is None
    # Signed links stop opening it, and the cached answer with Jane's name is not served again.
    response = client.get(signed_info)
    assert response.status_code == 404 and "Jane" not in response.text
    # Someone else is untouched.
    assert personal(someone_else)["recipient_email"] == "other@example.com"
    assert IdempotencyRecord.objects.get(key="create-3001").response_body is not None


def test_erase_customer_can_be_limited_to_one_account(client, jane):
    other_shop = make_account(name="Other Shop", slug="other")
    elsewhere = make_order(other_shop, order_number="2001", recipient_email=EMAIL)
    call_command("erase_customer", EMAIL, "--account", "other", stdout=io.StringIO())
    assert personal(elsewhere)["recipient_email"] == ""
    assert personal(jane)["recipient_email"] == EMAIL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-address"], "is not an email address"),
        ([EMAIL, "--account", "no-such-shop"], "No account with id or slug"),
    ],
)
def test_erase_customer_refuses_bad_input_and_erases_nothing(jane, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("erase_customer", *args, stdout=io.StringIO())
    assert personal(jane)["recipient_email"] == EMAIL


def test_an_erased_order_takes_no_personal_data_from_later_updates(client, account, jane):
    call_command("erase_customer", EMAIL, stdout=io.StringIO())
    payload = {
        "id": "evt_upd",
        "type": "order.updated",
        "createdAt": "2099-01-01T00:00:00Z",
        "data": {
            "id": "2001",
            "recipient": {"name": "Jane Shopper"},
            "notes": "again",
            "status": "delivered",
        },
    }
    body = json.dumps(payload).encode()
    response = client.post(
        "/webhooks/nimbus/", body, content_type="application/json",
        headers={"Statuspage-Signature": webhooks.sign(account.webhook_secret, body)},
    )  # fmt: skip
    assert response.status_code == 200
    assert set(personal(jane).values()) == {""}


def test_erasing_an_order_retires_its_cached_tracking_number_answers(
    client, jane, django_capture_on_commit_callbacks
):
    url = f"/v4/track/orders/info/?tracking_number={NUMBER}"
    first = client.get(url).json()
    assert first["trackings"][0]["checkpoints"][0]["status_details"] == "Delivered - Signed for"
    version = Order.objects.get(pk=jane.pk).state_version
    with django_capture_on_commit_callbacks(execute=True):
        call_command("erase_customer", EMAIL, stdout=io.StringIO())
    assert Order.objects.get(pk=jane.pk).state_version > version
    assert state_cache.current(jane.pk) == Order.objects.get(pk=jane.pk).state_version


# --- the admin action ----------------------------------------------------------------------------


def test_the_admin_action_asks_first_then_erases(client, jane, someone_else):
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "pw"))
    selection = {"action": "erase_personal_data", "_selected_action": [jane.pk]}
    confirm = client.post("/admin/orders/order/", selection)
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.text
    assert personal(jane)["recipient_email"] == EMAIL
    done = client.post("/admin/orders/order/", {**selection, "confirmed": "yes"}, follow=True)
    assert "Erased the personal data of 1 order" in done.text
    assert set(personal(jane).values()) == {""}
    assert personal(someone_else)["recipient_email"] == "other@example.com"


# --- export_customer -----------------------------------------------------------------------------


def test_export_customer_writes_everything_held_on_the_person(client, jane, someone_else, tmp_path):
    out = io.StringIO()
    call_command("export_customer", EMAIL, stdout=out)
    data = json.loads(out.getvalue())
    assert data["subject"] == {"email": EMAIL, "account": None}
    [order] = data["orders"]
    assert (order["order_number"], order["recipient_name"], order["recipient_phone"]) == (
        "2001",
        "Jane Shopper",
        "+1 512 555 0100",
    )
    assert (order["street1"], order["postal_code"], order["customer_number"]) == (
        "123 Main St",
        "78701",
        "cust_4711",
    )
    assert order["items"][0]["name"] == "Trail Runner Shoe"
    assert order["trackings"][0]["pickup_location_name"] == "Kiosk near Jane"
    messages = [c["message"] for c in order["trackings"][0]["checkpoints"]]
    assert "Delivered - Signed for by : J SHOPPER" in messages
    assert [e["event_id"] for e in data["webhook_events"]] == ["evt_trk_1"]
    assert data["webhook_events"][0]["payload"]["data"]["trackingNumber"] == NUMBER
    assert data["idempotency_records"][0]["key"] == "create-2001"
    assert "other@example.com" not in out.getvalue() and "3001" not in out.getvalue()

    target = tmp_path / "jane.json"
    call_command(
        "export_customer", EMAIL, "--output", str(target), stdout=io.StringIO(), stderr=io.StringIO()
    )
    assert json.loads(target.read_text()) == {
        **data,
        "exported_at": json.loads(target.read_text())["exported_at"],
    }


def test_export_customer_refuses_an_unwritable_output(jane, tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_customer", EMAIL, "--output", str(tmp_path / "missing" / "x.json"))


def test_other_modules_register_what_they_hold(jane):
    held = {"notes": []}
    registry.register(
        "test_notes",
        export=lambda subject: [o.order_number for o in subject.orders],
        erase=lambda subject: held["notes"].append(subject.email) or 1,
    )
    try:
        out = io.StringIO()
        call_command("export_customer", EMAIL, stdout=out)
        assert json.loads(out.getvalue())["test_notes"] == ["2001"]
        call_command("erase_customer", EMAIL, stdout=out)
        assert held["notes"] == [EMAIL] and "test_notes: 1" in out.getvalue()
    finally:
        registry._holders.pop("test_notes")


# --- retention -----------------------------------------------------------------------------------


def test_purge_expired_purges_old_payloads_and_records_only(client, account, jane):
    old = timezone.now() - timedelta(days=91)
    WebhookEvent.objects.filter(event_id="evt_trk_1").update(received_at=old)
    IdempotencyRecord.objects.filter(key="create-2001").update(created_at=old)
    parked = {
        "id": "evt_parked", "type": "tracking.updated", "createdAt": "2025-01-16T15:05:00Z",
        "data": {"trackingNumber": "1Z999AA10000000001", "status": "in_transit"},
    }  # fmt: skip
    assert webhook(client, account, parked).status_code == 202
    WebhookEvent.objects.filter(event_id="evt_parked").update(received_at=old)
    fresh = {**parked, "id": "evt_fresh", "data": {"trackingNumber": NUMBER, "status": "delivered"}}
    webhook(client, account, fresh)

    result = purge_expired()

    assert result["webhook_events"] == 2 and result["idempotency_records"] == 1
    assert result["cutoff"].startswith(str((timezone.now() - timedelta(days=90)).date()))
    assert WebhookEvent.objects.get(event_id="evt_trk_1").payload == {}
    assert WebhookEvent.objects.get(event_id="evt_parked").outcome == "rejected"
    assert WebhookEvent.objects.get(event_id="evt_fresh").payload["data"]["trackingNumber"] == NUMBER
    assert not IdempotencyRecord.objects.filter(key="create-2001").exists()
    assert WebhookEvent.objects.count() == 3  # rows stay: counts, outcomes and "duplicate" answers
    assert webhook(client, account, {**parked, "id": "evt_trk_1"}).json()["status"] == "duplicate"
    assert purge_expired()["webhook_events"] == 0  # nothing twice


@override_settings(RETENTION_DAYS=0)
def test_retention_days_zero_keeps_everything(jane):
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(days=3650))
    result = purge_expired()
    assert result["cutoff"] is None and result["webhook_events"] == result["idempotency_records"] == 0
    assert not any(count for place, count in result.items() if place != "cutoff")
    assert WebhookEvent.objects.get(event_id="evt_trk_1").payload != {}


@override_settings(RETENTION_DAYS=7)
def test_purge_expired_command_uses_retention_days(jane):
    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(days=8))
    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    assert "webhook_events: 1" in out.getvalue()
    assert WebhookEvent.objects.get(event_id="evt_trk_1").payload == {}


def test_purge_expired_takes_now(jane):
    later = timezone.now() + timedelta(days=100)
    assert purge_expired(now=later)["idempotency_records"] == 1


# --- deleted orders ------------------------------------------------------------------------------


def test_a_deleted_orders_idempotency_key_replays_410_never_the_order(client, key, jane):
    jane.delete()
    assert IdempotencyRecord.objects.get(key="create-2001").response_body is None
    response = client.post(
        "/v1/orders", json.dumps({**BODY, "orderNumber": "2001"}), content_type="application/json",
        headers={"X-API-Key": key, "Idempotency-Key": "create-2001"},
    )  # fmt: skip
    assert response.status_code == 410 and response.json()["error"]["code"] == "gone"
    assert "Jane" not in response.text and not Order.objects.filter(order_number="2001").exists()


def test_an_erased_orders_idempotency_key_replays_410(client, key, jane):
    call_command("erase_customer", EMAIL, stdout=io.StringIO())
    response = client.post(
        "/v1/orders", json.dumps({**BODY, "orderNumber": "2001"}), content_type="application/json",
        headers={"X-API-Key": key, "Idempotency-Key": "create-2001"},
    )  # fmt: skip
    assert response.status_code == 410


@pytest.mark.parametrize("delete", ["order", "account"])
def test_deleting_retires_every_cached_answer_at_once(
    client, jane, delete, django_capture_on_commit_callbacks
):
    urls = [
        f"/v4/track/orders/info/?tracking_number={NUMBER}",
        jane.status_url(kind="info", absolute=False),
        f"/v4/track/orders/info-widget/?tracking_number={NUMBER}",
        jane.status_url(kind="widget", absolute=False),
    ]
    assert [client.get(url).status_code for url in urls] == [200] * 4  # cached now
    order_id, version = jane.pk, jane.state_version
    with django_capture_on_commit_callbacks(execute=True):
        (jane if delete == "order" else Account.objects.get(pk=jane.account_id)).delete()
    # A request that read the order just before it went publishes its version late: no revival.
    state_cache.remember(order_id, version)
    assert state_cache.current(order_id) != version
    codes = [client.get(url).status_code for url in urls]
    # 404: nothing matches; 400: the deleted account named in the URL is unknown now.
    assert codes == [404, 404, 404, 404] if delete == "order" else codes == [404, 400, 404, 400]


def test_tracking_numbers_of_other_orders_are_unaffected_by_a_deletion(client, account, jane):
    other = make_order(account, order_number="4001")
    from orders import lifecycle

    tracking = lifecycle.attach_tracking(order=other, tracking_number="1Z999AA10000000002")
    scan(tracking, "in_transit", days_ago(1))
    url = "/v4/track/orders/info/?tracking_number=1Z999AA10000000002"
    assert client.get(url).status_code == 200
    jane.delete()
    assert client.get(url).status_code == 200


def test_deleting_an_order_leaves_no_personal_data_in_payloads_or_records(client, jane, someone_else):
    WebhookEvent.objects.create(
        account=someone_else.account, source="nimbus", event_id="evt_other", event_type="order.updated",
        payload={"data": {"id": "3001", "recipient": {"name": "Other Person"}}}, order_ref="3001",
        outcome="applied",
    )  # fmt: skip
    jane.delete()
    event = WebhookEvent.objects.get(event_id="evt_trk_1")
    assert event.payload == {} and event.payload_purged_at is not None
    assert IdempotencyRecord.objects.get(key="create-2001").response_body is None
    other_event = WebhookEvent.objects.get(event_id="evt_other")
    assert other_event.payload["data"]["recipient"]["name"] == "Other Person"
    other_record = IdempotencyRecord.objects.get(key="create-3001")
    assert other_record.response_body["recipient"]["email"] == "other@example.com"
