"""The shopper pages: lookup flows, what each access level shows, privacy, abuse protection, htmx."""

import re
import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django.utils import timezone

from orders import lifecycle
from orders.models import Order, Tracking

from .conftest import days_ago, make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

PII = [
    "Jane Shopper",
    "123 Main St",
    "Jane.Shopper@example.com",
    "jane.shopper",
    "512 555",
    "Trail Runner",
    "89.90",
]
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
HTMX = {"HTTP_HX_REQUEST": "true"}


def without_csrf(response) -> bytes:
    return CSRF.sub(b"", response.content)


def assert_no_pii(response):
    html = response.content.decode()
    for text in PII:
        assert text.lower() not in html.lower(), text


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001")
    tracking = ship(
        order, "1Z999AA10123456784", estimated_delivery_date=timezone.localdate() + timedelta(days=2)
    )
    for n in range(5):
        scan(tracking, "in_transit", days_ago(5 - n), location=f"Hub {n}", message=f"Scan number {n}")
    return order


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- Lookup form ------------------------------------------------------------------------------


def test_home_offers_three_ways_to_find_an_order(client, account):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="order_number"' in html and 'name="verification"' in html
    for mode in ("order", "tracking", "email"):
        assert f'href="/?mode={mode}"' in html
    tracking = client.get("/?mode=tracking").content.decode()
    assert 'name="tracking_number"' in tracking and 'name="verification"' not in tracking
    assert 'name="email"' in client.get("/?mode=email").content.decode()


@pytest.mark.parametrize("verification", ["jane.SHOPPER@example.com", "787 01"])
def test_order_number_and_factor_redirect_to_a_signed_link_without_the_factor(client, shipped, verification):
    response = client.post("/", {"mode": "order", "order_number": "1001", "verification": verification})
    assert response.status_code == 303
    location = response["Location"]
    assert "example.com" not in location.lower() and "78701" not in location and "787" not in location
    assert set(parse_qs(urlsplit(location).query)) == {"account", "order_number", "exp", "s"}
    page = client.get(location)
    assert page.status_code == 200
    assert b"Trail Runner Shoe" in page.content and b"123 Main St" in page.content


def test_htmx_lookup_redirects_with_hx_redirect(client, shipped):
    data = {"mode": "order", "order_number": "1001", "verification": "78701"}
    response = client.post("/", data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/track/?account=")


def test_tracking_number_lookup_opens_the_limited_page(client, shipped):
    response = client.post("/", {"mode": "tracking", "tracking_number": "1z999aa1 0123 4567 84"})
    assert response.status_code == 303
    assert response["Location"] == "/track/?tracking_number=1Z999AA10123456784"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Scan number 4" in page.content
    assert_no_pii(page)


def test_unknown_tracking_number_says_so_on_the_form(client, shipped):
    response = client.post("/", {"mode": "tracking", "tracking_number": "1Z999AA10000000000"})
    assert response.status_code == 404
    assert b"find a shipment with that tracking number" in response.content
    assert b'name="tracking_number"' in response.content


def test_unknown_order_and_wrong_email_look_the_same(client, shipped):
    wrong = client.post("/", {"mode": "order", "order_number": "1001", "verification": "someone@else.com"})
    unknown = client.post("/", {"mode": "order", "order_number": "9999", "verification": "someone@else.com"})
    assert wrong.status_code == unknown.status_code == 404
    assert without_csrf(wrong) == without_csrf(unknown).replace(b"9999", b"1001")  # the typed number
    assert b"find an order with those details" in wrong.content
    assert_no_pii(wrong)


def test_unknown_order_and_wrong_postal_code_look_the_same(client, shipped):
    wrong = client.post("/", {"mode": "order", "order_number": "1001", "verification": "10001"})
    unknown = client.post("/", {"mode": "order", "order_number": "1002", "verification": "10001"})
    assert without_csrf(wrong) == without_csrf(unknown).replace(b"1002", b"1001")
    assert wrong.status_code == unknown.status_code == 404


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"mode": "order", "order_number": "", "verification": "78701"},
            "order_number",
            b"This field is required",
        ),
        (
            {"mode": "order", "order_number": "1001", "verification": ""},
            "verification",
            b"This field is required",
        ),
        ({"mode": "order", "order_number": "1001", "verification": "jane@"}, "verification", b"valid email"),
        (
            {"mode": "order", "order_number": "1001", "verification": "78<7>01"},
            "verification",
            b"postal code",
        ),
        ({"mode": "tracking", "tracking_number": "1Z<script>"}, "tracking_number", b"letters and digits"),
        ({"mode": "email", "email": "not-an-email"}, "email", b"valid email"),
        (
            {"mode": "order", "order_number": "x" * 101, "verification": "78701"},
            "order_number",
            b"at most 100",
        ),
    ],
)
def test_bad_form_input_is_a_400_with_inline_field_errors(client, shipped, data, field, message):
    orders_before = Order.objects.count()
    response = client.post("/", data)
    assert response.status_code == 400
    html = response.content
    assert message in html
    assert f'name="{field}"'.encode() in html and b'aria-invalid="true"' in html
    assert b"<html" in html  # no JS: the whole page
    htmx = client.post("/", data, **HTMX)
    assert htmx.status_code == 400 and message in htmx.content
    assert htmx.content.lstrip().startswith(b'<div id="lookup"')  # htmx: the form partial only
    assert Order.objects.count() == orders_before and mail.outbox == []


