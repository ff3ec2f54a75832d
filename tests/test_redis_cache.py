"""With Redis configured, rate-limit counters are shared by every worker process (the real
Redis server at 127.0.0.1:6379; see the `redis_cache` and `redis_counters` fixtures)."""

import pytest

from orders import ratelimits


def test_the_production_backend_is_used(redis_cache):
    assert type(redis_cache).__module__ == "statuspage.redis_cache"


def test_counters_live_in_redis_and_are_shared_between_processes(redis_counters):
    scope, rate = "lookup-failure", "2/15m"
    ratelimits.attempt(scope, ["ip:192.0.2.1"], rate)
    ratelimits.attempt(scope, ["ip:192.0.2.1"], rate)
    # A fresh client connection (as another worker process would have) sees the same count.
    redis_counters.client.connection_pool.disconnect()
    with pytest.raises(ratelimits.RateLimited) as error:
        ratelimits.check(scope, ["ip:192.0.2.1"], rate)
    assert 0 < error.value.retry_after <= 900
    ratelimits.check(scope, ["ip:192.0.2.2"], rate)  # other clients unaffected
