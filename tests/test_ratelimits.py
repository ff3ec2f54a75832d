"""Failed-guess counters: atomic admit-and-count, sliding windows, no existence oracle in the
lockout, and what happens when the counters cannot be reached."""

import threading
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from orders import ratelimits
from orders.lookup import Access, resolve
from orders.ratelimits import CountersUnavailable, MemoryCounters, Rate, RateLimited

from .conftest import make_order, ship

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused at once


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryCounters()
    return request.getfixturevalue("redis_counters")


def anon(ip="203.0.113.7"):
    request = RequestFactory().get("/", REMOTE_ADDR=ip)
    request.user = AnonymousUser()
    return request


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10/15m", Rate(10, 900)), ("3/h", Rate(3, 3600)), ("1200/m", Rate(1200, 60)), ("5/30s", Rate(5, 30))],
)
def test_rates_parse(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["10", "0/m", "x/m", "10/15w", "10/m/s"])
def test_malformed_rates_are_refused(text):
    with pytest.raises(Exception, match="10/15m"):
        Rate.parse(text)


def test_a_burst_across_a_window_boundary_is_still_bounded(store):
    """Fixed windows would admit 3 at 59 s and 3 more at 60.1 s; a sliding window admits none."""
    keys, limit, period = [f"k:{uuid.uuid4().hex}"], 3, 60
    for at in (59.0, 59.5, 59.9):
        assert store.acquire(keys, limit, period, uuid.uuid4().hex, 1_000_000 + at) == 0
    wait = store.acquire(keys, limit, period, uuid.uuid4().hex, 1_000_000 + 60.1)
    assert wait == pytest.approx(58.9, abs=0.01)  # until the attempt at 59.0 leaves the window
    assert store.acquire(keys, limit, period, uuid.uuid4().hex, 1_000_000 + 119.1) == 0


def test_a_refused_attempt_is_not_counted_and_a_released_one_frees_its_place(store):
    keys, token = [f"k:{uuid.uuid4().hex}"], "first"
    assert store.acquire(keys, 1, 60, token, 1_000_000) == 0
    assert store.acquire(keys, 1, 60, "second", 1_000_001) > 0
    store.release(keys, token)
    assert store.acquire(keys, 1, 60, "third", 1_000_002) == 0


def test_one_full_key_refuses_the_attempt_on_every_key(store):
    full, other = f"k:{uuid.uuid4().hex}", f"k:{uuid.uuid4().hex}"
    assert store.acquire([full], 1, 60, "a", 1_000_000) == 0
    assert store.acquire([other, full], 1, 60, "b", 1_000_001) > 0
    assert store.acquire([other], 1, 60, "c", 1_000_002) == 0  # "b" counted nowhere


def test_a_concurrent_burst_of_50_admits_at_most_the_limit(store):
    barrier, admitted, refused = threading.Barrier(50), [], []

    def guess():
        barrier.wait()
        try:
            admitted.append(store.acquire(["ip:burst"], 10, 900, uuid.uuid4().hex, 1_000_000) == 0)
        except Exception as exc:  # pragma: no cover - reported below
            refused.append(exc)

    threads = [threading.Thread(target=guess) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused == []
    assert admitted.count(True) == 10 and admitted.count(False) == 40


WRONG_GUESS = {"order_number": "1001", "recipient_postal_code": "00000"}


@pytest.mark.django_db(transaction=True)
@override_settings(LOOKUP_FAILURE_RATE="10/15m")
def test_50_concurrent_wrong_guesses_at_one_order_evaluate_at_most_10(redis_counters):
    """Through the resolver, on the test database (SQLite or PostgreSQL) and the real Redis."""
    ship(make_order(order_number="1001"), "1Z999AA10123456784")
    barrier, outcomes = threading.Barrier(25), []

    def guess(n):
        from django.db import connection

        barrier.wait()
        try:
            for attempt in range(2):
                ip = f"198.51.100.{n * 2 + attempt}"  # every guess from another address
                try:
                    result = resolve(
                        {"order_number": "1001", "recipient_postal_code": "00000"}, request=anon(ip)
                    )
                    outcomes.append(result.access)
                except RateLimited as exc:
                    outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 50
    assert outcomes.count(Access.NONE) == 10
    assert all(isinstance(outcome, RateLimited) for outcome in outcomes if outcome != Access.NONE)


@pytest.mark.django_db
@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_an_unknown_order_locks_out_exactly_like_a_known_one(account):
    make_order(account, order_number="1001")
    answers = {}
    for number in ("1001", "9999"):
        for n in range(3):
            result = resolve(
                {"order_number": number, "recipient_email": "x@example.org"}, request=anon(f"10.0.{n}.1")
            )
            assert result.access == Access.NONE
        with pytest.raises(RateLimited) as locked:  # a fresh address: the identifier's own key
            resolve({"order_number": number, "recipient_email": "x@example.org"}, request=anon("10.9.9.9"))
        answers[number] = locked.value.retry_after
    assert answers["1001"] == pytest.approx(answers["9999"], abs=1)
    assert 890 <= answers["9999"] <= 900  # from the first counted guess, not from any public clock


@pytest.mark.django_db
@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_a_right_guess_does_not_count(account):
    make_order(account, order_number="1001", recipient_email="jane@example.com")
    for _ in range(5):
        result = resolve({"order_number": "1001", "recipient_email": "jane@example.com"}, request=anon())
        assert result.access == Access.FULL


# --- the counters cannot be reached --------------------------------------------------------------


@pytest.mark.django_db
@override_settings(RATELIMIT_REDIS_URL=DEAD_REDIS, RATELIMIT_UNAVAILABLE_RETRY=30)
def test_guesses_fail_closed_when_the_counters_are_unreachable(account):
    order = make_order(account, order_number="1001")
    with pytest.raises(CountersUnavailable) as refused:
        resolve({"order_number": "1001", "recipient_email": order.recipient_email}, request=anon())
    assert refused.value.retry_after == 30 and refused.value.status == 503
    # No factor to guess, or a link we signed: these still answer.
    assert resolve({"order_number": "1001"}, request=anon()).access == Access.NONE
    signed = dict(parse_qsl(urlsplit(order.status_url()).query))
    assert resolve(signed, request=anon()).access == Access.FULL


@override_settings(RATELIMIT_REDIS_URL=DEAD_REDIS)
def test_actions_limited_for_cost_choose_how_to_fail():
    ratelimits.consume("api-key", ["key:1"], "10/m", fail_open=True)  # API keys keep working
    with pytest.raises(CountersUnavailable):
        ratelimits.consume("email-links", ["email:x@example.org"], "3/h")  # sending mail does not


def test_check_then_hit_counts_failures_after_the_fact():
    scope, values = "admin-login", ["ip:192.0.2.50", "user:staff"]
    for _ in range(2):
        assert ratelimits.exceeded(scope, values, "2/15m") is None
        ratelimits.hit(scope, values, "2/15m")
    locked = ratelimits.exceeded(scope, ["user:staff"], "2/15m")
    assert isinstance(locked, RateLimited) and 0 < locked.retry_after <= 900
    ratelimits.hit(scope, values, "2/15m")  # past the limit: still locked, nothing raised
    assert ratelimits.exceeded(scope, ["ip:192.0.2.51"], "2/15m") is None
