"""Odd input found in review: Unicode digits, non-ASCII signature headers, non-finite JSON
numbers. Each must answer a clear 4xx (or its usual not-found answer) and write nothing."""

import json
import time

import pytest

from orders import webhooks
from orders.models import WebhookEvent

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # "²".isdigit() is True, int("²") raises


@pytest.fixture
def tracked(account):
    order = make_order(account, order_number="1001")
    scan(ship(order, "1Z999AA10123456784"), "in_transit", days_ago(1))
    return order


@pytest.mark.parametrize(
    "path",
    [
        f"/track/?account={SUPERSCRIPT_TWO}&order_number=1001",
        f"/?account={SUPERSCRIPT_TWO}",
        f"/track/timeline/?tracking_number=1Z999AA10123456784&shipment={SUPERSCRIPT_TWO}",
        f"/v4/track/orders/info/?account={SUPERSCRIPT_TWO}&order_number=1001",
        f"/v4/track/orders/info-widget/?account={SUPERSCRIPT_TWO}&order_number=1001",
        "/track/?account=99999999999999999999999&order_number=1001",
    ],
)
def test_unicode_digits_in_numeric_parameters_are_a_client_error(client, tracked, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)


def test_an_unreadable_expanded_timeline_hint_is_ignored(client, tracked):
    """`open` only remembers which timelines the shopper expanded; nonsense there is dropped."""
    response = client.get(f"/track/status/?tracking_number=1Z999AA10123456784&open={SUPERSCRIPT_TWO}&open=1")
    assert response.status_code == 200


def test_unicode_digit_account_in_the_verify_form_is_a_client_error(client, tracked):
    response = client.post("/track/", {"account": SUPERSCRIPT_TWO, "order_number": "1001", "factor": "78701"})
    assert 400 <= response.status_code < 500


def _post_webhook(client, account, body: bytes, signature: str, query: str = ""):
    return client.post(
        f"/webhooks/nimbus/{query}", body, content_type="application/json",
        headers={"Statuspage-Signature": signature},
    )  # fmt: skip


def test_webhook_account_given_in_unicode_digits_is_a_client_error(client, account):
    body = b'{"id": "evt_1", "type": "order.cancelled", "data": {"orderId": "X1"}}'
    response = _post_webhook(
        client, account, body, webhooks.sign(account.webhook_secret, body), f"?account={SUPERSCRIPT_TWO}"
    )
    assert response.status_code == 400 and not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "header", [f"t={SUPERSCRIPT_TWO},v1=ab", "t={now},v1=\u00e9\u00e9", "t={now},v1=" + "z" * 64]
)
def test_non_ascii_or_malformed_signature_headers_are_401(client, account, header):
    body = b'{"id": "evt_1", "type": "order.cancelled", "data": {"orderId": "X1"}}'
    response = _post_webhook(client, account, body, header.format(now=int(time.time())))
    assert response.status_code == 401 and not WebhookEvent.objects.exists()


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_in_a_signed_webhook_are_400(client, account, number):
    body = b'{"id": "evt_n", "type": "order.cancelled", "data": {"orderId": "X1", "x": ' + number + b"}}"
    response = _post_webhook(client, account, body, webhooks.sign(account.webhook_secret, body))
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert not WebhookEvent.objects.exists()
    json.loads(response.content)  # and the error itself is valid JSON


@pytest.mark.parametrize(
    "command",
    [
        ("create_api_key", SUPERSCRIPT_TWO, "storefront"),
        ("signed_link", "1001", "--account", SUPERSCRIPT_TWO),
    ],
)
def test_commands_refuse_an_account_in_unicode_digits_clearly(tracked, command):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No account with id or slug"):
        call_command(*command)
