"""The current state version of each order, published to the cache on every committed change.

Cached renderings (the PNG widget, info API answers) remember the state version they were drawn
from and stay valid while the published version is unchanged, so a cache hit needs no database
query.

A publication can fail (Redis down, frozen, or refusing writes) after the database change has
committed; the change must still take effect. So a published version is never trusted for long:
it expires after CACHE_STATE_SECONDS (default 60), and a missing version is re-read from the
database (one primary-key query per order per interval). A revocation, deletion or state change
that could not be published therefore retires the cached answers within CACHE_STATE_SECONDS
(plus CACHE_RECHECK_SECONDS for a worker's local copy), and the request that made it still
succeeds: a failed publication is logged, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)
TOMBSTONE_SECONDS = 24 * 3600  # longer than any answer is cached


def state_key(order_id: int) -> str:
    return f"order-state:{order_id}"


def publish(order_id: int, state_version: int) -> None:
    """Announce a new state version once the surrounding transaction has committed."""
    transaction.on_commit(
        lambda: _quietly(cache.set, state_key(order_id), state_version, settings.CACHE_STATE_SECONDS)
    )


DELETED = 0  # state versions start at 1: no cached answer was ever built from this one


def forget(order_id: int) -> None:
    """A deleted order has no state: every answer cached for it is retired once this commits.

    A tombstone rather than a deletion: a request that read the order just before it went would
    otherwise `remember` its version again (an `add` succeeds on a missing key) and bring its
    answers back. It outlives every answer cached before (and, should it fail to be written, a
    missing version is re-read from the database, where the order is gone).
    """
    transaction.on_commit(lambda: _quietly(cache.set, state_key(order_id), DELETED, TOMBSTONE_SECONDS))


def current(order_id: int) -> int | None:
    """The order's state version: the published one, else the database's (None: no such order)."""
    version = cache.get(state_key(order_id))
    if version is None:
        order_model = apps.get_model("orders", "Order")
        version = order_model.objects.filter(pk=order_id).values_list("state_version", flat=True).first()
        if version is not None:
            remember(order_id, version)
    return version


def remember(order_id: int, state_version: int) -> None:
    """Publish the version just read for an order no change has published yet.

    `add` never overwrites a newer version published meanwhile.
    """
    _quietly(cache.add, state_key(order_id), state_version, settings.CACHE_STATE_SECONDS)


def _quietly(operation, *args) -> None:
    try:
        operation(*args)
    except Exception as exc:  # the database change stands; the version expires within the bound
        logger.warning("could not publish an order state version (%s)", type(exc).__name__)


# --- accounts ---------------------------------------------------------------------------------
# Pages carry their shop's brand (name, logo, colour, support address, problem texts), which
# changes without any order changing. One token names the current state of all accounts: each
# account change replaces it, and whatever was built from accounts (the in-process account
# directory, cached pages, whose keys include it) is used only while it is unchanged.

ACCOUNTS_KEY = "accounts-state"


class _AccountsToken:
    """The token as this process last read it, re-read at most every CACHE_RECHECK_SECONDS."""

    def __init__(self):
        self.value: str | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()

    def get(self) -> str | None:
        now = time.monotonic()
        if self.value is not None and now - self.checked_at < settings.CACHE_RECHECK_SECONDS:
            return self.value
        try:
            value = cache.get(ACCOUNTS_KEY)
            if value is None:  # expired, evicted or never written: a new one retires everything
                cache.add(ACCOUNTS_KEY, uuid.uuid4().hex, settings.CACHE_STATE_SECONDS)
                value = cache.get(ACCOUNTS_KEY)
        except Exception as exc:
            logger.warning("accounts version not read (%s)", type(exc).__name__)
            value = None
        with self.lock:
            self.value, self.checked_at = value, now
        return value

    def forget(self) -> None:
        with self.lock:
            self.value = None


_accounts_token = _AccountsToken()


def accounts_version() -> str | None:
    """The accounts' current token; None when the cache cannot say (then nothing built from
    accounts may be reused: ask the database)."""
    return _accounts_token.get()


def forget_accounts_version() -> None:
    """Read the token from the cache next time (tests: a cleared cache)."""
    _accounts_token.forget()


def accounts_changed() -> None:
    """An account (or its problem texts) changed: retire everything built from the old state.

    Now, so this process and the tests see it at once, and again once the transaction commits,
    so nothing another process rebuilt from the not-yet-committed state in between survives it.
    A lost publication is bounded like an order's: the token expires after CACHE_STATE_SECONDS.
    """
    _replace_accounts_token()
    transaction.on_commit(_replace_accounts_token)


def _replace_accounts_token() -> None:
    _accounts_token.forget()
    _quietly(cache.set, ACCOUNTS_KEY, uuid.uuid4().hex, settings.CACHE_STATE_SECONDS)
