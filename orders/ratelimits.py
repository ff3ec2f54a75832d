"""Abuse protection: sliding-window attempt counters, atomic, where cache eviction cannot reach.

Each counter is a sliding log of attempts (a Redis sorted set, or a deque per process without
Redis): an attempt is admitted only while fewer than `limit` attempts lie in the last `period`,
and admitting it and counting it are one atomic step (a Lua script). So a burst of 50 concurrent
guesses evaluates at most `limit` of them, and a burst straddling a window boundary cannot double
the limit as fixed windows do. Retry-After is when the oldest counted attempt leaves the window:
it follows from the caller's own attempts, never from a key or clock anyone could compute.

The counters live in RATELIMIT_REDIS_URL (default: the cache's Redis), under their own key
prefix; README.md explains why they want their own database with `maxmemory-policy noeviction`.
Without Redis they are per process (development, tests).

When the counters cannot be reached, `attempt` fails closed (CountersUnavailable, a 503 with
Retry-After): a guess is never evaluated uncounted. `check` and `consume(..., fail_open=True)`
fail open: requests that carry their own proof (signed links, API keys) keep working.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"(?P<count>[0-9]+)/(?P<number>[0-9]*)(?P<unit>[smhd])")


class RateLimited(Exception):
    status = 429

    def __init__(self, retry_after: float):
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(f"Too many attempts; retry in {self.retry_after} s.")


class CountersUnavailable(RateLimited):
    """The counters cannot be reached, so a guess cannot be counted: refuse it for now (503)."""

    status = 503


@dataclass(frozen=True)
class Rate:
    limit: int
    period: float  # seconds

    @classmethod
    def parse(cls, rate: str) -> Rate:
        """ "10/15m" → 10 per 900 s; units s, m, h, d (each setting's value read once per process)."""
        return _parsed(cls, rate)

    @classmethod
    def _parse(cls, rate: str) -> Rate:
        match = RATE.fullmatch(rate.strip())
        if match is None or int(match["count"]) < 1:
            raise ImproperlyConfigured(f"A rate looks like '10/15m', got {rate!r}")
        return cls(int(match["count"]), int(match["number"] or 1) * UNITS[match["unit"]])


@lru_cache(maxsize=64)
def _parsed(cls: type[Rate], rate: str) -> Rate:
    return cls._parse(rate)


def client_ip(request) -> str:
    """The caller's address; X-Forwarded-For only counts behind a configured number of proxies."""
    if request is None:
        return ""
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def _keys(scope: str, values: list[str]) -> list[str]:
    # No personal data in the counter store: values are hashed.
    return [f"{scope}:{hashlib.sha256(value.encode()).hexdigest()[:40]}" for value in filter(None, values)]


class Attempt:
    """An admitted attempt; `succeeded()` takes it back (only failures should count)."""

    def __init__(self, keys: list[str], token: str):
        self.keys, self.token = keys, token

    def succeeded(self) -> None:
        if not self.keys:
            return
        try:
            counters().release(self.keys, self.token)
        except Exception:
            logger.warning("rate-limit counters unavailable; a successful attempt stays counted")


def attempt(scope: str, values: list[str], rate: str) -> Attempt:
    """Admit and count one attempt against every value (an IP, an identity), atomically; raise
    RateLimited if any of them is at its limit (nothing is counted then). Fails closed."""
    keys = _keys(scope, values)
    if not keys or not settings.RATELIMIT_ENABLE:
        return Attempt([], "")
    parsed, token = Rate.parse(rate), uuid.uuid4().hex
    try:
        wait = counters().acquire(keys, parsed.limit, parsed.period, token, time.time())
    except Exception as exc:  # one line, no traceback: an outage is not a bug
        logger.warning("rate-limit counters unavailable (%s); refusing a guess", type(exc).__name__)
        raise CountersUnavailable(settings.RATELIMIT_UNAVAILABLE_RETRY) from None
    if wait > 0:
        raise RateLimited(wait)
    return Attempt(keys, token)


def check(scope: str, values: list[str], rate: str) -> None:
    """Raise RateLimited if any of `values` is at its limit; counts nothing. Fails open."""
    keys = _keys(scope, values)
    if not keys or not settings.RATELIMIT_ENABLE:
        return
    parsed = Rate.parse(rate)
    try:
        wait = counters().wait(keys, parsed.limit, parsed.period, time.time())
    except Exception as exc:
        logger.warning("rate-limit counters unavailable (%s); not checking", type(exc).__name__)
        return
    if wait > 0:
        raise RateLimited(wait)


def exceeded(scope: str, values: list[str], rate: str) -> RateLimited | None:
    """The RateLimited error `check` would raise, or None. Fails open."""
    try:
        check(scope, values, rate)
    except RateLimited as error:
        return error
    return None


def hit(scope: str, values: list[str], rate: str) -> None:
    """Count one failure after the fact (a key already at its limit stays there). Prefer
    `attempt`, which counts before the guess is evaluated and so cannot be raced past."""
    with contextlib.suppress(RateLimited):
        attempt(scope, values, rate)


def consume(scope: str, values: list[str], rate: str, *, fail_open: bool = False) -> None:
    """Count an action limited whether or not it succeeds (sending email, API calls)."""
    try:
        attempt(scope, values, rate)
    except CountersUnavailable:
        if not fail_open:
            raise


# --- where the counters live ------------------------------------------------------------------


class MemoryCounters:
    """Per-process sliding logs (development and tests; not shared between workers)."""

    def __init__(self):
        self.logs: dict[str, deque[tuple[float, str]]] = {}
        self.lock = threading.Lock()

    def _live(self, key: str, period: float, now: float) -> deque:
        log = self.logs.setdefault(key, deque())
        while log and log[0][0] <= now - period:
            log.popleft()
        return log

    def _wait(self, keys, limit, period, now) -> float:
        logs = [self._live(key, period, now) for key in keys]
        waits = [log[0][0] + period - now for log in logs if len(log) >= limit]
        return max(waits, default=0.0)

    def acquire(self, keys, limit, period, token, now) -> float:
        with self.lock:
            if len(self.logs) > 10_000:
                self._prune(period, now)
            wait = self._wait(keys, limit, period, now)
            if wait <= 0:
                for key in keys:
                    self.logs[key].append((now, token))
            return wait

    def wait(self, keys, limit, period, now) -> float:
        with self.lock:
            return self._wait(keys, limit, period, now)

    def release(self, keys, token) -> None:
        with self.lock:
            for key in keys:
                log = self.logs.get(key, deque())
                for entry in [entry for entry in log if entry[1] == token]:
                    log.remove(entry)

    def _prune(self, period, now) -> None:
        for key in [key for key, log in self.logs.items() if not log or log[-1][0] <= now - period]:
            del self.logs[key]

    def clear(self) -> None:
        with self.lock:
            self.logs.clear()

    def ping(self) -> dict:
        return {"status": "ok", "store": "memory"}


# KEYS: the counters; ARGV: now (ms), period (ms), limit, token. Returns the wait in ms (0: admitted).
_ACQUIRE = """
local now, period, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + period - now)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, period)
end
return 0
"""


class RedisCounters:
    """Sorted-set sliding logs in Redis; one Lua script admits and counts atomically."""

    def __init__(self, url: str, timeout: float, prefix: str):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # a refused or frozen server costs one timeout, not several
        )
        self.script = self.client.register_script(_ACQUIRE)
        self.prefix = prefix

    def acquire(self, keys, limit, period, token, now) -> float:
        keys = [self.prefix + key for key in keys]
        return int(self.script(keys=keys, args=[int(now * 1000), int(period * 1000), limit, token])) / 1000

    def wait(self, keys, limit, period, now) -> float:
        waits, keys = [], [self.prefix + key for key in keys]
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.zcount(key, f"({int((now - period) * 1000)}", "+inf")
            pipe.zrangebyscore(key, f"({int((now - period) * 1000)}", "+inf", start=0, num=1, withscores=True)
        results = pipe.execute()
        for count, oldest in zip(results[::2], results[1::2], strict=True):
            if count >= limit and oldest:
                waits.append(oldest[0][1] / 1000 + period - now)
        return max(waits, default=0.0)

    def release(self, keys, token) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.zrem(self.prefix + key, token)
        pipe.execute()

    def clear(self) -> None:
        for key in self.client.scan_iter(f"{self.prefix}*", count=1000):
            self.client.delete(key)

    def ping(self) -> dict:
        self.client.ping()
        try:
            found = self.client.config_get("maxmemory-policy")
            policy = next(iter(found.values()), b"")
            policy = policy.decode() if isinstance(policy, bytes) else str(policy)
        except Exception:  # CONFIG may be renamed away on managed servers
            policy = "unknown"
        return {"status": "ok", "store": "redis", "maxmemoryPolicy": policy}


@lru_cache(maxsize=1)
def counters() -> MemoryCounters | RedisCounters:
    url = settings.RATELIMIT_REDIS_URL
    if url:
        return RedisCounters(url, settings.REDIS_SOCKET_TIMEOUT, settings.RATELIMIT_KEY_PREFIX)
    return MemoryCounters()


@receiver(setting_changed)
def _forget_counters(*, setting: str, **kwargs) -> None:
    if setting in ("RATELIMIT_REDIS_URL", "REDIS_SOCKET_TIMEOUT", "RATELIMIT_KEY_PREFIX"):
        counters.cache_clear()
