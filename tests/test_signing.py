"""Signed links: tamper, expiry, key rotation and revocation."""

import time

import pytest
from django.test import override_settings

from orders import lifecycle, signing
from orders.signing import LinkState, SignedSubject

from .conftest import make_order, ship

pytestmark = pytest.mark.django_db


def _verify(order, signature, exp=None, now=None):
    return signing.verify(
        signature, SignedSubject.for_order(order), link_version=order.link_version, exp=exp, now=now
    )


def test_signature_has_at_least_128_bits_and_is_url_safe(order):
    signature = signing.order_signature(order)
    assert len(signature) >= 22  # 128 bits in base64
    assert set(signature) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert _verify(order, signature) == LinkState.VALID


def test_tampered_signature_or_other_order_is_invalid(account):
    order, other = make_order(account), make_order(account)
    signature = signing.order_signature(order)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert _verify(order, flipped) == LinkState.INVALID
    assert _verify(other, signature) == LinkState.INVALID
    assert _verify(order, "") == LinkState.INVALID


def test_expiry_is_part_of_the_signed_message(order):
    exp = int(time.time()) + 3600
    signature = signing.order_signature(order, exp=exp)
    assert _verify(order, signature, exp=exp) == LinkState.VALID
    assert _verify(order, signature, exp=exp + 86400) == LinkState.INVALID  # extending it breaks it
    assert _verify(order, signature, exp=None) == LinkState.INVALID
    assert _verify(order, signature, exp=exp, now=exp + 1) == LinkState.EXPIRED


def test_rotated_key_still_opens_links_from_the_fallback(order):
    with override_settings(SECRET_KEY="old-key-" + "x" * 40):
        old = signing.order_signature(order)
    with override_settings(SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 40]):
        assert _verify(order, old) == LinkState.VALID
    with override_settings(SECRET_KEY="new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=[]):
        assert _verify(order, old) == LinkState.INVALID


def test_revoking_makes_old_links_revoked_and_new_links_valid(order):
    old = signing.order_signature(order)
    lifecycle.revoke_links(order)
    assert _verify(order, old) == LinkState.REVOKED
    assert _verify(order, signing.order_signature(order)) == LinkState.VALID


def test_tracking_links_are_bound_to_the_shipment(order):
    tracking = ship(order)
    signature = signing.tracking_signature(tracking)
    subject = SignedSubject.for_tracking(tracking)
    assert signing.verify(signature, subject, link_version=order.link_version, exp=None) == LinkState.VALID
    assert _verify(order, signature) == LinkState.INVALID  # not an order link


def test_a_widget_image_link_opens_the_widget_only(client, order):
    """Image URLs pass through mail proxies; they must not be keys to the order's details."""
    widget_url = order.status_url(kind="widget", absolute=False)
    query = widget_url.split("?", 1)[1]
    assert client.get(widget_url).status_code == 200
    assert client.get(f"/v4/track/orders/info/?{query}").status_code == 404
    page = client.get(f"/track/?{query}")
    assert order.recipient_name not in page.content.decode() and order.street1 not in page.content.decode()
    # A full order link still draws the widget.
    order_query = order.status_url(absolute=False).split("?", 1)[1]
    assert client.get(f"/v4/track/orders/info-widget/?{order_query}").status_code == 200


def test_links_of_a_deleted_order_do_not_open_a_new_order_with_its_number(account):
    old = make_order(account, order_number="R-1")
    signature = signing.order_signature(old)
    old.delete()
    new = make_order(account, order_number="R-1")
    assert _verify(new, signature) == LinkState.INVALID


def test_an_expiry_of_zero_is_not_the_same_message_as_no_expiry(order):
    signature = signing.order_signature(order)
    assert _verify(order, signature, exp=0) == LinkState.INVALID
