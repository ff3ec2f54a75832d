"""The current state version of each order, published to the cache on every committed change.

Cached renderings (the PNG widget) remember the state version they were drawn from and stay
valid while the published version is unchanged, so a cache hit needs no database query. With
the local-memory cache each process only sees its own publications; entries then also expire
after their timeout (use Redis with several workers).
"""

from django.core.cache import cache
from django.db import transaction

STATE_TIMEOUT = 7 * 24 * 3600


def state_key(order_id: int) -> str:
    return f"order-state:{order_id}"


def publish(order_id: int, state_version: int) -> None:
    """Announce a new state version once the surrounding transaction has committed."""
    transaction.on_commit(lambda: cache.set(state_key(order_id), state_version, STATE_TIMEOUT))


DELETED = 0  # state versions start at 1: no cached answer was ever built from this one


def forget(order_id: int) -> None:
    """A deleted order has no state: every answer cached for it is retired once this commits.

    A tombstone rather than a deletion: a request that read the order just before it went would
    otherwise `remember` its version again (an `add` succeeds on a missing key) and bring its
    answers back.
    """
    transaction.on_commit(lambda: cache.set(state_key(order_id), DELETED, STATE_TIMEOUT))


def current(order_id: int) -> int | None:
    return cache.get(state_key(order_id))


def remember(order_id: int, state_version: int) -> None:
    """Publish the version just read for an order no change has published yet.

    `add` never overwrites a newer version published meanwhile.
    """
    cache.add(state_key(order_id), state_version, STATE_TIMEOUT)
