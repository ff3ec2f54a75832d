"""Redis is an optimisation, never a dependency: with it down, frozen or losing a write, pages and
APIs answer from the database, guesses wait (503 + Retry-After), signed links and API keys keep
working, webhooks are stored and acknowledged, and changes still take effect within the bound.
Also: strangers cannot fill the cache, and /healthz and /readyz.

The real outage (our own Redis and PostgreSQL, stopped, frozen and restarted under load) is
tests/faults/; here a port nobody listens on and a server that never answers stand in.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.test import override_settings

from orders import apikeys, lifecycle, webhooks
from orders.cache import answers as answer_cache
from orders.cache import versions as state_cache
from orders.models import Order

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

DEAD = "redis://127.0.0.1:1/0"  # connection refused at once
NUMBER = "1Z999AA10123456784"
WIDGET = "/v4/track/orders/info-widget/"
INFO = "/v4/track/orders/info/"


def redis_at(url: str):
    config = {"default": {"BACKEND": "statuspage.redis_cache.RedisCache", "LOCATION": url}}
    return override_settings(CACHES=config, RATELIMIT_REDIS_URL=url)


@pytest.fixture
def redis_down():
    with redis_at(DEAD):
        yield


class Blackhole:
    """A Redis that accepts connections and never answers, like one stopped with SIGSTOP."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self):
        self.server.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def redis_frozen(settings):
    hole = Blackhole()
    settings.CACHE_OUTAGE_SECONDS = 60
    with redis_at(f"redis://127.0.0.1:{hole.port}/0"):
        yield hole
    hole.close()


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001")
    tracking = ship(order, NUMBER)
    scan(tracking, "in_transit", days_ago(1), location="Memphis, TN")
    return order


def signed(order: Order, kind: str) -> str:
    return order.status_url(kind=kind, absolute=False)


# --- Redis down: the database answers ----------------------------------------------------------


def test_pages_and_apis_answer_from_the_database_with_redis_down(client, shipped, redis_down):
    page = client.get(signed(shipped, "page"))
    assert page.status_code == 200 and b"Trail Runner Shoe" in page.content
    limited = client.get("/track/?" + urlencode({"tracking_number": NUMBER}))
    assert limited.status_code == 200 and b"Memphis" in limited.content
    info = client.get(signed(shipped, "info"))
    assert info.status_code == 200 and info.json()["access"] == "full"
    widget = client.get(signed(shipped, "widget"))
    assert widget.status_code == 200 and widget["Content-Type"] == "image/png"
    again = client.get(signed(shipped, "widget"))  # nothing was cached, so it is drawn again
    assert again.status_code == 200 and again.content == widget.content


def test_api_keys_keep_working_with_the_counters_down(client, shipped, redis_down):
    key = apikeys.create_key(account=shipped.account, name="storefront").secret
    response = client.get(INFO, {"order_number": "1001"}, HTTP_X_API_KEY=key)
    assert response.status_code == 200 and response.json()["access"] == "full"


def test_guesses_wait_with_503_and_retry_after_when_the_counters_are_down(client, shipped, redis_down):
    guess = {"order_number": "1001", "recipient_email": shipped.recipient_email}
    page = client.get("/track/?" + urlencode(guess))
    assert page.status_code == 503 and int(page["Retry-After"]) > 0
    assert b"Order status unavailable" in page.content and b"<html" in page.content
    form = client.post("/", {"mode": "order", "order_number": "1001", "verification": "78701"})
    assert form.status_code == 503 and int(form["Retry-After"]) > 0
    api = client.get(INFO, guess)
    assert api.status_code == 503 and int(api["Retry-After"]) > 0
    assert api.json()["error"]["code"] == "service_unavailable"
    widget = client.get(WIDGET, guess)
    assert widget.status_code == 503 and widget["Content-Type"] == "image/png" and widget["Retry-After"]
    links = client.post("/", {"mode": "email", "email": shipped.recipient_email})
    assert links.status_code == 503 and int(links["Retry-After"]) > 0  # sending mail is not free


