"""The fast lane for the `/v4/track/` answers (orders.fastlane): the info API and the widget skip
the middleware they do not use, and keep every behaviour they had behind the full chain — request
ids, security headers, host validation, the 400 for NUL, the 503 while the database is away,
translated API errors, staff sessions and API key revocation within the documented bound."""

from __future__ import annotations

import json
import re
import time
from io import BytesIO

import pytest
from django.db import OperationalError, connection
from django.test import Client
from PIL import Image

from orders import apikeys
from orders.api import auth

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

INFO = "/v4/track/orders/info/"
WIDGET = "/v4/track/orders/info-widget/"
NUMBER = "1Z999AA10123456784"
SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
    "X-Robots-Tag",
)


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001")
    tracking = ship(order, NUMBER)
    scan(tracking, "info_received", days_ago(3), location="Memphis, TN")
    scan(tracking, "in_transit", days_ago(2), location="Dallas, TX")
    scan(tracking, "in_transit", days_ago(1), location="Hub 7", status_code="INTERNAL", is_hidden=True)
    return order


@pytest.fixture
def key(account) -> str:
    return apikeys.create_key(account=account, name="storefront").secret


def answers(shipped) -> dict[str, str]:
    """One URL of each kind of answer that takes the lane."""
    return {
        "info by tracking number": f"{INFO}?tracking_number={NUMBER}",
        "info by signed link": shipped.status_url(kind="info", absolute=False),
        "widget": shipped.status_url(kind="widget", absolute=False),
    }


def with_session_cookie(client: Client) -> Client:
    """A browser that carries a session cookie (not signed in): it takes the full chain."""
    client.cookies["sessionid"] = "no-such-session"
    return client


