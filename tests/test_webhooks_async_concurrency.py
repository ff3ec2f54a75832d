"""WEBHOOK_APPLY=async on PostgreSQL under real concurrency: copies of one event are stored once,
concurrent batch appliers apply every event exactly once and never deadlock, an order created
while its events are being applied strands none of them, an event the code cannot apply fails
alone, and a real Celery worker applies what the web process stored."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection
from django.test import Client

from orders import apikeys, webhooks
from orders.models import Checkpoint, Order, WebhookEvent
from orders.notifications import events as notification_events
from orders.notifications.models import OutboxEvent
from orders.webhooks import wakeup

from .conftest import REDIS_SERVER, REDIS_URL, make_account, make_order, ship
from .test_api_concurrency import ADDRESS, run_concurrently
from .test_webhooks_async import celery_broker
from .worker_kit import broker_up, require_broker, start_worker, worker_environment

# Database 0: no other test uses it (tests/conftest.py, test_celery_worker.py), so no other worker
# takes these tasks; it is not flushed (a leftover wake-up finds nothing to do).
BROKER = REDIS_SERVER + "/0"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks and real concurrency"
    ),
]


@pytest.fixture(autouse=True)
def async_mode(settings):
    settings.WEBHOOK_APPLY = "async"


def signed_post(account, source: str, payload: dict):
    raw = json.dumps(payload).encode()
    headers = {"Statuspage-Signature": webhooks.sign(account.webhook_secret, raw)}
    return Client().post(f"/webhooks/{source}/", raw, content_type="application/json", headers=headers)


def scan(event_id: str, number: str, minute: int) -> dict:
    checkpoint = {
        "timestamp": f"2025-01-16T10:{minute:02d}:00Z",
        "status": "in_transit",
        "location": f"Hub {minute}",
    }
    return {
        "id": event_id,
        "type": "tracking.updated",
        "data": {"trackingNumber": number, "checkpoints": [checkpoint]},
    }


def test_concurrent_copies_of_one_event_are_stored_once():
    account = make_account()
    ship(make_order(account, order_number="RACE-1"), "1Z999AA10123456784")
    payload = scan("evt-race", "1Z999AA10123456784", 0)

    def deliver():
        response = signed_post(account, "tracking", payload)
        return response.status_code, response.json()["status"]

    results = run_concurrently(deliver)
    assert sorted(results) == [(200, "duplicate")] * 5 + [(202, "accepted")]
    assert WebhookEvent.objects.count() == 1
    webhooks.drain()
    assert Checkpoint.objects.count() == 1


def test_concurrent_appliers_apply_every_event_exactly_once_without_deadlock():
    account = make_account()
    numbers = [f"1Z999AA1012345678{i}" for i in range(6)]
    for index, number in enumerate(numbers):
        ship(make_order(account, order_number=f"R-{index}"), number)
    for index in range(60):
        webhooks.process(
            account=account, source="tracking", payload=scan(f"e{index}", numbers[index % 6], index)
        )

    def apply():
        total, _more = webhooks.drain(limit=7)  # small batches: the appliers interleave
        return sum(total.values())

    applied = run_concurrently(apply)
    assert sum(applied) == 60  # each event claimed by exactly one applier
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"applied"}  # none twice (stale)
    assert Checkpoint.objects.count() == 60
    added = OutboxEvent.objects.filter(event=notification_events.CHECKPOINT_ADDED).count()
    assert added == 60  # one announcement per checkpoint


def test_an_order_created_while_its_events_are_applied_strands_none():
    account = make_account()
    key = apikeys.create_key(account=account, name="t").secret
    for index in range(1, 6):
        payload = {
            "id": f"evt-{index}",
            "type": "order.fulfilled",
            "data": {"orderId": "RACE-3", "trackingNumber": f"1Z999AA1012345678{index}"},
        }
        webhooks.process(account=account, source="nimbus", payload=payload)
    steps = iter(range(6))

    def step():
        if next(steps) == 0:
            body = json.dumps({"orderNumber": "RACE-3", "shippingAddress": ADDRESS})
            return Client().post(
                "/v1/orders", body, content_type="application/json", headers={"X-API-Key": key}
            )
        webhooks.drain(limit=1)
        return None

    run_concurrently(step)
    webhooks.drain()  # what is still pending now was never claimed; parked ones would stay parked
    order = Order.objects.get(order_number="RACE-3")
    assert order.trackings.count() == 5
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"applied"}


@pytest.fixture
def poisoned_checkpoints():
    """A database trigger that refuses one checkpoint: an error no code path expects."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_poison() RETURNS trigger AS $$ BEGIN "
            "IF NEW.location = 'Poison' THEN RAISE EXCEPTION 'poisoned checkpoint'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER test_poison BEFORE INSERT ON orders_checkpoint "
            "FOR EACH ROW EXECUTE FUNCTION test_poison()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_poison ON orders_checkpoint")
        cursor.execute("DROP FUNCTION test_poison()")


def test_an_event_that_cannot_be_applied_fails_alone_and_says_why(poisoned_checkpoints):
    account = make_account()
    ship(make_order(account, order_number="P-1"), "1Z999AA10123456784")
    for index in range(5):
        payload = scan(f"e{index}", "1Z999AA10123456784", index)
        if index == 2:
            payload["data"]["checkpoints"][0]["location"] = "Poison"
        webhooks.process(account=account, source="tracking", payload=payload)
    outcomes, _more = webhooks.drain()
    assert dict(outcomes) == {"applied": 4, "failed": 1}
    failed = WebhookEvent.objects.get(event_id="e2")
    assert failed.outcome == "failed" and "poisoned checkpoint" in failed.message
    assert Checkpoint.objects.count() == 4


def test_a_celery_worker_applies_what_the_web_process_stored():
    require_broker(BROKER)
    account = make_account()
    ship(make_order(account, order_number="W-1"), "1Z999AA10123456784")
    worker = start_worker(worker_environment(BROKER))
    try:
        with celery_broker(BROKER):
            responses = [
                signed_post(account, "tracking", scan(f"w{i}", "1Z999AA10123456784", i)) for i in range(3)
            ]
            assert [response.status_code for response in responses] == [202] * 3
            deadline = time.monotonic() + 180  # a loaded machine boots a worker slowly
            while WebhookEvent.objects.pending().exists() and time.monotonic() < deadline:
                time.sleep(0.5)
                if int(time.monotonic()) % 10 == 0:
                    wakeup.send()  # what beat's sweep does, should the first wake-up be lost
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"applied"}
    assert Checkpoint.objects.count() == 3


def test_a_batch_sends_one_notification_task_for_all_the_orders_it_changed():
    if not broker_up(BROKER):
        pytest.skip("needs Redis for the Celery broker")
    import redis

    account = make_account()
    numbers = [f"1Z999AA1012345678{i}" for i in range(5)]
    for index, number in enumerate(numbers):
        ship(make_order(account, order_number=f"N-{index}"), number)
    for index in range(10):  # two new checkpoints for each of five orders
        webhooks.process(
            account=account, source="tracking", payload=scan(f"e{index}", numbers[index % 5], index)
        )
    queue = redis.Redis.from_url(REDIS_URL)  # this test worker's own database: no worker reads it
    queue.delete("celery")
    with celery_broker(REDIS_URL):
        assert webhooks.drain()[0] == {"applied": 10}
    tasks = [json.loads(message)["headers"]["task"] for message in queue.lrange("celery", 0, -1)]
    queue.delete("celery")
    assert tasks == ["orders.notifications.tasks.fan_out_webhooks_of"]  # not one per change
