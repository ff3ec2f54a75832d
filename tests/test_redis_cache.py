"""With Redis configured, rate-limit counters are shared by every worker process (the real
Redis server at 127.0.0.1:6379; see the `redis_cache` and `redis_counters` fixtures)."""

import pytest
from django.test import override_settings

from orders import ratelimits
from orders.cache import answers as answer_cache
from orders.cache import counters


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


def test_a_counter_starts_with_its_first_count_and_lasts_its_window(redis_cache):
    assert [counters.count("c", window=60) for _ in range(3)] == [1, 2, 3]
    assert counters.count("c", by=5, window=3600) == 8
    client = redis_cache._cache.get_client(write=True)
    key = redis_cache.make_key("c")
    assert 0 < client.ttl(key) <= 60  # the window is not restarted by later counts
    client.delete(key)  # the window ends
    assert counters.count("c", by=2, window=30) == 2 and 0 < client.ttl(key) <= 30


def test_an_orders_answer_budget_is_counted_in_redis(redis_cache, settings):
    settings.CACHE_ANSWERS_PER_ORDER = 3
    assert [answer_cache.may_cache(7) for _ in range(5)] == [True, True, True, False, False]
    assert answer_cache.may_cache(8)  # each order has its own


def test_with_redis_away_there_is_no_counter_and_nothing_is_cached(db):
    config = {
        "default": {"BACKEND": "statuspage.redis_cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    with override_settings(CACHES=config):
        with pytest.raises(ValueError):
            counters.count("c", window=60)
        assert not answer_cache.may_cache(7)
