"""GET /v4/track/orders/info-widget/: the order status PNG that shipping emails embed.

Golden images of whole responses live in tests/golden/widget_view_*.png; after an intended
visual change regenerate them with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_widget_view.py``
and review the diff.
"""

from __future__ import annotations

import html
import io
import os
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from PIL import Image, ImageChops, ImageStat

from orders import lifecycle
from orders.cache import answers as answer_cache
from orders.models import Order
from orders.widget import cache as widget_cache
from orders.widget.render import step_centers, widget_height

from .conftest import make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

URL = reverse("orders:info-widget")
GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
GOLDEN_MAX_MEAN_DIFF = 2.0
BRAND_RGB = (0x1F, 0x6F, 0xEB)  # conftest's account colour
BUDGET = {1: 15_000, 2: 40_000}  # bytes at 600 px wide
AT = datetime(2025, 1, 16, 14, 5, tzinfo=UTC)
LATER = datetime(2025, 1, 17, 9, 30, tzinfo=UTC)
FUTURE_ETA = date(2099, 1, 15)


def widget_url(order: Order, **extra) -> str:
    return order.status_url(kind="widget", absolute=False, **extra)


def open_png(response) -> Image.Image:
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def settle(order: Order) -> Order:
    """Pin the order's "as of" time so its picture does not depend on when the test runs."""
    Order.objects.filter(pk=order.pk).update(updated_at=LATER)
    return order


@pytest.fixture
def renders(monkeypatch):
    """Counts real drawings of the widget."""
    calls = []
    real = widget_cache.render_widget

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(widget_cache, "render_widget", counting)
    return calls


# --- One order per state ---------------------------------------------------------------------


def in_transit(account):
    order = make_order(account, order_number="1001")
    tracking = ship(order, "1Z999AA10123456784", estimated_delivery_date=FUTURE_ETA)
    scan(tracking, "in_transit", AT, message="Arrived at facility", location="Memphis, TN")
    return order


def out_for_delivery(account):
    order = in_transit(account)
    scan(order.trackings.get(), "out_for_delivery", LATER, message="Out for delivery", location="Austin, TX")
    return order


def delivered(account):
    order = in_transit(account)
    scan(order.trackings.get(), "delivered", LATER, message="Delivered to front door", location="Austin, TX")
    return order


def exception(account):
    order = in_transit(account)
    scan(order.trackings.get(), "exception", LATER, message="Address problem", location="Austin, TX")
    return order


def cancelled(account):
    return lifecycle.cancel_order(make_order(account, order_number="1001"))


def processing(account):
    return lifecycle.transition_order(make_order(account, order_number="1001"), "processing")


def pickup(account):
    order = in_transit(account)
    tracking = order.trackings.get()
    tracking.pickup_location_name = "Corner Shop"
    tracking.save()
    scan(tracking, "available_for_pickup", LATER, message="Ready at Corner Shop", location="Austin, TX")
    return order


def multi_shipment(account):
    order = exception(account)
    dhl = ship(order, "JJD000390007827748751", carrier="dhl")
    scan(dhl, "delivered", AT, message="Delivered to neighbour", location="Berlin", country="DE")
    usps = ship(order, "9400111899223197428490")
    scan(usps, "in_transit", LATER, message="In transit to next facility", location="Reno, NV")
    return order


STATES = {
    "in_transit": (in_transit, 1),
    "out_for_delivery": (out_for_delivery, 1),
    "delivered": (delivered, 1),
    "exception": (exception, 1),
    "cancelled": (cancelled, 0),
    "processing": (processing, 0),
    "pickup": (pickup, 1),
    "multi_shipment": (multi_shipment, 3),
}


