"""Django's Redis cache backend, made safe to lose: Redis is an optimisation, never a dependency.

- Every call gives up after REDIS_SOCKET_TIMEOUT seconds (default 0.25; connecting too), with no
  retries: a stopped or frozen server costs one short timeout, not a hung worker.
- A failed call degrades instead of raising: a read is a miss, a write is skipped (and logged).
  Callers then answer from the database. Anything cached stays correct regardless: answers are
  only served while the order's state version matches, and state versions expire after
  CACHE_STATE_SECONDS (orders.cache.versions), so a write that was skipped cannot keep a stale
  answer alive for longer than that.
- After a connection failure or timeout, the cache is skipped altogether for CACHE_OUTAGE_SECONDS
  (per process), so an outage costs each worker one timeout per interval rather than one per call.
  A refused write (`maxmemory` reached under `noeviction`, a read-only replica) is skipped alone.

It also reuses one redis-py client per connection pool: Django's `RedisCacheClient.get_client()`
builds a new `redis.Redis` for every operation, which with redis-py 5 and later rebuilds its
table of response callbacks each time (~120 µs, several times the round trip to Redis itself;
bench/shopper_throughput.py).
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        timeout = settings.REDIS_SOCKET_TIMEOUT
        kwargs.setdefault("socket_timeout", timeout)
        kwargs.setdefault("socket_connect_timeout", timeout)
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class Outage:
    """Per-process memory of a recent connection failure: while it lasts, skip the cache."""

    def __init__(self):
        self.until = 0.0
        self.lock = threading.Lock()

    @property
    def ongoing(self) -> bool:
        return time.monotonic() < self.until

    def begin(self) -> None:
        with self.lock:
            first = not self.ongoing
            self.until = time.monotonic() + settings.CACHE_OUTAGE_SECONDS
        if first:
            logger.warning(
                "cache unreachable; answering from the database for %ss", settings.CACHE_OUTAGE_SECONDS
            )

    def end(self) -> None:
        self.until = 0.0


def _degrading(fallback):
    """Run the cache operation; on a Redis error return `fallback(*args, **kwargs)` instead."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if self.outage.ongoing:
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                self.outage.begin()
            except RedisError as exc:  # e.g. OOM under noeviction, READONLY: skip this call only
                logger.warning("cache refused %s: %s", method.__name__, exc)
            return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, version=None):
    return default


def _no_counter(*args, **kwargs):
    raise ValueError("the cache is unavailable")


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self.outage = Outage()

    get = _degrading(_default)(DjangoRedisCache.get)
    get_many = _degrading(lambda keys, version=None: {})(DjangoRedisCache.get_many)
    has_key = _degrading(lambda key, version=None: False)(DjangoRedisCache.has_key)
    set = _degrading(lambda *args, **kwargs: None)(DjangoRedisCache.set)
    add = _degrading(lambda *args, **kwargs: False)(DjangoRedisCache.add)
    touch = _degrading(lambda *args, **kwargs: False)(DjangoRedisCache.touch)
    set_many = _degrading(lambda data, *args, **kwargs: list(data))(DjangoRedisCache.set_many)
    delete = _degrading(lambda *args, **kwargs: False)(DjangoRedisCache.delete)
    delete_many = _degrading(lambda *args, **kwargs: None)(DjangoRedisCache.delete_many)
    incr = _degrading(_no_counter)(DjangoRedisCache.incr)
    clear = _degrading(lambda *args, **kwargs: False)(DjangoRedisCache.clear)

    @_degrading(_no_counter)
    def add_and_incr(self, key, delta: int, timeout: int, version=None) -> int:
        """`add(key, 0, timeout)` then `incr(key, delta)` as one transaction in one round trip
        (Django's take three: SET NX, EXISTS, INCRBY): a counter whose window of `timeout` (> 0)
        seconds starts with its first count, and which cannot expire between the two."""
        key = self.make_and_validate_key(key, version=version)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=True)
        pipe.set(key, 0, ex=int(timeout), nx=True)
        pipe.incrby(key, delta)
        return pipe.execute()[1]

    def ping(self) -> dict:
        """For /readyz: raises when Redis cannot be reached (whatever the outage memory says)."""
        client = self._cache.get_client(write=True)
        started = time.monotonic()
        client.ping()
        self.outage.end()
        return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}