def test_unknown_mode_falls_back_to_the_order_form(client, shipped):
    response = client.post("/", {"mode": "bogus", "order_number": "1001", "verification": "78701"})
    assert response.status_code == 303


def test_unknown_account_parameter_is_a_400(client, shipped):
    response = client.get("/?account=nope")
    assert response.status_code == 400
    assert b"This link is incomplete" in response.content and b'name="order_number"' in response.content


def test_other_methods_are_refused(client, account):
    assert client.put("/").status_code == 405
    assert client.delete("/track/").status_code == 405
    assert client.post("/track/status/").status_code == 405


def test_several_accounts_ask_which_shop(client, shipped):
    other = make_account(name="Other Shop", slug="other")
    make_order(other, order_number="1001", postal_code="10001")
    html = client.get("/").content.decode()
    assert 'name="shop"' in html  # typed, not picked from a list: no shop's name is shown
    assert "Other Shop" not in html and "Acme Outfitters" not in html
    missing = client.post("/", {"mode": "order", "order_number": "1001", "verification": "78701"})
    assert missing.status_code == 400
    chosen = {"mode": "order", "order_number": "1001", "verification": "10001", "shop": " other  SHOP "}
    assert client.post("/", chosen).status_code == 303
    unknown_shop = client.post("/", {**chosen, "shop": "No Such Shop"})
    unknown_order = client.post("/", {**chosen, "order_number": "9999"})
    assert unknown_shop.status_code == unknown_order.status_code == 404
    assert without_csrf(unknown_shop).replace(b"No Such Shop", b"") == without_csrf(unknown_order).replace(
        b"9999", b"1001"
    ).replace(b" other  SHOP ", b"")
    branded = client.get("/?account=other").content.decode()
    assert 'name="account"' not in branded and "Other Shop" in branded


# --- The status page --------------------------------------------------------------------------


def test_signed_link_shows_branding_headline_progress_shipments_items_and_address(client, shipped):
    response = client.get(shipped.status_url(absolute=False))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Outfitters" in html and f"/brand/{shipped.account_id}.css?v=1f6feb" in html
    assert 'id="headline"' in html and "On its way" in html and "Expected " in html
    assert 'aria-current="step"' in html and "Step 3 of 5: In transit" in html
    assert "UPS" in html and 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    assert 'rel="noreferrer noopener"' in html
    assert "Trail Runner Shoe" in html and "123 Main St" in html and "Jane Shopper" in html


def test_timeline_shows_three_newest_events_and_a_show_all_link(client, shipped):
    html = client.get(shipped.status_url(absolute=False)).content.decode()
    assert html.index("Scan number 4") < html.index("Scan number 3") < html.index("Scan number 2")
    assert "Scan number 1" not in html and "Scan number 0" not in html
    assert "Show all 5 updates" in html and "all=1#shipment-1" in html


def test_show_all_without_javascript_lists_every_event(client, shipped):
    html = client.get(shipped.status_url(absolute=False) + "&all=1").content.decode()
    assert all(f"Scan number {n}" in html for n in range(5))
    assert "Show all" not in html


