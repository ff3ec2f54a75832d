"""With Redis configured, rate-limit counters are shared by every worker process (the real
Redis server at 127.0.0.1:6379; see the `redis_cache` fixture)."""

import pytest

from orders import ratelimits


def test_the_production_backend_is_used(redis_cache):
    assert type(redis_cache).__module__ == "statuspage.redis_cache"


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
