"""With Redis configured, rate-limit counters are shared by every worker process.

Runs against the real Redis server (127.0.0.1:6379). On a machine without one it is skipped,
except in CI, where a missing Redis is a failure.
"""

import os
import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings

from orders import ratelimits

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(
    not _redis_available() and not os.environ.get("CI"), reason=f"no Redis server at {REDIS_URL}"
)


@pytest.fixture
def redis_cache():
    prefix = f"test-{uuid.uuid4().hex}"
    config = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    with override_settings(CACHES=config):  # Django rebuilds its cache handlers on this change
        cache = caches["default"]
        assert type(cache).__name__ == "RedisCache"
        yield cache
        cache.clear()


def test_counters_live_in_redis_and_are_shared_between_processes(redis_cache):
    scope, rate = "lookup-failure", "2/15m"
    ratelimits.hit(scope, ["ip:192.0.2.1"], rate)
    ratelimits.hit(scope, ["ip:192.0.2.1"], rate)
    # A fresh client connection (as another worker process would have) sees the same count.
    redis_cache.close()
    with pytest.raises(ratelimits.RateLimited) as error:
        ratelimits.check(scope, ["ip:192.0.2.1"], rate)
    assert error.value.retry_after > 0
    ratelimits.check(scope, ["ip:192.0.2.2"], rate)  # other clients unaffected
