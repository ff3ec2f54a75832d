"""Shopper pages answered again from the cache: byte for byte what a fresh render says, retired by
any change of the order or its shop, never for a guess, a staff session or a stranger's junk, and
never a reason for a 500 when Redis is away."""

from __future__ import annotations

import re
import time
import types
from http.cookies import Morsel
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, _unmask_cipher_token
from django.test import Client, override_settings
from django.utils.http import parse_http_date

from orders import lifecycle
from orders.cache import answers as answer_cache
from orders.http_headers import set_default, vary_on
from orders.models import StateMessage
from orders.privacy import erasure
from orders.views.cached_pages import send_csrf_cookie

from .conftest import days_ago, make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

NUMBER = "1Z999AA10123456784"
HTMX = {"HTTP_HX_REQUEST": "true"}
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
EXPIRES = re.compile(r"expires=[^;]+; ")
# Headers a fresh and a cached page must share (Expires and Date name the moment of the answer).
COMPARED = ("Content-Type", "Content-Language", "Vary", "Cache-Control", "Referrer-Policy", "X-Robots-Tag")


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001")
    for n, number in enumerate((NUMBER, "9400111899223197428490")):
        tracking = ship(order, number)
        for hour in range(8):
            scan(tracking, "in_transit", days_ago(2 - hour / 10), location=f"Hub {n}-{hour}")
    return order


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a change and what it does once committed (publishing the order's new state)."""

    def run(change, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return change(*args, **kwargs)

    return run


def page_keys() -> list[str]:
    return [key for key in caches["default"]._cache if ":page:" in key and not key.endswith(":tag")]


def signed_page(order, **extra) -> str:
    return order.status_url(absolute=False, **extra)


def limited_page(**extra) -> str:
    return "/track/?" + urlencode({"tracking_number": NUMBER, **extra})


def headers(response) -> dict[str, str]:
    return {name: response.get(name) for name in COMPARED}


def without_csrf(response) -> bytes:
    return CSRF.sub(b"", response.content)


# --- the same bytes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        lambda order: signed_page(order),
        lambda order: signed_page(order, all="1", lang="de"),
        lambda order: signed_page(order).replace("/track/", "/track/status/") + "&open=2",
        lambda order: signed_page(order).replace("/track/", "/track/timeline/") + "&shipment=1",
    ],
    ids=["page", "expanded-german", "status-partial", "timeline-partial"],
)
def test_a_signed_page_is_served_again_byte_for_byte_without_the_database(
    client, shipped, url, django_assert_num_queries
):
    fresh = client.get(url(shipped))
    assert fresh.status_code == 200
    with django_assert_num_queries(0):
        cached = client.get(url(shipped))
    assert cached.content == fresh.content
    assert headers(cached) == headers(fresh)
    assert "no-store" in cached["Cache-Control"] and "private" in cached["Cache-Control"]


