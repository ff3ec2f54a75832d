"""Unsubscribing from status emails: RFC 8058 one-click POST, the page, the address-wide stop."""

from __future__ import annotations

import pytest
from django.core import mail

from orders.notifications import emails
from orders.notifications.models import EmailNotification, EmailSuppression

from .conftest import make_order, scan, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def link_path(order) -> str:
    return "/" + emails.unsubscribe_url(order).split("://", 1)[1].split("/", 1)[1]


def test_one_click_post_stops_further_mail_for_the_order(client, order, commit):
    with commit():
        tracking = ship(order)
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    assert header == f"<{emails.unsubscribe_url(order)}>"
    path = link_path(order)
    response = client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "no more status emails about order" in response.content.decode()
    with commit():
        scan(tracking, "out_for_delivery")
    assert len(mail.outbox) == 1  # nothing after the unsubscribe
    assert EmailNotification.objects.order_by("-id").first().status == "suppressed"


def test_the_page_asks_first_and_writes_nothing_on_get(client, order):
    response = client.get(link_path(order))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Stop emails about order" in body and "J•••••••••••@example.com" in body
    assert EmailSuppression.objects.count() == 0


def test_stopping_the_address_covers_every_order_to_it_at_that_shop(client, account, commit):
    first = make_order(account)
    second = make_order(account, recipient_email="jane.shopper@EXAMPLE.com")
    response = client.post(link_path(first), {"scope": "address"})
    assert response.status_code == 200 and "no more order status emails" in response.content.decode()
    with commit():
        ship(second)
    assert mail.outbox == []


def test_a_forged_or_bad_link_is_a_400_and_writes_nothing(client, order):
    good = link_path(order)
    for path in (good[:-3] + "xx/", "/notifications/unsubscribe/ord_nope:abc/"):
        assert (
            client.post(
                path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
            ).status_code
            == 400
        )
        assert client.get(path).status_code == 400
    assert client.post(good, {"scope": "everything"}).status_code == 400
    assert EmailSuppression.objects.count() == 0


def test_the_page_speaks_the_orders_language(client, account):
    order = make_order(account, language="de")
    assert "Keine E-Mails mehr zur Bestellung" in client.get(link_path(order)).content.decode()
