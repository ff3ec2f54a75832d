"""One brand everywhere (issue 13): every shopper page — lookup, limited view, lockout, expired
link, errors — carries the shop's name and colour once the shop is known from the host name, the
URL or the only account; with several shops and none of these, no shop's name is shown."""

import re
import time

import pytest
from django.test import override_settings

from orders import lifecycle

from .conftest import make_account, make_order, ship

pytestmark = pytest.mark.django_db

HOSTS = {"status.shop-a.test": "shop-a", "status.shop-b.test": "shop-b"}


@pytest.fixture
def shops(db):
    a = make_account(name="Shop Alpha", slug="shop-a", brand_color="#aa0000")
    b = make_account(name="Shop Beta", slug="shop-b", brand_color="#0000bb")
    order_a = make_order(a, order_number="1001", postal_code="78701")
    make_order(b, order_number="1001", postal_code="10001")
    ship(order_a, "1Z999AA10123456784")
    return a, b, order_a


def branded_by(response, account) -> bool:
    html = response.content.decode()
    return account.name in html and f"/brand/{account.pk}.css" in html


def names_no_shop(response, *accounts) -> bool:
    html = response.content.decode()
    return all(a.name not in html for a in accounts) and "/brand/" not in html


@override_settings(
    ACCOUNT_HOSTS=HOSTS, ALLOWED_HOSTS=["status.shop-a.test", "status.shop-b.test", "testserver"]
)
def test_host_name_brands_every_page_and_scopes_the_lookup(client, shops):
    a, b, order_a = shops
    host = {"HTTP_HOST": "status.shop-a.test"}
    pages = {
        "lookup": client.get("/", **host),
        "limited": client.get("/track/?tracking_number=1Z999AA10123456784", **host),
        "verify": client.get("/track/?order_number=1001", **host),
        "bad link": client.get("/track/?order_numb", **host),
        "not found": client.get("/no-such-page/", **host),
        "expired": client.get(order_a.status_url(absolute=False, exp=int(time.time()) - 10), **host),
    }
    for name, response in pages.items():
        assert branded_by(response, a), name
        assert b.name not in response.content.decode(), name
    assert 'name="shop"' not in pages["lookup"].content.decode()  # the host said which shop
    # On shop A's domain, shop B's order 1001 is not found with B's postal code, A's is found.
    wrong = client.post("/", {"mode": "order", "order_number": "1001", "verification": "10001"}, **host)
    right = client.post("/", {"mode": "order", "order_number": "1001", "verification": "78701"}, **host)
    assert (wrong.status_code, right.status_code) == (404, 303)
    # Naming the other shop on this shop's domain is refused (in words, with the form).
    other = client.get(f"/track/?account={b.pk}&order_number=1001", **host)
    assert other.status_code == 400 and branded_by(other, a)


@override_settings(LOOKUP_FAILURE_RATE="1/15m")
def test_lockout_page_is_branded_by_the_url(client, shops):
    a, _b, _order = shops
    client.get(f"/track/?account={a.slug}&order_number=1001&recipient_postal_code=00000")
    locked = client.get(f"/track/?account={a.slug}&order_number=1001&recipient_postal_code=11111")
    assert locked.status_code == 429 and branded_by(locked, a)


def test_several_shops_and_no_hint_name_no_shop(client, shops):
    a, b, _order = shops
    for response in (client.get("/"), client.get("/track/?order_numb"), client.get("/nothing-here/")):
        assert names_no_shop(response, a, b)
    assert 'name="shop"' in client.get("/").content.decode()


def test_single_shop_deployment_brands_error_pages(client, account):
    for response in (client.get("/track/?order_numb"), client.get("/nothing-here/"), client.get("/")):
        assert branded_by(response, account)


def test_revoked_link_page_is_branded(client, shops):
    a, _b, order = shops
    url = order.status_url(absolute=False)
    lifecycle.revoke_links(order)
    response = client.get(url)
    assert response.status_code == 410 and branded_by(response, a)


def test_links_email_is_branded_and_in_each_orders_language(client, shops):
    from django.core import mail

    _a, b, _order_a = shops
    german = make_order(b, order_number="2002", language="de")
    response = client.post("/?mode=email", {"mode": "email", "email": "jane.shopper@example.com"})
    assert response.status_code == 200
    # Shop Beta has an English order 1001 and a German 2002: one email each, never mixed.
    assert sorted(m.subject for m in mail.outbox) == [
        "Ihre Bestellungen bei Shop Beta",
        "Your orders at Shop Alpha",
        "Your orders at Shop Beta",
    ]
    english = next(m for m in mail.outbox if "Shop Alpha" in m.subject)
    deutsch = next(m for m in mail.outbox if "Shop Beta" in m.subject)
    assert english.subject == "Your orders at Shop Alpha" and "Order 1001" in english.body
    assert deutsch.subject == "Ihre Bestellungen bei Shop Beta" and "Bestellung 2002" in deutsch.body
    html = deutsch.alternatives[0][0]
    assert "#0000bb" in html and "Shop Beta" in html and 'lang="de"' in html
    assert re.search(r"Shop Alpha", html) is None and german.order_number in html


def test_unavailable_widget_is_branded_when_the_url_names_the_shop(client, shops):
    import io

    from PIL import Image

    a, _b, _order = shops
    url = "/v4/track/orders/info-widget/"
    branded = client.get(f"{url}?account={a.slug}&order_number=9999&recipient_postal_code=1")
    wrong = client.get(f"{url}?account={a.slug}&order_number=1001&recipient_postal_code=1")
    neutral = client.get(f"{url}?tracking_number=1Z999AA10000000000")
    assert branded.status_code == wrong.status_code == neutral.status_code == 404
    assert branded.content == wrong.content  # unknown and unverified still look the same
    top_left = Image.open(io.BytesIO(branded.content)).convert("RGB").getpixel((5, 5))
    assert top_left == (0xAA, 0x00, 0x00)
    assert Image.open(io.BytesIO(neutral.content)).convert("RGB").getpixel((5, 20)) == (255, 255, 255)
