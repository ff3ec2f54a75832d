"""Cached answers must not undo the failed-guess lockout: an answer opened by an email or postal
code is never served from a cache, so a locked-out guesser cannot tell the right guess."""

import pytest
from django.test import override_settings

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

GUESSER = "198.51.100.9"


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001")
    scan(ship(order, "1Z999AA10123456784"), "in_transit", days_ago(1))
    return order


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
@pytest.mark.parametrize("path", ["/v4/track/orders/info/", "/v4/track/orders/info-widget/"])
def test_a_locked_out_guesser_gets_429_even_for_the_right_postal_code(client, shipped, path):
    right = {"order_number": "1001", "recipient_postal_code": "78701"}
    assert client.get(path, right).status_code == 200  # the shopper, whose answer could be cached
    for wrong in ("78702", "78703", "78704"):
        client.get(path, {**right, "recipient_postal_code": wrong}, REMOTE_ADDR=GUESSER)
    assert client.get(path, right, REMOTE_ADDR=GUESSER).status_code == 429


def test_answers_opened_by_a_factor_are_private(client, shipped):
    response = client.get(
        "/v4/track/orders/info-widget/", {"order_number": "1001", "recipient_postal_code": "78701"}
    )
    assert response.status_code == 200 and "public" not in response["Cache-Control"]