def test_the_signed_page_keeps_its_no_referrer_policy_and_security_headers_from_the_cache(client, shipped):
    client.get(signed_page(shipped))
    cached = client.get(signed_page(shipped))
    assert cached["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in cached["Content-Security-Policy"]
    assert cached["X-Frame-Options"] == "DENY" and cached["Content-Language"] == "en"


def test_the_limited_page_is_served_again_with_this_visitors_own_csrf_token(
    client, shipped, django_assert_num_queries
):
    first = client.get(limited_page())
    assert first.status_code == 200 and b"Hub 0-7" in first.content
    visitor = Client(enforce_csrf_checks=True)
    with django_assert_num_queries(0):
        cached = visitor.get(limited_page())
    assert without_csrf(cached) == without_csrf(first) and headers(cached) == headers(first)
    token = CSRF.search(cached.content)[1].decode()
    assert token != CSRF.search(first.content)[1].decode()
    assert _unmask_cipher_token(token) == visitor.cookies["csrftoken"].value  # this visitor's secret
    posted = visitor.post(
        "/track/", {"tracking_number": NUMBER, "verification": "78701", "csrfmiddlewaretoken": token}
    )
    assert posted.status_code == 303  # the form works: the token is the visitor's own


def test_the_lookup_form_is_served_again_per_visitor_language_and_shop(client, shipped):
    english = client.get("/")
    visitor = Client(enforce_csrf_checks=True)
    again = visitor.get("/")
    assert without_csrf(again) == without_csrf(english)
    assert _unmask_cipher_token(CSRF.search(again.content)[1].decode()) == visitor.cookies["csrftoken"].value
    german = visitor.get("/", HTTP_ACCEPT_LANGUAGE="de")
    assert german["Content-Language"] == "de" and b"Wo ist meine Bestellung" in german.content
    assert visitor.get("/?mode=tracking").content != again.content
    posted = visitor.post(
        "/",
        {"mode": "order", "order_number": "1001", "verification": "78701"},
        HTTP_X_CSRFTOKEN=CSRF.search(again.content)[1].decode(),
    )
    assert posted.status_code == 303


def test_a_returning_visitor_keeps_their_csrf_cookie_and_gets_a_fresh_mask_each_time(shipped):
    visitor = Client(enforce_csrf_checks=True)
    visitor.get("/")
    secret = visitor.cookies["csrftoken"].value
    tokens = [CSRF.search(visitor.get("/").content)[1].decode() for _ in range(3)]
    assert visitor.cookies["csrftoken"].value == secret
    assert len(set(tokens)) == 3 and {_unmask_cipher_token(token) for token in tokens} == {secret}


# --- what decides a page is in its key ----------------------------------------------------------


def test_language_expanded_cards_and_htmx_each_have_their_own_page(client, shipped):
    pages = {
        "plain": client.get(signed_page(shipped)),
        "german": client.get(signed_page(shipped, lang="de")),
        "all": client.get(signed_page(shipped, all="1")),
        "htmx": client.get(signed_page(shipped).replace("/track/", "/track/status/"), **HTMX),
        "open": client.get(signed_page(shipped).replace("/track/", "/track/status/") + "&open=1", **HTMX),
    }
    again = {
        "plain": client.get(signed_page(shipped)),
        "german": client.get(signed_page(shipped, lang="de")),
        "all": client.get(signed_page(shipped, all="1")),
        "htmx": client.get(signed_page(shipped).replace("/track/", "/track/status/"), **HTMX),
        "open": client.get(signed_page(shipped).replace("/track/", "/track/status/") + "&open=1", **HTMX),
    }
    assert {name: page.content for name, page in again.items()} == {
        name: page.content for name, page in pages.items()
    }
    assert len({page.content for page in pages.values()}) == len(pages)
    assert pages["german"]["Content-Language"] == "de" and b"Paket" in pages["german"].content
    assert pages["all"].content.count(b'<li class="event') == 16
    assert pages["plain"].content.count(b'<li class="event') == 6
    assert pages["open"].content.count(b'<li class="event') == 8 + 3


def test_the_limited_page_follows_the_browsers_language(client, shipped):
    english = client.get(limited_page(), HTTP_ACCEPT_LANGUAGE="en")
    german = client.get(limited_page(), HTTP_ACCEPT_LANGUAGE="de")
    assert english["Content-Language"] == "en" and german["Content-Language"] == "de"
    assert without_csrf(client.get(limited_page(), HTTP_ACCEPT_LANGUAGE="de")) == without_csrf(german)
    assert without_csrf(english) != without_csrf(german)


# --- a change shows at once ---------------------------------------------------------------------


def test_a_new_checkpoint_retires_the_cached_page_and_its_partials(client, shipped, commit):
    urls = [signed_page(shipped), limited_page(), signed_page(shipped).replace("/track/", "/track/status/")]
    for url in urls:
        assert b"Loaded on the van" not in client.get(url).content
        client.get(url)  # now from the cache
    tracking = shipped.trackings.get(tracking_number=NUMBER)
    commit(scan, tracking, "out_for_delivery", days_ago(0), message="Loaded on the van")
    for url in urls:
        assert b"Loaded on the van" in client.get(url).content


def test_a_revoked_link_is_refused_at_once_even_from_the_cache(client, shipped, commit):
    url = signed_page(shipped)
    assert client.get(url).status_code == 200 and client.get(url).status_code == 200
    commit(lifecycle.revoke_links, shipped)
    response = client.get(url)
    assert response.status_code == 410 and b"Trail Runner" not in response.content


def test_an_erased_order_is_never_shown_from_the_cache(client, shipped, commit):
    url = signed_page(shipped)
    client.get(url)
    assert b"Jane Shopper" in client.get(url).content
    commit(erasure.erase_orders, [shipped])
    response = client.get(url)
    assert response.status_code == 410 and b"Jane Shopper" not in response.content


def test_a_deleted_orders_cached_pages_are_gone(client, shipped, commit):
    url = signed_page(shipped)
    client.get(url), client.get(limited_page())
    commit(shipped.delete)
    gone = client.get(url)
    assert gone.status_code == 404 and b"Jane Shopper" not in gone.content
    assert client.get(limited_page()).status_code == 404


def test_an_expired_link_is_never_served_from_the_cache(client, shipped, monkeypatch):
    url = signed_page(shipped, exp=int(time.time()) + 600)
    assert client.get(url).status_code == 200 and client.get(url).status_code == 200
    later = types.SimpleNamespace(time=lambda: time.time() + 601)
    monkeypatch.setattr("orders.cache.answers.time", later)
    monkeypatch.setattr("orders.signing.time", later)
    response = client.get(url)
    assert response.status_code == 410 and b"has expired" in response.content


def test_a_change_to_the_shop_retires_its_cached_pages(client, shipped, account):
    for url in (signed_page(shipped), "/"):
        assert b"Acme Outfitters" in client.get(url).content
        client.get(url)
    account.name = "Acme Outdoor"
    account.save()
    for url in (signed_page(shipped), "/"):
        assert b"Acme Outdoor" in client.get(url).content


def test_a_new_problem_text_of_the_shop_shows_at_once(client, account):
    order = make_order(account, order_number="2002")
    scan(ship(order, NUMBER), "exception", days_ago(0), message="Damaged")
    url = signed_page(order)
    client.get(url), client.get(url)
    StateMessage.objects.create(account=account, state="exception", text="We will send a new one.")
    assert b"We will send a new one." in client.get(url).content


# --- never kept ---------------------------------------------------------------------------------


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_a_page_opened_by_a_second_factor_is_never_served_from_the_cache(client, shipped):
    right = "/track/?" + urlencode({"order_number": "1001", "recipient_postal_code": "78701"})
    assert client.get(right).status_code == 302  # the factor leaves the URL
    guesser = {"REMOTE_ADDR": "198.51.100.9"}
    for wrong in ("78702", "78703", "78704"):
        client.get(
            "/track/?" + urlencode({"order_number": "1001", "recipient_postal_code": wrong}), **guesser
        )
    assert client.get(right, **guesser).status_code == 429
    data = {"mode": "order", "order_number": "1001", "verification": "78701"}
    assert client.post("/", data, **guesser).status_code == 429
    limited_with_guess = limited_page(recipient_email="jane.shopper@example.com")
    assert client.get(limited_with_guess, **guesser).status_code == 429
    assert page_keys() == []


def test_a_bad_signature_on_the_limited_page_is_counted_every_time(client, shipped, settings):
    settings.LOOKUP_FAILURE_RATE = "2/15m"
    url = limited_page(s="A" * 32)
    assert client.get(url).status_code == 200 and client.get(url).status_code == 200
    assert client.get(url).status_code == 429  # each one counted: nothing served from a cache
    assert page_keys() == []


def test_a_staff_session_is_never_served_from_or_kept_in_the_cache(client, shipped, admin_user):
    tracking = shipped.trackings.get(tracking_number=NUMBER)
    scan(tracking, "in_transit", days_ago(0.01), message="Internal re-sort", is_hidden=True)
    url = signed_page(shipped, all="1")
    assert b"Internal re-sort" not in client.get(url).content  # kept for everyone
    staff = Client()
    staff.force_login(admin_user)
    assert b"Internal re-sort" in staff.get(url).content
    assert b"Internal re-sort" in staff.get(limited_page(all="1")).content
    assert b"Internal re-sort" not in Client().get(limited_page(all="1")).content


def test_unknown_parameters_and_live_refresh_are_answered_but_never_kept(client, shipped):
    for n in range(5):
        assert client.get(signed_page(shipped, utm_source=f"x{n}")).status_code == 200
    assert client.get(signed_page(shipped, live_refresh="true")).status_code == 200
    assert page_keys() == []
    assert b"utm_source=x4" in client.get(signed_page(shipped, utm_source="x4")).content


def test_not_found_and_unverified_pages_are_never_kept(client, shipped):
    assert client.get("/track/?tracking_number=1Z999AA10000000000").status_code == 404
    assert client.get("/track/?order_number=1001").status_code == 200  # asks for the email
    assert client.get("/track/?account=nope&order_number=1001").status_code == 400
    assert page_keys() == []


def test_an_order_keeps_at_most_its_budget_of_pages(client, shipped, settings):
    settings.CACHE_ANSWERS_PER_ORDER = 3
    for lang in ("en", "de", "fr", "es"):
        for extra in ({}, {"all": "1"}):
            assert client.get(signed_page(shipped, lang=lang, **extra)).status_code == 200
    assert len(page_keys()) == 3


def test_each_process_keeps_a_bounded_number_of_pages(client, account, monkeypatch):
    monkeypatch.setattr(answer_cache, "_local_pages", answer_cache._LocalAnswers(4))
    orders = [make_order(account, order_number=f"30{n}") for n in range(6)]
    for order in orders:
        client.get(signed_page(order))
    assert len(answer_cache._local_pages.entries) == 4


# --- cheaper when built afresh -----------------------------------------------------------------


def test_the_shops_are_read_once_per_process_not_counted_per_page(client, shipped, django_assert_num_queries):
    make_account(name="Second Shop", slug="second")
    client.get("/")  # the shops, loaded once
    for mode in ("order", "tracking", "email"):  # each page built afresh …
        with django_assert_num_queries(0):  # … without a query for the shops (no COUNT(*))
            page = client.get(f"/?mode={mode}")
        assert (b'name="shop"' in page.content) == (mode == "order")  # several shops: typed, never listed
        assert b"Second Shop" not in page.content


def test_the_limited_page_reads_no_line_items(client, shipped):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(limited_page()).status_code == 200
    assert captured.captured_queries and not any("lineitem" in q["sql"] for q in captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(signed_page(shipped)).status_code == 200
    assert any("lineitem" in q["sql"] for q in captured.captured_queries)  # full access shows them


# --- Redis away ---------------------------------------------------------------------------------


DEAD = "redis://127.0.0.1:1/0"


@override_settings(
    CACHES={"default": {"BACKEND": "statuspage.redis_cache.RedisCache", "LOCATION": DEAD}},
    RATELIMIT_REDIS_URL=DEAD,
)
def test_with_redis_down_every_page_is_built_afresh_and_correct(client, shipped, commit):
    answer_cache._local_pages.clear()
    url = signed_page(shipped)
    for _ in range(2):
        page = client.get(url)
        assert page.status_code == 200 and b"Trail Runner Shoe" in page.content
        limited = client.get(limited_page())
        assert limited.status_code == 200 and b"Hub 0-7" in limited.content
        home = client.get("/")
        assert home.status_code == 200 and CSRF.search(home.content)
    assert answer_cache._local_pages.entries == {}
    commit(lifecycle.revoke_links, shipped)
    assert client.get(url).status_code == 410  # refused at once
    assert client.get(signed_page(shipped)).status_code == 200  # a new link works


def test_with_redis_reachable_pages_are_kept_there(client, shipped, redis_cache, django_assert_num_queries):
    client.get(signed_page(shipped))
    keys = [key.decode() for key in redis_cache._cache.get_client().keys("*:page:*")]
    assert len([key for key in keys if not key.endswith(":tag")]) == 1
    answer_cache._local_pages.clear()  # another worker: finds it in Redis
    with django_assert_num_queries(0):
        assert client.get(signed_page(shipped)).status_code == 200


@pytest.mark.parametrize(
    "cookie_settings",
    [
        {},
        {"CSRF_COOKIE_SECURE": True, "CSRF_COOKIE_HTTPONLY": True, "CSRF_COOKIE_SAMESITE": "Strict"},
        {"CSRF_COOKIE_DOMAIN": ".shop.example", "CSRF_COOKIE_PATH": "/track/", "CSRF_COOKIE_NAME": "t"},
    ],
)
def test_a_kept_pages_csrf_cookie_is_the_one_django_would_set(rf, settings, cookie_settings):
    """Same name, value, attributes and Vary as CsrfViewMiddleware's own (the expiry a second
    apart at most: both are worked out from the clock)."""
    for name, value in cookie_settings.items():
        setattr(settings, name, value)
    ours, djangos = HttpResponse(), HttpResponse(headers={"Vary": "Accept-Language"})
    request = rf.get("/")
    request.META["CSRF_COOKIE"] = "a" * 32
    assert send_csrf_cookie(request, ours)
    CsrfViewMiddleware(lambda request: djangos)._set_csrf_cookie(request, djangos)
    name = settings.CSRF_COOKIE_NAME

    def without_expiry(response):
        return EXPIRES.sub("", response.cookies[name].output(header=""))

    assert without_expiry(ours) == without_expiry(djangos)
    assert (
        abs(
            parse_http_date(ours.cookies[name]["expires"]) - parse_http_date(djangos.cookies[name]["expires"])
        )
        <= 1
    )
    assert ours["Vary"] == "Cookie" and djangos["Vary"] == "Accept-Language, Cookie"
    assert send_csrf_cookie(request, djangos) and djangos["Vary"] == "Accept-Language, Cookie"  # not twice


def test_a_kept_pages_csrf_cookie_written_out_says_what_it_holds_after_a_change(rf):
    """The cookie's text is worked out once per set of attributes: one changed after it was set
    (by other middleware, say) is written out as it now is, as a plain Morsel would be."""
    request, response = rf.get("/"), HttpResponse()
    request.META["CSRF_COOKIE"] = "b" * 32
    assert send_csrf_cookie(request, response)
    cookie = response.cookies["csrftoken"]

    def as_plain_morsel():
        plain = Morsel()
        plain.update(cookie)
        plain.set(cookie.key, cookie.value, cookie.coded_value)
        return plain

    assert cookie.output() == as_plain_morsel().output()
    cookie["samesite"], cookie["httponly"] = "Strict", True
    cookie.set("csrftoken", "c" * 32, "c" * 32)
    assert cookie.output() == as_plain_morsel().output()
    assert (
        "c" * 32 in cookie.output() and "SameSite=Strict" in cookie.output() and "HttpOnly" in cookie.output()
    )
    assert cookie.output(attrs=["path"]) == as_plain_morsel().output(attrs=["path"])


def test_vary_on_adds_a_header_once_whatever_its_case():
    response = HttpResponse()
    vary_on(response, "Cookie")
    vary_on(response, "Accept-Language")
    vary_on(response, "accept-language")
    assert response["Vary"] == "Cookie, Accept-Language"
    response["Vary"] = "*"
    vary_on(response, "Cookie")
    assert response["Vary"] == "*"


def test_set_default_keeps_a_header_already_set_and_adds_a_missing_one():
    response = HttpResponse(headers={"X-Robots-Tag": "all"})
    set_default(response, "X-Robots-Tag", "noindex, nofollow")
    set_default(response, "Content-Security-Policy", "default-src 'self'")
    assert response["x-robots-tag"] == "all" and response["content-security-policy"] == "default-src 'self'"
    assert ("Content-Security-Policy", "default-src 'self'") in response.items()


def test_csrf_cookies_in_sessions_or_for_the_browser_session_are_left_to_django(rf, settings):
    request, response = rf.get("/"), HttpResponse()
    request.META["CSRF_COOKIE"] = "a" * 32
    settings.CSRF_COOKIE_AGE = None
    assert not send_csrf_cookie(request, response) and not response.cookies
    settings.CSRF_COOKIE_AGE, settings.CSRF_USE_SESSIONS = 3600, True
    assert not send_csrf_cookie(request, response) and not response.cookies