def test_a_webhook_is_stored_applied_and_acknowledged_with_redis_down(client, account, redis_down):
    account.webhook_secret = "whsec_test"
    account.save()
    order = make_order(account, order_number="ord_2001")
    body = json.dumps(
        {
            "id": "evt_down_1",
            "type": "order.fulfilled",
            "createdAt": "2025-01-16T10:00:00Z",
            "data": {"orderId": "ord_2001", "trackingNumber": NUMBER},
        }
    ).encode()
    headers = {"Statuspage-Signature": webhooks.sign(account.webhook_secret, body)}
    response = client.post("/webhooks/nimbus/", body, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.trackings.get().tracking_number == NUMBER


def test_a_frozen_redis_costs_one_timeout_per_outage_not_one_per_call(client, shipped, redis_frozen):
    assert client.get(signed(shipped, "widget")).status_code == 200
    opened = len(redis_frozen.connections)
    assert opened >= 1
    for kind in ("widget", "info", "page"):
        assert client.get(signed(shipped, kind)).status_code == 200
    assert len(redis_frozen.connections) == opened  # skipped during the outage: no new attempt


# --- a change that could not be published ------------------------------------------------------


def test_a_revocation_that_was_never_published_takes_effect_within_the_bound(
    client, shipped, redis_cache, settings, django_capture_on_commit_callbacks
):
    url = signed(shipped, "widget")
    assert client.get(url).status_code == 200  # cached, with the order's state version
    key = state_cache.state_key(shipped.pk)
    ttl = redis_cache._cache.get_client().ttl(redis_cache.make_and_validate_key(key))
    assert 0 < ttl <= settings.CACHE_STATE_SECONDS  # the published version cannot outlive the bound
    with django_capture_on_commit_callbacks(execute=False):  # the publication is lost
        lifecycle.revoke_links(shipped)
    assert client.get(url).status_code == 200  # still the cached answer: nothing told the cache
    redis_cache.delete(key)  # what Redis does after CACHE_STATE_SECONDS
    assert client.get(url).status_code == 404  # the version is re-read from the database
    assert redis_cache.get(key) == Order.objects.get(pk=shipped.pk).state_version


# --- strangers cannot fill the cache -----------------------------------------------------------


def answer_keys() -> list[str]:
    return [key for key in caches["default"]._cache if ":answer:" in key and not key.endswith(":tag")]


def png_keys() -> list[str]:
    return [key for key in caches["default"]._cache if ":widget-png:" in key]


def test_unknown_parameters_and_unsupported_languages_create_no_cache_entries(client, shipped):
    base = signed(shipped, "widget")
    assert client.get(base).status_code == 200
    assert len(answer_keys()) == 1
    for n in range(10):
        assert client.get(f"{base}&utm_source=x{n}").status_code == 200
        assert client.get(f"{base}&lang=zz{n}").status_code == 200
        assert client.get(f"{signed(shipped, 'info')}&junk={n}").status_code == 200
    assert len(answer_keys()) == 3  # the widget, its lang=(unsupported) variant, the info answer


def test_an_order_caches_at_most_its_budget_of_answers_and_images(client, shipped, settings):
    settings.CACHE_ANSWERS_PER_ORDER = 3
    base = signed(shipped, "widget")
    for width in range(400, 410):
        response = client.get(f"{base}&width={width}")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert len(answer_keys()) <= 3 and len(png_keys()) <= 3


# --- health --------------------------------------------------------------------------------------


def test_healthz_asks_nothing_of_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_database_cache_and_counters(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == body["cache"]["status"] == body["counters"]["status"] == "ok"


def test_readyz_with_redis_down_is_degraded_but_ready(client, redis_down):
    response = client.get("/readyz")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "degraded" and body["database"]["status"] == "ok"
    assert body["cache"]["status"] == body["counters"]["status"] == "unavailable"


def test_readyz_reports_the_counters_eviction_policy(client, redis_counters):
    body = client.get("/readyz").json()
    assert body["counters"]["store"] == "redis" and body["counters"]["maxmemoryPolicy"]


def test_with_redis_up_answers_are_cached_with_their_version(client, shipped, redis_cache):
    client.get(signed(shipped, "widget"))
    version = Order.objects.get(pk=shipped.pk).state_version
    assert redis_cache.get(state_cache.state_key(shipped.pk)) == version
    assert answer_cache._local.entries  # and kept locally, rechecked against Redis
