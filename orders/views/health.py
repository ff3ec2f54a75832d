"""Health endpoints for load balancers and orchestrators.

- /healthz: liveness. The process answers; nothing else is asked, so a database or Redis outage
  never gets healthy workers restarted.
- /readyz: readiness, as JSON: the database, the cache and the rate-limit counters separately.
  200 while the database answers (the cache and counters only degrade service: pages are then
  answered from the database), 503 when it does not.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from orders import ratelimits


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks = {
        "database": _check(_database),
        "cache": _check(_cache),
        "counters": _check(lambda: ratelimits.counters().ping()),
    }
    ready = checks["database"]["status"] == "ok"
    everything = all(check["status"] == "ok" for check in checks.values())
    status = "ok" if everything else "degraded" if ready else "unavailable"
    return JsonResponse({"status": status, **checks}, status=200 if ready else 503)


def _check(probe) -> dict:
    try:
        return probe()
    except Exception as exc:
        return {"status": "unavailable", "error": type(exc).__name__}


def _database() -> dict:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


def _cache() -> dict:
    if hasattr(cache, "ping"):  # statuspage.redis_cache.RedisCache
        return {**cache.ping(), "backend": "redis"}
    return {"status": "ok", "backend": "local memory"}