@pytest.mark.parametrize("kind", ["info by tracking number", "info by signed link", "widget"])
def test_the_lane_keeps_every_security_header_and_the_body(client, shipped, kind):
    url = answers(shipped)[kind]
    fast = client.get(url, secure=True)
    fast_again = client.get(url, secure=True)  # served from the answer cache
    full = with_session_cookie(Client()).get(url, secure=True)
    assert fast.status_code == fast_again.status_code == full.status_code == 200
    assert fast.content == fast_again.content == full.content
    for name in (*SECURITY_HEADERS, "Strict-Transport-Security", "Content-Length"):
        assert fast[name] == fast_again[name] == full[name], name
    assert fast["X-Frame-Options"] == "DENY" and fast["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in fast and "Cookie" not in fast.get("Vary", "")


def test_every_answer_has_a_request_id_and_keeps_a_callers(client, shipped):
    url = answers(shipped)["info by tracking number"]
    first, second = client.get(url), client.get(url)
    assert first["X-Request-Id"].startswith("req_") and first["X-Request-Id"] != second["X-Request-Id"]
    kept = client.get(url, headers={"X-Request-Id": "storefront-42:abc"})
    assert kept["X-Request-Id"] == "storefront-42:abc"
    error = client.get(f"{INFO}?tracking_number=1Z-99!", headers={"X-Request-Id": "storefront-43:abc"})
    assert error.json()["error"]["requestId"] == error["X-Request-Id"] == "storefront-43:abc"


def test_a_callers_request_id_with_a_line_break_is_replaced_not_a_500(client, shipped):
    url = answers(shipped)["info by tracking number"]
    response = client.get(url, headers={"X-Request-Id": "storefront-42:abc\n"})
    assert response.status_code == 200 and response["X-Request-Id"].startswith("req_")


@pytest.mark.parametrize("path", [INFO, WIDGET])
def test_an_unknown_host_is_still_refused(client, shipped, path):
    response = client.get(f"{path}?tracking_number={NUMBER}", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_a_nul_is_a_400_in_each_answers_own_shape(client, shipped):
    info = client.get(INFO, {"tracking_number": "1Z\x00"})
    assert info.status_code == 400 and info.json()["error"]["details"]["field"] == "tracking_number"
    widget = client.get(WIDGET, {"tracking_number": "1Z\x00"})
    assert widget.status_code == 400 and widget["Content-Type"] == "image/png"
    assert Image.open(BytesIO(widget.content)).format == "PNG"


@pytest.fixture
def database_away():
    """Every query fails as it does while PostgreSQL restarts (tests/faults does it for real)."""

    def refuse(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        yield


def test_with_the_database_away_the_info_api_answers_a_json_503(client, shipped, key, database_away):
    response = client.get(INFO, {"order_number": "1001"}, headers={"X-API-Key": key})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response["X-Request-Id"].startswith("req_")


def test_with_the_database_away_the_widget_answers_a_png_503(client, shipped, database_away):
    response = client.get(WIDGET, {"tracking_number": NUMBER})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert Image.open(BytesIO(response.content)).format == "PNG"


def test_a_cached_answer_needs_no_database(client, shipped, django_assert_num_queries):
    url = answers(shipped)["info by tracking number"]
    expected = client.get(url).content
    with django_assert_num_queries(0):
        assert client.get(url).content == expected


def test_info_api_errors_still_speak_the_browsers_language(client, shipped):
    response = client.get(f"{INFO}?tracking_number=1Z-99!", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    reason = response.json()["error"]["details"]["reason"]
    assert reason == "Geben Sie eine Sendungsnummer nur aus Buchstaben und Ziffern ein."
    assert (response["Content-Language"], response["Vary"]) == ("de", "Accept-Language")


def test_head_and_post_answer_as_before(shipped):
    client = Client(enforce_csrf_checks=True)
    head = client.head(f"{INFO}?tracking_number={NUMBER}")
    assert head.status_code == 405 and head["Allow"] == "GET"
    assert client.head(f"{WIDGET}?tracking_number={NUMBER}").status_code == 200
    assert client.post(f"{WIDGET}?tracking_number={NUMBER}").status_code == 403  # the CSRF check


def test_a_staff_session_still_sees_hidden_events(client, shipped, admin_user):
    url = answers(shipped)["info by tracking number"]
    anonymous = client.get(url).json()
    client.force_login(admin_user)
    staff = client.get(url).json()
    assert (anonymous["access"], staff["access"]) == ("limited", "full")
    assert "Hub 7" in json.dumps(staff) and "Hub 7" not in json.dumps(anonymous)
    client.logout()
    assert client.get(url).json() == anonymous


def test_a_staff_sessions_widget_stays_private(client, shipped, admin_user):
    client.force_login(admin_user)
    response = client.get(WIDGET, {"order_number": "1001"})
    assert (response.status_code, response["Cache-Control"]) == (200, "private, no-cache")


# --- API keys: one cache round trip at most, revocation within the bound -----------------------


def test_a_remembered_answer_counts_the_key_once_per_call(client, shipped, key, settings):
    settings.API_KEY_RATE = "2/m"
    params, headers = {"order_number": "1001"}, {"X-API-Key": key}
    first = client.get(INFO, params, headers=headers)
    remembered = client.get(INFO, params, headers=headers)
    assert first.status_code == remembered.status_code == 200 and first.content == remembered.content
    refused = client.get(INFO, params, headers=headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"


def test_a_key_counted_in_blocks_still_gets_exactly_its_limit(client, shipped, key, settings):
    """200/m is reserved from the shared counters two calls at a time: one worker serves its
    blocks to the last call, then refuses."""
    settings.API_KEY_RATE = "200/m"
    params, headers = {"order_number": "1001"}, {"X-API-Key": key}
    statuses = [client.get(INFO, params, headers=headers).status_code for _ in range(200)]
    assert statuses == [200] * 200
    refused = client.get(INFO, params, headers=headers)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_a_wrong_key_is_refused_even_for_a_remembered_answer(client, shipped, key):
    params = {"tracking_number": NUMBER}
    assert client.get(INFO, params).status_code == 200  # remembered for callers without a key
    wrong = client.get(INFO, params, headers={"X-API-Key": key[:-1] + ("A" if key[-1] != "A" else "B")})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"


def test_a_worker_asks_nothing_for_a_key_it_confirmed_within_the_window(account, key, settings, monkeypatch):
    settings.CACHE_RECHECK_SECONDS = 5
    assert apikeys.verify(key) is not None
    asked = []
    monkeypatch.setattr(apikeys.cache, "get", lambda *args, **kwargs: asked.append(args))
    assert apikeys.verify(key).account == account
    assert asked == []


def test_a_key_revoked_by_another_worker_stops_within_the_recheck_window(account, key, settings, monkeypatch):
    """Another worker's revocation updates the database and the shared cache, not this process's
    copy: the copy is trusted for at most CACHE_RECHECK_SECONDS."""
    settings.CACHE_RECHECK_SECONDS = 5
    api_key = apikeys.verify(key)
    assert api_key is not None
    type(api_key).objects.filter(pk=api_key.pk).update(revoked_at=days_ago(0))
    apikeys.cache.delete(apikeys._cache_key(api_key.key_hash))  # what revoke() did over there
    assert apikeys.verify(key) is not None  # within the window: the confirmed copy
    later = time.monotonic() + 6
    monkeypatch.setattr(apikeys.time, "monotonic", lambda: later)
    assert apikeys.verify(key) is None


def test_a_key_revoked_in_this_worker_stops_at_once(client, shipped, key, settings):
    settings.CACHE_RECHECK_SECONDS = 5
    params, headers = {"order_number": "1001"}, {"X-API-Key": key}
    assert client.get(INFO, params, headers=headers).status_code == 200
    assert client.get(INFO, params, headers=headers).status_code == 200  # a remembered answer
    apikeys.revoke(apikeys.verify(key))
    assert client.get(INFO, params, headers=headers).status_code == 401


def test_a_bearer_token_is_the_same_key(client, shipped, key):
    params = {"order_number": "1001"}
    with_header = client.get(INFO, params, headers={"X-API-Key": key})
    bearer = client.get(INFO, params, headers={"Authorization": f"Bearer {key}"})
    assert bearer.status_code == 200 and bearer.content == with_header.content
    assert auth.presented_key(bearer.wsgi_request) == key


# --- the page lane: shopper pages without a session cookie ---------------------------------------

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def pages(shipped) -> dict[str, str]:
    signed = shipped.status_url(absolute=False)
    return {
        "lookup form": "/?mode=tracking",
        "signed status page": signed,
        "limited page": f"/track/?tracking_number={NUMBER}",
        "status partial": signed.replace("/track/", "/track/status/") + "&open=1",
        "timeline partial": signed.replace("/track/", "/track/timeline/") + "&shipment=1",
    }


@pytest.mark.parametrize(
    "kind", ["lookup form", "signed status page", "limited page", "status partial", "timeline partial"]
)
def test_a_page_in_the_lane_says_what_the_full_chain_says(shipped, kind):
    url = pages(shipped)[kind]
    fast = Client().get(url, secure=True, HTTP_ACCEPT_LANGUAGE="de")
    full = with_session_cookie(Client()).get(url, secure=True, HTTP_ACCEPT_LANGUAGE="de")
    assert fast.status_code == full.status_code == 200
    assert CSRF_FIELD.sub(b"", fast.content) == CSRF_FIELD.sub(b"", full.content)
    compared = (*SECURITY_HEADERS, "Strict-Transport-Security", "Content-Security-Policy", "Content-Language")
    for name in compared:
        assert fast.get(name) == full.get(name), name
    assert varies(fast) == varies(full) and "sessionid" not in fast.cookies


def varies(response) -> set[str]:
    """The Vary fields but Cookie (the full chain's session may add it)."""
    return {name.strip() for name in response.get("Vary", "").split(",")} - {"Cookie"}


def test_a_page_from_the_lane_gives_a_csrf_token_its_form_can_post_with(shipped):
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get("/track/", {"tracking_number": NUMBER})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)[1].decode()
    assert visitor.cookies["csrftoken"].value
    form = {"tracking_number": NUMBER, "verification": "78701"}
    refused = Client(enforce_csrf_checks=True).post("/track/", form)
    assert refused.status_code == 403  # a POST takes the full chain: the CSRF check still stands
    posted = visitor.post("/track/", {**form, "csrfmiddlewaretoken": token})
    assert posted.status_code == 303


def test_a_staff_session_still_sees_hidden_events_on_the_page(client, shipped, admin_user):
    url = pages(shipped)["limited page"] + "&all=1"
    assert b"Hub 7" not in client.get(url).content
    client.force_login(admin_user)
    assert b"Hub 7" in client.get(url).content


def test_with_the_database_away_a_page_in_the_lane_is_a_503(client, shipped, database_away):
    response = client.get("/track/", {"order_number": "1001", "email": "x@example.com"})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert response["X-Request-Id"].startswith("req_")
