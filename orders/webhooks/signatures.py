"""Inbound webhook signatures and the errors a refused webhook request gets.

Statuspage-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from django.conf import settings

from orders.errors import RequestRefused
from orders.models import Account

SIGNATURE_HEADER = "Statuspage-Signature"
DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: "²".isdigit() is True, int("²") is not
HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class WebhookError(RequestRefused):
    """A webhook request refused before anything is stored (401, 400, 404, 413, 422)."""


# --- signature ----------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender computes (also used by tests, benchmarks and docs)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, *, now: float | None = None) -> None:
    """Raise WebhookError(401) unless `header` signs `body` with `secret` within the tolerance."""
    if not header:
        raise _unauthorized(f"The {SIGNATURE_HEADER} header is missing.")
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and DIGITS.fullmatch(value):
            timestamp = int(value)
        elif name == "v1" and HEX_SHA256.fullmatch(value):
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise _unauthorized(f"The {SIGNATURE_HEADER} header must look like t=<unix time>,v1=<hex>.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > settings.WEBHOOK_TOLERANCE_SECONDS:
        seconds = settings.WEBHOOK_TOLERANCE_SECONDS
        raise _unauthorized(f"The signature timestamp is more than {seconds} seconds away from our clock.")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    # Check every v1 (a sender may sign with an old and a new secret during a rotation).
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise _unauthorized("The signature does not match the body.")


def _unauthorized(reason: str) -> WebhookError:
    return WebhookError(
        401,
        "unauthorized",
        "The webhook signature is missing or invalid",
        field=SIGNATURE_HEADER,
        reason=reason,
    )


def find_account(value: str | None, *, fresh: bool = False) -> Account:
    """The `account` query parameter (id or slug); optional when there is a single account.

    A deployment has a few accounts and a feed sends many events: each process keeps the accounts
    it found for ACCOUNT_CACHE_SECONDS, without asking anyone on each request (orders.cache.accounts
    asks Redis for a token; this check comes free with the event's INSERT instead). That copy
    never lets a stale secret through: an event is
    stored only if the secret its signature was checked with is still the account's (see
    orders.webhooks.storage), and a signature the copy refuses is checked again
    against the database (`fresh`) before the 401, so a sender that switched to a rotated secret
    is not refused. What a copy can keep for that long: a renamed slug, or an account that
    stopped being the only one, still answering requests that name it the old way.
    """
    key = (value or "").strip()
    now = time.monotonic()
    cached = _accounts.get(key)
    if cached is not None and not fresh and cached[0] > now:
        return cached[1]
    account = _lookup(key)
    if len(_accounts) >= 1000:  # only found accounts are kept, but a key is whatever was sent
        _accounts.clear()
    _accounts[key] = (now + ACCOUNT_CACHE_SECONDS, account)
    return account


ACCOUNT_CACHE_SECONDS = 30.0
_accounts: dict[str, tuple[float, Account]] = {}


def forget_accounts() -> None:
    _accounts.clear()


def _lookup(value: str) -> Account:
    if value and not value.isprintable():
        raise WebhookError(
            400, "validation_error", "Unknown account", field="account", reason="No such account."
        )
    account = Account.objects.identified_by(value) if value else Account.objects.the_only_one()
    if value and account is None:
        raise WebhookError(
            400, "validation_error", "Unknown account", field="account", reason="No such account."
        )
    if account is None:
        raise WebhookError(
            400, "validation_error", "The account parameter is required",
            field="account", reason="Add ?account=<id or slug> to the webhook URL.",
        )  # fmt: skip
    return account
