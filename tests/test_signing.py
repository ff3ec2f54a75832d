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
