"""Odd input of any kind gets a 4xx (or the normal page), never a 500, and writes nothing."""

import pytest
from django.core import mail

from orders.models import Checkpoint, Order, Tracking

from .conftest import make_order, ship

pytestmark = pytest.mark.django_db

PATHS = ("/track/", "/track/status/", "/track/timeline/", "/")
QUERIES = [
    "order_number=%00",
    "order_number=" + "9" * 5000,
    "exp=-1&order_number=1001",
    "order_number=1001&exp=99999999999999999999",
    "lang=%27%22%3E%3Cscript%3E&order_number=1001",
    "order_number=1001&order_number=1002",
    "order_number=%FF%FE",
    "tracking_number=%F0%9F%98%80",
    "account=99999999999999999999999&order_number=1",
    "account=1&order_number=1001&s=" + "A" * 200,
    "open=1&open=x&tracking_number=1Z999AA10123456784",
    "shipment=-1&tracking_number=1Z999AA10123456784",
    "shipment=99999999999999999999&tracking_number=1Z999AA10123456784",
    "mode=%00",
]
FORMS = [
    {"mode": "order", "order_number": "\x00", "verification": "a"},
    {"mode": ["order", "email"]},
    {"mode": "email", "email": "a@b.c" * 100},
    {"mode": "order", "order_number": "1001", "verification": "\x00"},
]
# The verify form's hidden identifiers are resolver parameters: bad ones are a 400 too.
VERIFY_FORMS = [
    {"order_number": "1001", "verification": "78701", "account": "x" * 500},
    {"verification": "78701"},
    {"order_number": "1001", "external_order_id": "zz", "verification": "78701"},
    {"order_number": "1001", "verification": "\x00"},
]


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001")
    ship(order, "1Z999AA10123456784")
    return order


def state():
    return Order.objects.count(), Tracking.objects.count(), Checkpoint.objects.count(), len(mail.outbox)


@pytest.mark.parametrize("query", QUERIES)
def test_odd_query_strings_never_fail(client, shipped, query):
    for path in PATHS:
        response = client.get(f"{path}?{query}")
        assert response.status_code < 500, (path, response.status_code)
        assert "<script>" not in response.text.replace(
            '<script src="/static/js/htmx.min.js" defer></script>', ""
        )


@pytest.mark.parametrize(
    ("path", "data"), [("/", data) for data in FORMS] + [("/track/", data) for data in VERIFY_FORMS]
)
def test_odd_form_posts_are_refused_with_a_4xx_and_write_nothing(client, shipped, path, data):
    before = state()
    response = client.post(path, data)
    assert 400 <= response.status_code < 500, response.status_code
    assert state() == before


def test_undecodable_form_body_is_not_a_500(client, shipped):
    response = client.post("/", b"\xff\xfe=\xff", content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500
