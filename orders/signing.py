"""HMAC-signed links that open an order without asking for a second factor.

The signature `s` is an HMAC-SHA256 (truncated to 192 bits, URL-safe base64) over a canonical
message: purpose, account, the order (id and number; or courier + tracking number for tracking
links), the order's link version and the optional expiry `exp` (unix time). So:

- changing any parameter, or the expiry, invalidates the link;
- a widget image link (purpose "widget") opens the image only, never the page or the API;
- staff revoke every link of an order by bumping its link version (orders.lifecycle.revoke_links);
- keys come from SECRET_KEY; links signed with a key in SECRET_KEY_FALLBACKS keep working during
  a rotation;
- comparison is constant-time.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.crypto import constant_time_compare


class SignableOrder(Protocol):
    """What a link signs of an order. A protocol, not the model: models build their links with
    this module, so it must not import them back."""

    pk: int
    account_id: int
    order_number: str
    link_version: int


class SignableTracking(Protocol):
    order_id: int
    carrier: str
    tracking_number: str
    order: SignableOrder


SIGNATURE_BYTES = 24  # 192 bits
PURPOSE_ORDER = "order"  # opens the order everywhere: page, info API, widget
PURPOSE_TRACKING = "tracking"  # the same, reached through one of its shipments
PURPOSE_WIDGET = "widget"  # opens only the PNG widget: image URLs pass through mail proxies
# How many earlier link versions to try when telling "revoked" apart from "forged".
REVOKED_LOOKBACK = 5


class LinkState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INVALID = "invalid"


@dataclass(frozen=True)
class SignedSubject:
    """What a link is about: an order, or one shipment of it."""

    purpose: str
    account_id: int
    identifier: str

    @classmethod
    def for_order(cls, order: SignableOrder, purpose: str = PURPOSE_ORDER) -> SignedSubject:
        # The primary key too: a deleted order's links must not open a new one with its number.
        return cls(purpose, order.account_id, f"{order.pk}:{order.order_number}")

    @classmethod
    def for_tracking(cls, tracking: SignableTracking) -> SignedSubject:
        identifier = f"{tracking.order_id}:{tracking.carrier}:{tracking.tracking_number}"
        return cls(PURPOSE_TRACKING, tracking.order.account_id, identifier)


def _keys() -> Iterator[str]:
    yield settings.SECRET_KEY
    yield from settings.SECRET_KEY_FALLBACKS


def _message(subject: SignedSubject, link_version: int, exp: int | None) -> bytes:
    parts = ("statuspage-link-v1", subject.purpose, str(subject.account_id), subject.identifier)
    return "\x1f".join((*parts, str(link_version), "" if exp is None else str(exp))).encode()


def _signature(key: str, message: bytes) -> str:
    # Derive a purpose-specific key so these HMACs can never collide with Django's own signatures.
    derived = hashlib.sha256(b"statuspage.orders.signing" + key.encode()).digest()
    digest = hmac.new(derived, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(subject: SignedSubject, *, link_version: int, exp: int | None = None) -> str:
    return _signature(settings.SECRET_KEY, _message(subject, link_version, exp))


def _matches(signature: str, subject: SignedSubject, link_version: int, exp: int | None) -> bool:
    message = _message(subject, link_version, exp)
    # Check every key without short-circuiting on the first match.
    results = [constant_time_compare(signature, _signature(key, message)) for key in _keys()]
    return any(results)


def verify(
    signature: str, subject: SignedSubject, *, link_version: int, exp: int | None, now: float | None = None
) -> LinkState:
    """Tell whether `signature` opens `subject`.

    EXPIRED and REVOKED are only reported for signatures that really were issued by us, so they
    reveal nothing to someone guessing; anything else is INVALID.
    """
    if not signature:
        return LinkState.INVALID
    if _matches(signature, subject, link_version, exp):
        if exp is not None and exp <= (now if now is not None else time.time()):
            return LinkState.EXPIRED
        return LinkState.VALID
    earliest = max(1, link_version - REVOKED_LOOKBACK)
    if any(_matches(signature, subject, version, exp) for version in range(earliest, link_version)):
        return LinkState.REVOKED
    return LinkState.INVALID


def order_signature(order: SignableOrder, *, exp: int | None = None, purpose: str = PURPOSE_ORDER) -> str:
    return sign(SignedSubject.for_order(order, purpose), link_version=order.link_version, exp=exp)


def tracking_signature(tracking: SignableTracking, *, exp: int | None = None) -> str:
    return sign(SignedSubject.for_tracking(tracking), link_version=tracking.order.link_version, exp=exp)
