"""Outgoing merchant webhooks: a local receiver verifies every request with the Standard Webhooks
reference library, sees retries after 500s, and nothing reaches a private address unless allowed."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from orders.notifications import merchant_webhooks, safe_http, tasks
from orders.notifications.models import WebhookDelivery, WebhookEndpoint

from .conftest import scan, ship

pytestmark = pytest.mark.django_db

ALL_EVENTS = [
    "order.status_changed",
    "tracking.status_changed",
    "tracking.checkpoint_added",
    "tracking.delayed",
    "tracking.exception",
    "notification.sent",
]


class Receiver:
    """A merchant's server on 127.0.0.1: records requests, answers from a script (then 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def endpoint(account, receiver, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True  # the receiver lives on loopback
    return WebhookEndpoint.objects.create(account=account, url=receiver.url, events=ALL_EVENTS)


def verified(request: dict, secret: str) -> dict:
    """The Standard Webhooks reference algorithm (the `standardwebhooks` package) checks it."""
    return Webhook(secret).verify(request["body"], request["headers"])


def test_every_change_arrives_signed_and_verifiable_with_the_reference_library(
    order, endpoint, receiver, commit
):
    with commit():
        tracking = ship(order)
    with commit():
        scan(tracking, "out_for_delivery")
    types = [verified(r, endpoint.secret)["type"] for r in receiver.requests]
    assert sorted(types) == sorted(
        ["order.status_changed", "tracking.checkpoint_added", "tracking.status_changed", "notification.sent",
         "notification.sent"]
    )  # fmt: skip
    changed = next(json.loads(r["body"]) for r in receiver.requests if "tracking.status_changed" in r["body"])
    assert changed["id"] == receiver.requests[types.index("tracking.status_changed")]["headers"]["webhook-id"]
    assert changed["timestamp"].endswith("Z")
    assert changed["data"]["status"] == "out_for_delivery" and changed["data"]["previousStatus"] == "pending"
    assert changed["data"]["order"]["orderNumber"] == order.order_number  # the orders API's shape
    assert changed["data"]["order"]["trackings"][0]["trackingNumber"] == tracking.tracking_number
    headers = receiver.requests[0]["headers"]
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        verified(receiver.requests[0], "whsec_" + "QUJD" * 8)  # another secret does not verify


def test_a_500_is_retried_later_with_the_same_message_id(order, endpoint, receiver, commit):
    endpoint.events = ["order.status_changed"]
    endpoint.save()
    receiver.script = [(500, {}), (503, {})]
    with commit():
        ship(order)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=24) <= first_wait <= timedelta(seconds=36)
    tasks.run_sweep(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_status) == (2, 503)
    assert delivery.next_attempt_at - delivery.last_attempt_at >= timedelta(seconds=72)  # growing
    tasks.run_sweep(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 3, 200)
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    for request in receiver.requests:
        verified(request, endpoint.secret)  # fresh timestamps, valid signatures on every retry


def test_retries_spread_over_about_three_days_then_stop(order, endpoint, receiver, commit):
    endpoint.events = ["order.status_changed"]
    endpoint.save()
    receiver.script = [(500, {})] * 40
    with commit():
        ship(order)
    delivery = WebhookDelivery.objects.get()
    while delivery.status == "pending":
        tasks.run_sweep(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
    span = delivery.last_attempt_at - delivery.first_attempt_at
    assert delivery.status == "failed"
    assert timedelta(hours=72) <= span <= timedelta(hours=90)
    assert 10 <= delivery.attempts <= 20


def test_nothing_is_sent_to_a_private_address_unless_allowed(order, endpoint, receiver, commit, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = False
    with commit():
        ship(order)
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.filter(event_type="order.status_changed").get()
    assert delivery.status == "blocked" and "non-public address" in delivery.last_error
    for host in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]", "localhost", "192.168.0.10"):
        with pytest.raises(safe_http.BlockedAddress), safe_http.client(allow_private=False) as http:
            http.post(f"http://{host}:9/")
    assert safe_http.is_public("93.184.216.34")


def test_redirects_are_not_followed(order, endpoint, receiver, commit):
    endpoint.events = ["order.status_changed"]
    endpoint.save()
    receiver.script = [(302, {"Location": receiver.url + "/elsewhere"})]
    with commit():
        ship(order)
    assert [r["path"] for r in receiver.requests] == ["/hooks"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.response_status == 302
    assert "Redirects are not followed" in delivery.last_error


def test_an_endpoint_gets_only_the_event_types_it_subscribed_to(order, endpoint, receiver, commit):
    endpoint.events = ["tracking.exception"]
    endpoint.save()
    with commit():
        tracking = ship(order)
    with commit():
        scan(tracking, "out_for_delivery", when=timezone.now() - timedelta(hours=1))
    assert receiver.requests == []
    with commit():
        scan(tracking, "exception")
    assert [verified(r, endpoint.secret)["type"] for r in receiver.requests] == ["tracking.exception"]


def test_a_rotated_secret_signs_alongside_the_old_one_until_the_overlap_ends(
    order, endpoint, receiver, commit
):
    endpoint.events = ["order.status_changed"]
    endpoint.save()
    old = endpoint.secret
    new = merchant_webhooks.rotate_secret(endpoint)
    assert new != old and new.startswith("whsec_")
    with commit():
        ship(order)
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    verified(request, old)
    verified(request, new)
    later = timezone.now() + timedelta(hours=25)
    assert endpoint.signing_secrets(later) == [new]


def test_an_endpoint_failing_for_days_is_disabled_and_the_merchant_told(
    order, endpoint, receiver, commit, settings
):
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 2
    endpoint.events = ["order.status_changed"]
    endpoint.alert_email = "ops@acme.test"
    endpoint.save()
    receiver.script = [(500, {})] * 40
    with commit():
        ship(order)
    delivery = WebhookDelivery.objects.get()
    while delivery.status == "pending":
        tasks.run_sweep(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at and "2 days" in endpoint.disabled_reason
    assert delivery.status == "failed" and delivery.last_error == "The endpoint is disabled."
    alert = [m for m in mail.outbox if m.to == ["ops@acme.test"]]
    assert len(alert) == 1 and endpoint.url in alert[0].subject
    attempts = len(receiver.requests)
    with commit():
        ship(order, "123456789012", carrier="fedex")
    assert len(receiver.requests) == attempts  # nothing more to a disabled endpoint


def test_resend_delivers_a_failed_delivery_again(order, endpoint, receiver, commit):
    endpoint.events = ["order.status_changed"]
    endpoint.save()
    receiver.script = [(500, {})]
    with commit():
        ship(order)
    delivery = WebhookDelivery.objects.get()
    assert merchant_webhooks.resend(delivery) == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("sent", 2, 2)


def test_webhook_urls_must_be_https_outside_debug(account, settings):
    endpoint = WebhookEndpoint(account=account, url="http://shop.example.com/hooks", events=ALL_EVENTS)
    settings.DEBUG = False
    with pytest.raises(ValidationError, match="https"):
        endpoint.full_clean()
    settings.DEBUG = True
    endpoint.full_clean()
    with pytest.raises(ValidationError):
        WebhookEndpoint(account=account, url="https://shop.example.com/", events=["order.nope"]).full_clean()