def test_show_all_with_htmx_returns_only_that_timeline(client, shipped):
    query = urlsplit(shipped.status_url(absolute=False)).query
    response = client.get(f"/track/timeline/?{query}&shipment=1", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="timeline-1"') and "<html" not in html
    assert all(f"Scan number {n}" in html for n in range(5))
    assert 'name="open" value="1"' in html  # the poll keeps this timeline open
    assert "Trail Runner" not in html


def test_polling_partial_returns_the_status_block_with_new_checkpoints(client, shipped):
    page = client.get(shipped.status_url(absolute=False)).content.decode()
    poll = re.search(r'hx-get="(/track/status/\?[^"]+)" hx-trigger="every 60s"', page)[1].replace(
        "&amp;", "&"
    )
    scan(shipped.trackings.get(), "out_for_delivery", days_ago(0.01), message="With the driver")
    response = client.get(poll, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="status"')
    assert "With the driver" in html and "Out for delivery" in html and "<html" not in html
    opened = client.get(poll + "&open=1", **HTMX).content.decode()
    assert "Scan number 0" in opened and "Scan number 0" not in html


def test_delivered_and_cancelled_pages_stop_polling(client, shipped):
    scan(shipped.trackings.get(), "delivered", days_ago(0.01))
    delivered = client.get(shipped.status_url(absolute=False)).content.decode()
    assert ">Delivered<" in delivered and 'hx-trigger="every 60s"' not in delivered
    cancelled = make_order(shipped.account, order_number="2002")
    lifecycle.cancel_order(cancelled)
    html = client.get(cancelled.status_url(absolute=False)).content.decode()
    assert "Order cancelled" in html and 'hx-trigger="every 60s"' not in html


def test_pickup_location_and_opening_hours_are_shown(client, shipped):
    Tracking.objects.filter(order=shipped).update(
        pickup_location_name="Corner Shop",
        pickup_location_address="5 High St, Austin",
        pickup_opening_hours=[{"day": "mon", "open": "09:00", "close": "18:00"}],
    )
    scan(shipped.trackings.get(), "available_for_pickup", days_ago(0.01))
    html = client.get(shipped.status_url(absolute=False)).content.decode()
    assert "Ready for pickup at Corner Shop" in html
    assert "5 High St, Austin" in html and "Monday" in html and "9:00\u202fAM–6:00\u202fPM" in html
    assert "Sunday</th><td>Closed" in html  # days without hours say so


def test_page_without_shipments_says_not_shipped_yet(client, account):
    order = make_order(account, order_number="3003")
    html = client.get(order.status_url(absolute=False)).content.decode()
    assert "We have received your order" in html and "has not been shipped yet" in html


def test_tracking_number_page_is_limited_and_offers_verification(client, shipped):
    response = client.get("/track/?tracking_number=1Z999AA10123456784")
    assert response.status_code == 200
    assert b"Scan number 4" in response.content and b"UPS" in response.content
    assert b'name="verification"' in response.content
    assert b'name="tracking_number" value="1Z999AA10123456784"' in response.content
    assert_no_pii(response)


def test_verifying_a_tracking_lookup_opens_the_full_page(client, shipped):
    data = {"tracking_number": "1Z999AA10123456784", "verification": "jane.shopper@example.com"}
    response = client.post("/track/", data)
    assert response.status_code == 303 and "example.com" not in response["Location"]
    assert b"Trail Runner Shoe" in client.get(response["Location"]).content


def test_limited_polling_and_timeline_partials_carry_no_personal_data(client, shipped):
    query = "tracking_number=1Z999AA10123456784"
    assert_no_pii(client.get(f"/track/status/?{query}", **HTMX))
    assert_no_pii(client.get(f"/track/timeline/?{query}&shipment=1", **HTMX))


def test_order_number_without_factor_asks_for_one_and_reveals_nothing(client, shipped):
    known = client.get(f"/track/?order_number=1001&account={shipped.account_id}")
    unknown = client.get(f"/track/?order_number=9999&account={shipped.account_id}")
    assert known.status_code == unknown.status_code == 200
    assert b'name="verification"' in known.content
    assert without_csrf(known) == without_csrf(unknown).replace(b"9999", b"1001")
    assert_no_pii(known)


@pytest.mark.parametrize("factor", ["recipient_email=x%40y.com", "recipient_postal_code=10001", "s=forged"])
def test_wrong_factor_in_the_query_looks_like_an_unknown_order(client, shipped, factor):
    known = client.get(f"/track/?order_number=1001&{factor}")
    unknown = client.get(f"/track/?order_number=9999&{factor}")
    assert known.status_code == unknown.status_code == 404
    assert without_csrf(known) == without_csrf(unknown).replace(b"9999", b"1001")
    assert_no_pii(known)


def test_factor_in_the_query_is_moved_into_a_signed_link(client, shipped):
    response = client.get("/track/?order_number=1001&recipient_email=jane.shopper%40example.com")
    assert response.status_code == 302
    assert "example.com" not in response["Location"] and "s=" in response["Location"]


def test_verify_form_posts_the_factor_and_fails_identically(client, shipped):
    known = client.post("/track/", {"order_number": "1001", "verification": "x@y.com"})
    unknown = client.post("/track/", {"order_number": "9999", "verification": "x@y.com"})
    assert known.status_code == unknown.status_code == 404
    assert without_csrf(known) == without_csrf(unknown).replace(b"9999", b"1001")
    ok = client.post("/track/", {"order_number": "1001", "verification": "78701"})
    assert ok.status_code == 303


def test_verify_form_with_empty_factor_is_a_400(client, shipped):
    response = client.post("/track/", {"order_number": "1001", "verification": ""})
    assert response.status_code == 400 and b"This field is required" in response.content


def test_tampered_link_looks_like_a_wrong_factor(client, shipped):
    url = shipped.status_url(absolute=False)
    tampered = re.sub(r"s=[^&]+", "s=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", url)
    other_number = url.replace("order_number=1001", "order_number=1002")
    for response in (client.get(tampered), client.get(other_number)):
        assert response.status_code == 404
        # Asked calmly for the email or postal code: the shopper has not typed anything wrong.
        assert b'name="verification"' in response.content and b'role="alert"' not in response.content
        assert b"find an order with those details" not in response.content
        assert_no_pii(response)


def test_expired_link_shows_a_friendly_page_offering_a_fresh_link(client, shipped):
    response = client.get(shipped.status_url(absolute=False, exp=int(time.time()) - 60))
    html = response.content.decode()
    assert response.status_code == 410
    assert "This link has expired" in html and 'name="email"' in html and 'value="email"' in html
    assert_no_pii(response)


def test_revoked_link_shows_a_friendly_page(client, shipped):
    url = shipped.status_url(absolute=False)
    lifecycle.revoke_links(shipped)
    response = client.get(url)
    assert response.status_code == 410
    assert b"This link is no longer valid" in response.content
    assert_no_pii(response)


def test_partials_reload_the_page_once_the_link_stops_working(client, shipped):
    query = urlsplit(shipped.status_url(absolute=False)).query
    lifecycle.revoke_links(shipped)
    response = client.get(f"/track/status/?{query}", **HTMX)
    assert response["HX-Refresh"] == "true"
    assert_no_pii(response)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "order_number=1001&tracking_number=1Z999AA10123456784",
        "order_number=1001&exp=soon",
        "order_number=1001&account=nope",
        "tracking_number=1Z%3Cscript%3E",
        "external_order_id=not-a-uuid",
        "tracking_number=1Z999AA10123456784&courier=pigeon",
        "tracking_number=1Z999AA10123456784&single_tracking=maybe",
        "account=1&order_numb",  # a link cut short by an email program
    ],
)
def test_damaged_links_get_a_400_page_in_words_with_the_lookup_form(client, shipped, query):
    response = client.get(f"/track/?{query}")
    assert response.status_code == 400
    assert b"This link is incomplete" in response.content and b'name="order_number"' in response.content
    visible = re.sub(r"<[^>]+>", " ", response.content.decode())
    for field_name in ("order_number", "tracking_number", "external_order_id", "single_tracking", "courier"):
        assert field_name not in visible
    assert b"Acme Outfitters" in response.content  # the only shop's brand, even on an error page
    assert response.status_code == client.get(f"/track/status/?{query}").status_code


