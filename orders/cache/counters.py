"""Counters in the shared cache whose window starts with their first count (answer budgets,
carrier call budgets)."""

from __future__ import annotations

from django.core.cache import cache


def count(key: str, *, by: int = 1, window: int) -> int:
    """The counter at `key` after adding `by`; it starts at 0 and lasts `window` seconds from its
    first count. One round trip on Redis (statuspage.redis_cache), Django's add and incr on any
    other cache. Raises ValueError when the counter cannot be had (the cache is away, or it
    expired between the two calls of another cache)."""
    add_and_incr = getattr(cache, "add_and_incr", None)
    if add_and_incr is not None:
        return add_and_incr(key, by, window)
    cache.add(key, 0, window)
    return cache.incr(key, by)