@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("name", STATES)
def test_each_state_is_a_palette_png_of_fixed_size_within_budget(client, account, name, scale):
    build, shipments = STATES[name]
    response = client.get(widget_url(build(account), scale=scale))
    assert response.status_code == 200
    image = open_png(response)
    assert image.mode == "P"
    assert image.size == (600 * scale, widget_height(600, shipments) * scale)
    assert len(response.content) <= BUDGET[scale]
    assert response["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("width", [320, 800, 1200])
def test_width_sets_the_image_width_and_height_stays_fixed(client, account, width):
    order = in_transit(account)
    image = open_png(client.get(widget_url(order, width=width, theme="dark")))
    assert image.size == (width, widget_height(width, 1))
    scan(order.trackings.get(), "in_transit", LATER, message="x" * 500)
    assert open_png(client.get(widget_url(order, width=width, theme="dark"))).size == image.size


@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize(("name", "current"), [("in_transit", 3), ("out_for_delivery", 4), ("processing", 1)])
def test_current_step_is_highlighted_in_the_brand_colour(client, account, name, current, scale):
    image = open_png(client.get(widget_url(STATES[name][0](account), scale=scale))).convert("RGB")
    centres = step_centers(600, 5, scale=scale)
    assert image.getpixel(centres[current - 1]) == BRAND_RGB
    for later in centres[current:]:
        assert image.getpixel(later) != BRAND_RGB


GOLDEN = {
    "widget_view_in_transit_light_600x1": (in_transit, {}),
    "widget_view_delivered_dark_600x1": (delivered, {"theme": "dark"}),
    "widget_view_multi_shipment_light_600x2": (multi_shipment, {"scale": 2}),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_matches_golden_image(client, account, name):
    build, extra = GOLDEN[name]
    response = client.get(widget_url(settle(build(account)), **extra))
    path = GOLDEN_DIR / f"{name}.png"
    if UPDATE_GOLDEN:
        path.write_bytes(response.content)
    expected = Image.open(path).convert("RGB")
    actual = open_png(response).convert("RGB")
    assert actual.size == expected.size
    diff = ImageStat.Stat(ImageChops.difference(actual, expected)).mean
    assert sum(diff) / len(diff) < GOLDEN_MAX_MEAN_DIFF, f"{name} differs from its golden image: {diff}"


def test_account_logo_is_drawn_in_the_header(client, account, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    logo = io.BytesIO()
    Image.new("RGB", (96, 96), (220, 20, 20)).save(logo, "PNG")
    account.logo.save("logo.png", ContentFile(logo.getvalue()), save=True)
    image = open_png(client.get(widget_url(in_transit(account)))).convert("RGB")
    red = image.getpixel((30, 24))  # inside the 28 px logo, left in the brand band
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


# --- Access ----------------------------------------------------------------------------------


def test_tracking_number_alone_is_enough(client, account):
    in_transit(account)
    response = client.get(f"{URL}?tracking_number=1Z999AA10123456784&courier=ups")
    assert response.status_code == 200
    assert open_png(response).size == (600, widget_height(600, 1))


def test_second_factor_opens_the_widget(client, account):
    in_transit(account)
    query = urlencode({"order_number": "1001", "recipient_postal_code": "78701"})
    assert client.get(f"{URL}?{query}").status_code == 200


def test_staff_session_result_is_private_and_never_served_to_others(client, account, admin_user):
    in_transit(account)
    client.force_login(admin_user)
    response = client.get(f"{URL}?order_number=1001")
    assert (response.status_code, response["Cache-Control"]) == (200, "private, no-cache")
    client.logout()
    anonymous = client.get(f"{URL}?order_number=1001")
    assert anonymous.status_code == 404
    assert anonymous.content != response.content


# --- Every error is an image -----------------------------------------------------------------


def expired(order):
    return order.link_params(exp=int(time.time()) - 60)


ERRORS = {
    "unknown order": (404, lambda o: {**o.link_params(), "order_number": "9999"}),
    "order number alone": (404, lambda o: {"order_number": "1001"}),
    "wrong signature": (404, lambda o: {**o.link_params(), "s": "A" * 32}),
    "wrong email": (404, lambda o: {"order_number": "1001", "recipient_email": "x@example.com"}),
    "expired signature": (404, expired),
    "unknown tracking number": (404, lambda o: {"tracking_number": "1Z999AA10000000000"}),
    "width too small": (400, lambda o: {**o.link_params(), "width": "319"}),
    "width too large": (400, lambda o: {**o.link_params(), "width": "1201"}),
    "width not a number": (400, lambda o: {**o.link_params(), "width": "abc"}),
    "width with unicode digits": (400, lambda o: {**o.link_params(), "width": "٦٠٠"}),
    "width huge": (400, lambda o: {**o.link_params(), "width": "9" * 5000}),
    "scale 3": (400, lambda o: {**o.link_params(), "scale": "3"}),
    "scale 1.5": (400, lambda o: {**o.link_params(), "scale": "1.5"}),
    "theme neon": (400, lambda o: {**o.link_params(), "theme": "neon"}),
    "malformed uuid": (400, lambda o: {"external_order_id": "not-a-uuid", "recipient_postal_code": "78701"}),
    "two identifiers": (400, lambda o: {**o.link_params(), "tracking_number": "1Z999AA10123456784"}),
    "no identifier": (400, lambda o: {}),
    "unknown account": (400, lambda o: {**o.link_params(), "account": "nope"}),
    "unknown courier": (400, lambda o: {"tracking_number": "1Z999AA10123456784", "courier": "pigeon"}),
    "bad exp": (400, lambda o: {**o.link_params(), "exp": "tomorrow"}),
    "script tracking number": (400, lambda o: {"tracking_number": "<script>alert(1)</script>"}),
    "nul byte": (400, lambda o: {"order_number": "10\x0001", "recipient_postal_code": "78701"}),
}


@pytest.mark.parametrize("case", ERRORS)
def test_every_error_is_a_png_with_the_right_status(client, account, case):
    status, params = ERRORS[case]
    response = client.get(f"{URL}?{urlencode(params(in_transit(account)))}")
    assert response.status_code == status
    assert open_png(response).size == (600, widget_height(600, 0))
    assert response["Cache-Control"] == "no-store"
    assert "ETag" not in response


def test_error_image_keeps_the_valid_options(client, account):
    order = in_transit(account)
    unknown = client.get(f"{URL}?{urlencode({**order.link_params(), 'order_number': '9'})}&width=800&scale=2")
    assert (unknown.status_code, open_png(unknown).size) == (404, (1600, widget_height(800, 0) * 2))
    bad_scale = client.get(widget_url(order, width=800, scale=3))
    assert (bad_scale.status_code, open_png(bad_scale).size) == (400, (800, widget_height(800, 0)))


def test_unavailable_looks_the_same_for_unknown_and_unverified(client, account):
    in_transit(account)
    unknown = client.get(f"{URL}?order_number=9999&recipient_postal_code=78701")
    unverified = client.get(f"{URL}?order_number=1001&recipient_postal_code=10001")
    assert unknown.status_code == unverified.status_code == 404
    assert unknown.content == unverified.content


@override_settings(LOOKUP_FAILURE_RATE="2/15m")
def test_too_many_failed_attempts_get_a_429_image(client, account):
    order = in_transit(account)
    for _ in range(2):
        assert client.get(widget_url(order, s="forged")).status_code == 404
    response = client.get(f"{URL}?order_number=1001&recipient_postal_code=78701")  # even a right guess
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert response["Cache-Control"] == "no-store"
    assert open_png(response).size == (600, widget_height(600, 0))
    assert client.get(widget_url(order)).status_code == 200  # a link we signed still opens


def test_render_failure_is_logged_and_answers_a_503_image(client, account, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("font exploded")

    monkeypatch.setattr(widget_cache, "render_widget", broken)
    response = client.get(widget_url(in_transit(account)))
    assert (response.status_code, response["Retry-After"]) == (503, "60")
    assert open_png(response).size == (600, widget_height(600, 0))
    assert "font exploded" in caplog.text


def test_post_is_not_allowed(client, account):
    assert client.post(widget_url(in_transit(account))).status_code == 405


def test_head_answers_headers_only(client, account):
    response = client.head(widget_url(in_transit(account)))
    assert (response.status_code, response["Content-Type"], response.content) == (200, "image/png", b"")


HOSTILE = {
    "long": "Parcel " * 71,
    "emoji": "📦🚚 Out for delivery ✅👩🏽‍💻🇩🇪",
    "rtl": "تم التوصيل إلى الباب الأمامي \u202eevil\u202c",
    "script": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "format": "{n} %(x)s %s {0}",
    "controls": "a\x01b\x1b[31mred\r\n\tz",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_checkpoint_text_renders(client, account, text):
    order = in_transit(account)
    scan(order.trackings.get(), "in_transit", LATER, message=text[:500], location=text[:200])
    account.name = text[:200]
    account.save()
    for scale in (1, 2):
        response = client.get(widget_url(order, scale=scale))
        assert response.status_code == 200
        assert open_png(response).size == (600 * scale, widget_height(600, 1) * scale)


# --- Caching ---------------------------------------------------------------------------------


def test_matching_etag_answers_304(client, account):
    url = widget_url(in_transit(account))
    etag = client.get(url)["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 20
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(url, HTTP_IF_NONE_MATCH=header)
        assert (response.status_code, response.content) == (304, b"")
        assert (response["ETag"], response["Cache-Control"]) == (etag, "public, max-age=300")
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_new_checkpoint_changes_the_etag_and_the_picture(client, account, django_capture_on_commit_callbacks):
    order = in_transit(account)
    url = widget_url(order)
    before = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        scan(order.trackings.get(), "out_for_delivery", LATER, message="Out for delivery")
    after = client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.content != before.content


def test_language_changes_the_etag(client, account):
    order = in_transit(account)
    english = client.get(widget_url(order))
    german = client.get(widget_url(order, lang="de"))
    assert (english["Content-Language"], german["Content-Language"]) == ("en", "de")
    assert english["ETag"] != german["ETag"]


def test_options_change_the_etag(client, account):
    order = in_transit(account)
    variants = ({}, {"scale": 2}, {"theme": "dark"})
    etags = {client.get(widget_url(order, **extra))["ETag"] for extra in variants}
    assert len(etags) == 3


def test_cache_hit_touches_no_database_and_draws_nothing(client, account, renders, django_assert_num_queries):
    url = widget_url(in_transit(account))
    first = client.get(url)
    assert len(renders) == 1
    with django_assert_num_queries(0):
        second = client.get(url)
        not_modified = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (second.status_code, not_modified.status_code) == (200, 304)
    assert second.content == first.content
    per_request = {"X-Request-Id"}
    same = [(k, v) for k, v in first.headers.items() if k not in per_request]
    assert [(k, second.headers[k]) for k, _ in same] == same  # the cached answer looks the same
    assert "Cookie" not in second.get("Vary", "")
    assert len(renders) == 1


def test_flushing_the_shared_cache_also_retires_each_process_copy(client, account, renders):
    url = widget_url(in_transit(account))
    client.get(url)
    caches["default"].clear()
    assert client.get(url).status_code == 200
    assert len(renders) == 2


def test_another_url_for_the_same_picture_draws_nothing(client, account, renders):
    order = in_transit(account)
    signed = client.get(widget_url(order))
    by_factor = client.get(f"{URL}?order_number=1001&recipient_postal_code=78701&utm_source=mail")
    assert by_factor["ETag"] == signed["ETag"]
    assert by_factor.content == signed.content
    assert len(renders) == 1


def test_revoked_link_fails_on_the_next_request(client, account, django_capture_on_commit_callbacks):
    order = in_transit(account)
    url = widget_url(order)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.revoke_links(order)
    assert client.get(url).status_code == 404
    assert client.get(widget_url(order)).status_code == 200  # a fresh link works


def test_link_expiring_while_cached_stops_working(client, account, monkeypatch):
    order = in_transit(account)
    url = widget_url(order, exp=int(time.time()) + 600)
    assert client.get(url).status_code == 200
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get(url).status_code == 404


def test_order_never_changed_is_served_from_cache_too(client, account, django_assert_num_queries):
    order = make_order(account, order_number="2002")  # never touched by the lifecycle
    url = widget_url(order)
    assert client.get(url).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(url).status_code == 200


@override_settings(WIDGET_MAX_AGE=60)
def test_max_age_is_a_setting(client, account):
    assert client.get(widget_url(in_transit(account)))["Cache-Control"] == "public, max-age=60"


def test_orders_of_other_accounts_never_share_a_picture(client, account):
    in_transit(account)
    other = in_transit(make_account(name="Other Shop", slug="other", brand_color="#aa0000"))
    mine = client.get(f"{URL}?{urlencode(Order.objects.get(account=account).link_params())}")
    theirs = client.get(widget_url(other))
    assert mine.status_code == theirs.status_code == 200
    assert mine["ETag"] != theirs["ETag"]


# --- With Redis, as in production with several workers --------------------------------------


def test_redis_cache_hit_and_revocation(
    client, account, redis_cache, renders, django_assert_num_queries, django_capture_on_commit_callbacks
):
    order = in_transit(account)
    url = widget_url(order)
    first = client.get(url)
    redis_cache.close()  # another worker: a fresh connection and none of this process's entries
    answer_cache._local.clear()
    with django_assert_num_queries(0):
        assert client.get(url).content == first.content
    assert len(renders) == 1
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.revoke_links(order)
    assert client.get(url).status_code == 404


def test_production_redis_backend_reuses_one_client(redis_cache):
    assert redis_cache._cache.get_client() is redis_cache._cache.get_client()
    redis_cache.set("k", 41)
    assert redis_cache.incr("k") == 42


def test_cache_outage_still_draws_the_image_from_the_database(client, account):
    url = widget_url(in_transit(account))
    expected = client.get(url).content
    dead = {"default": {"BACKEND": "statuspage.redis_cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=dead):
        response = client.get(url)
    assert response.status_code == 200 and response.content == expected


def test_an_unexpected_error_still_answers_an_image(client, account, monkeypatch):
    url = widget_url(in_transit(account))

    def broken(*args, **kwargs):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(widget_cache, "render_widget", broken)
    response = client.get(url)
    assert response.status_code == 503
    assert open_png(response).size == (600, widget_height(600, 0))


# --- The signed_link command -----------------------------------------------------------------


def test_signed_link_prints_a_working_widget_url(client, account):
    order = in_transit(account)
    out = io.StringIO()
    call_command("signed_link", order.order_number, stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.startswith("Widget image: "))
    url = line.removeprefix("Widget image: ").removeprefix("http://127.0.0.1:8000")
    assert url.startswith(URL)
    assert client.get(url).status_code == 200


# --- Admin: preview and email snippet --------------------------------------------------------


def test_admin_order_page_previews_the_widget_and_offers_an_email_snippet(client, account, admin_user):
    order = out_for_delivery(account)
    client.force_login(admin_user)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    preview = re.search(r'<img src="(/v4/track/orders/info-widget/\?[^"]+)" width="600" height="(\d+)"', page)
    assert preview and int(preview[2]) == widget_height(600, 1)
    assert client.get(html.unescape(preview[1])).status_code == 200

    snippet = html.unescape(
        html.unescape(re.search(r"<textarea readonly[^>]*>(.*?)</textarea>", page, re.S)[1])
    )
    link = re.fullmatch(
        r'<a href="([^"]+)"><img src="([^"]+)" width="600" height="(\d+)" alt="([^"]+)"[^>]*></a>', snippet
    )
    assert link, snippet
    page_url, image_url, height, alt = link.groups()
    assert (int(height), alt) == (widget_height(600, 1), "Order 1001: out for delivery")
    client.logout()
    strip = "http://127.0.0.1:8000"
    image = client.get(image_url.removeprefix(strip))
    assert image.status_code == 200
    assert open_png(image).size == (1200, 2 * widget_height(600, 1))  # scale 2 for sharp text
    assert client.get(page_url.removeprefix(strip)).status_code == 200
    assert re.search(r'Widget image: <a href="http://127.0.0.1:8000/v4/track/orders/info-widget/\?', page)


def test_a_change_shows_within_the_recheck_window(
    client, account, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Between confirmations a worker trusts its copy, for at most CACHE_RECHECK_SECONDS seconds."""
    settings.CACHE_RECHECK_SECONDS = 5
    order = in_transit(account)
    url = widget_url(order)
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.revoke_links(order)
    assert client.get(url).status_code == 200  # within the window: the confirmed copy
    later = time.time() + 6
    monkeypatch.setattr(answer_cache.time, "time", lambda: later)
    assert client.get(url).status_code == 404


def test_images_do_not_vary_with_the_browser_language(client, account):
    """The picture depends on `lang` and the order, never on Accept-Language: shared caches
    (mail image proxies, CDNs) must not keep one copy per browser language."""
    url = widget_url(in_transit(account))
    german, french = (client.get(url, HTTP_ACCEPT_LANGUAGE=lang) for lang in ("de", "fr"))
    assert german.content == french.content
    assert "Accept-Language" not in german.get("Vary", "")