def test_bad_shipment_index_is_a_400(client, shipped):
    query = urlsplit(shipped.status_url(absolute=False)).query
    for index in ("0", "2", "x", ""):
        assert client.get(f"/track/timeline/?{query}&shipment={index}").status_code == 400


def test_htmx_error_replaces_the_main_content(client, shipped):
    response = client.get("/track/status/?order_number=1001&exp=soon", **HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#main" and b"<html" not in response.content


# --- Privacy and security headers ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["full", "limited", "verify", "home"])
def test_pages_are_private_uncached_unindexed_and_under_a_strict_csp(client, shipped, kind):
    url = {
        "full": shipped.status_url(absolute=False),
        "limited": "/track/?tracking_number=1Z999AA10123456784",
        "verify": "/track/?order_number=1001",
        "home": "/",
    }[kind]
    response = client.get(url)
    cache = response["Cache-Control"]
    assert "private" in cache and "no-store" in cache
    # A signed URL never leaves in a Referer; pages with forms stay "same-origin" because
    # browsers send `Origin: null` with posts from "no-referrer" pages and CSRF refuses them.
    assert response["Referrer-Policy"] == ("no-referrer" if kind == "full" else "same-origin")
    assert "noindex" in response["X-Robots-Tag"] and '<meta name="robots" content="noindex' in response.text
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    # No inline script; JSON-LD is a data block that browsers never execute.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?! type=\"application/ld\+json\")", response.text)
    assert " style=" not in response.text  # inline styles would be blocked
    assert "cdn" not in response.text.lower()


def test_htmx_is_served_from_static(client, account):
    html = client.get("/").text
    assert '<script src="/static/js/htmx.min.js" defer></script>' in html
    response = client.get("/static/js/htmx.min.js")
    assert response.status_code == 200


def test_brand_stylesheet_sets_readable_colours(client, account):
    account.brand_color = "#ffd700"  # light: text on it must be dark, text in it must be darkened
    account.save()
    response = client.get(f"/brand/{account.pk}.css")
    css = response.content.decode()
    assert response["Content-Type"].startswith("text/css") and "public" in response["Cache-Control"]
    assert "--brand: #ffd700" in css and "--brand-text: #000000" in css
    ink = re.search(r"--brand-ink: (#[0-9a-f]{6})", css)[1]
    from orders.views.brand import contrast

    assert contrast(ink, "#ffffff") >= 4.5 and contrast(ink, "#f4f5f7") >= 4.5
    assert client.get("/brand/999999.css").status_code == 404


# --- Email-only lookup --------------------------------------------------------------------------


def test_email_lookup_sends_one_email_with_links_to_recent_orders(client, shipped):
    second = make_order(shipped.account, order_number="1002", recipient_email="JANE.SHOPPER@EXAMPLE.COM")
    make_order(shipped.account, order_number="1003", order_date=days_ago(120))
    make_order(shipped.account, order_number="1004", recipient_email="someone@else.com")
    response = client.post("/", {"mode": "email", "email": "jane.shopper@example.com"})
    assert response.status_code == 200
    assert b"If we have orders for that address, we have emailed you links" in response.content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["jane.shopper@example.com"] and message.reply_to == ["help@acme.test"]
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    urls = re.findall(r"http://127\.0\.0\.1:8000(/track/\?\S+)", message.body)
    assert len(urls) == 2 and "Order 1002" in message.body and "Order 1001" in message.body
    assert "1003" not in message.body and "1004" not in message.body
    assert "Order 1001" in html and urls[0].replace("&", "&amp;") in html
    page = client.get(urls[0])
    assert page.status_code == 200 and b"Trail Runner Shoe" in page.content
    assert second.order_number in urls[0] or second.order_number in urls[1]


def test_email_lookup_answers_the_same_when_nothing_is_found(client, shipped):
    found = client.post("/", {"mode": "email", "email": "jane.shopper@example.com"})
    nothing = client.post("/", {"mode": "email", "email": "nobody@example.org"})
    assert found.status_code == nothing.status_code == 200
    assert without_csrf(found) == without_csrf(nothing)
    assert len(mail.outbox) == 1  # only the address with orders got an email


def test_email_lookup_answers_the_same_when_the_mail_server_fails(client, shipped, settings, caplog):
    settings.EMAIL_BACKEND = "tests.test_pages.BrokenMailServer"
    found = client.post("/", {"mode": "email", "email": "jane.shopper@example.com"})
    nothing = client.post("/", {"mode": "email", "email": "nobody@example.org"})
    assert found.status_code == nothing.status_code == 200
    assert without_csrf(found) == without_csrf(nothing)
    assert "Could not send the order links email" in caplog.text


@pytest.mark.django_db(transaction=True)  # the sender thread reads the orders with its own connection
def test_email_is_sent_in_the_background_in_production(client, shipped, settings):
    from orders.notifications import links as notifications

    settings.EMAIL_LINKS_IN_BACKGROUND = True
    mail.outbox.clear()  # the "shipped" status email of the fixture's order is not what this is about
    response = client.post("/", {"mode": "email", "email": "jane.shopper@example.com"})
    assert response.status_code == 200
    notifications._outbox.submit(lambda: None).result(timeout=10)  # the queue ahead has drained
    assert len(mail.outbox) == 1 and "Order 1001" in mail.outbox[0].body


class BrokenMailServer(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


def test_email_lookup_with_htmx_swaps_in_the_answer(client, shipped):
    response = client.post("/", {"mode": "email", "email": "jane.shopper@example.com"}, **HTMX)
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div id="lookup"') and b"<html" not in response.content


def test_email_links_are_rate_limited_per_address(client, shipped):
    data = {"mode": "email", "email": "jane.shopper@example.com"}
    for n in range(3):
        assert client.post("/", data, REMOTE_ADDR=f"198.51.100.{n}").status_code == 200
    response = client.post("/", data, REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many attempts" in response.content and b"<html" in response.content
    assert len(mail.outbox) == 3


def test_email_links_are_rate_limited_per_client(client, shipped):
    for n in range(3):
        client.post("/", {"mode": "email", "email": f"nobody{n}@example.org"})
    response = client.post("/", {"mode": "email", "email": "jane.shopper@example.com"})
    assert response.status_code == 429 and mail.outbox == []


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_failed_verifications_are_rate_limited_with_a_friendly_page(client, shipped):
    data = {"mode": "order", "order_number": "1001", "verification": "wrong@example.com"}
    for _ in range(3):
        assert client.post("/", data).status_code == 404
    blocked = client.post("/", {**data, "verification": "78701"})  # even the right factor now waits
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert b"Too many attempts" in blocked.content
    assert re.search(rb"please wait (a minute|\d+ minutes) before trying again", blocked.content)
    htmx = client.post("/", data, **HTMX)
    assert htmx.status_code == 429 and htmx["HX-Retarget"] == "#main" and b"<html" not in htmx.content
    page = client.get("/track/?order_number=1001&recipient_postal_code=78701")
    assert page.status_code == 429 and "Retry-After" in page


# --- Performance --------------------------------------------------------------------------------


def _order_with(account, number: str, trackings: int, checkpoints: int) -> Order:
    order = make_order(account, order_number=number)
    for t in range(trackings):
        tracking = ship(
            order, f"TBA{number}{t:08d}", carrier="amazon", estimated_delivery_date=date(2030, 1, 1)
        )
        for c in range(checkpoints):
            scan(tracking, "in_transit", days_ago(10 - c), location=f"Hub {c}")
    return order


def test_status_page_query_count_does_not_grow_with_shipments(client, account, django_assert_max_num_queries):
    small = _order_with(account, "7001", trackings=1, checkpoints=1)
    large = _order_with(account, "7002", trackings=4, checkpoints=8)
    client.get("/")  # the shops are loaded once per process, not per page
    # +2 since issue 13: the estimate history and the shop's problem texts, one query each
    with django_assert_max_num_queries(8) as small_queries:
        assert client.get(small.status_url(absolute=False)).status_code == 200
    with django_assert_max_num_queries(len(small_queries)) as large_queries:
        response = client.get(large.status_url(absolute=False) + "&all=1")
    assert response.status_code == 200 and response.text.count('<li class="event') == 32
    assert len(large_queries) == len(small_queries)


@override_settings(LOOKUP_FAILURE_RATE="2/15m")
def test_polling_never_repeats_a_wrong_factor_or_signature(client, shipped):
    page = client.get("/track/?tracking_number=1Z999AA10123456784&recipient_email=x%40y.com&s=forged")
    assert page.status_code == 200
    partials = re.findall(r'"(/track/(?:status|timeline)/\?[^"]+)"', page.text)
    assert partials and not any("y.com" in url or "forged" in url for url in partials)
    assert "x%40y.com" not in page.text and "x@y.com" not in page.text
    poll = re.search(r'hx-get="(/track/status/\?[^"]+)"', page.text)[1].replace("&amp;", "&")
    for _ in range(4):  # one failure was counted for the page itself, none for the polls
        assert client.get(poll, **HTMX).status_code == 200
