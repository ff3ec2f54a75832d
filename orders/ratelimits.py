"""Abuse protection: fixed-window counters in the Django cache (django-ratelimit's core).

Local memory by default, Redis when CACHE_URL/REDIS_URL is set (needed with several workers, since
local memory is per process).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django_ratelimit.core import get_usage


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Too many attempts; retry in {retry_after} s.")
        self.retry_after = max(1, retry_after)


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


def _usage(scope: str, value: str, rate: str, *, increment: bool) -> dict | None:
    digest = hashlib.sha256(value.encode()).hexdigest()  # no personal data in cache keys
    return get_usage(
        None, group=f"statuspage.{scope}", key=lambda group, request: digest, rate=rate, increment=increment
    )


def exceeded(scope: str, values: list[str], rate: str) -> RateLimited | None:
    """The RateLimited error to raise if any of `values` (an IP, an identity) is over `rate`."""
    for value in filter(None, values):
        usage = _usage(scope, value, rate, increment=False)
        if usage and usage["count"] >= usage["limit"]:
            return RateLimited(usage["time_left"])
    return None


def check(scope: str, values: list[str], rate: str) -> None:
    """Raise RateLimited if any of `values` is already over `rate`."""
    if error := exceeded(scope, values, rate):
        raise error


def hit(scope: str, values: list[str], rate: str) -> None:
    """Count one attempt against each of `values`."""
    for value in filter(None, values):
        _usage(scope, value, rate, increment=True)


def consume(scope: str, values: list[str], rate: str) -> None:
    """Count, and refuse past the limit: for actions limited whether or not they succeed (sending
    email, API calls). One atomic increment per value, so concurrent requests cannot slip past."""
    for value in filter(None, values):
        usage = _usage(scope, value, rate, increment=True)
        if usage and usage["should_limit"]:
            raise RateLimited(usage["time_left"])
