"""Concurrent duplicates on PostgreSQL: one Idempotency-Key creates one order, one webhook event
applies once. Real threads, each with its own database connection."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client

from orders import apikeys, webhooks
from orders.models import IdempotencyRecord, Order, WebhookEvent

from .conftest import make_account, make_order, ship

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL row locks and real concurrency"
    ),
]

ADDRESS = {"street1": "123 Main St", "city": "Austin", "state": "TX", "zip": "78701", "country": "US"}
COPIES = 6


def run_concurrently(request) -> list:
    """Start COPIES threads at once; each runs `request()` and closes its connection."""
    barrier = threading.Barrier(COPIES)
    results: list = [None] * COPIES

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = request()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_requests_with_one_idempotency_key_create_one_order():
    account = make_account()
    key = apikeys.create_key(account=account, name="t").secret
    body = json.dumps({"orderNumber": "RACE-1", "patientId": "p1", "shippingAddress": ADDRESS})

    def create():
        response = Client().post(
            "/v1/orders",
            body,
            content_type="application/json",
            headers={"X-API-Key": key, "Idempotency-Key": "race"},
        )
        return response.status_code, response.json()

    results = run_concurrently(create)
    assert [status for status, _ in results] == [201] * COPIES
    assert len({body["id"] for _, body in results}) == 1
    assert Order.objects.count() == IdempotencyRecord.objects.count() == 1


def test_concurrent_copies_of_one_webhook_event_apply_once():
    account = make_account()
    order = make_order(account, order_number="RACE-2")
    ship(order, "1Z999AA10123456784")
    payload = {
        "id": "evt-race",
        "type": "tracking.updated",
        "data": {
            "trackingNumber": "1Z999AA10123456784",
            "checkpoints": [
                {"timestamp": "2025-01-16T10:00:00Z", "status": "in_transit", "location": "Dallas"}
            ],
        },
    }
    raw = json.dumps(payload).encode()

    def deliver():
        headers = {"Statuspage-Signature": webhooks.sign(account.webhook_secret, raw)}
        response = Client().post("/webhooks/tracking/", raw, content_type="application/json", headers=headers)
        return response.status_code, response.json()["status"]

    results = run_concurrently(deliver)
    assert sorted(status for _, status in results) == ["applied"] + ["duplicate"] * (COPIES - 1)
    assert {code for code, _ in results} == {200}
    assert WebhookEvent.objects.count() == 1
    assert order.trackings.get().checkpoints.count() == 1


def test_concurrent_events_for_an_unknown_order_are_not_stranded():
    """An event parked while the order is being created is still applied (advisory lock)."""
    account = make_account()
    key = apikeys.create_key(account=account, name="t").secret

    def step(index: int):
        if index == 0:
            body = json.dumps({"orderNumber": "RACE-3", "shippingAddress": ADDRESS})
            return (
                Client()
                .post("/v1/orders", body, content_type="application/json", headers={"X-API-Key": key})
                .status_code
            )
        payload = {
            "id": f"evt-{index}",
            "type": "order.fulfilled",
            "data": {"orderId": "RACE-3", "trackingNumber": f"1Z999AA1012345678{index}"},
        }
        raw = json.dumps(payload).encode()
        headers = {"Statuspage-Signature": webhooks.sign(account.webhook_secret, raw)}
        return (
            Client()
            .post("/webhooks/nimbus/", raw, content_type="application/json", headers=headers)
            .status_code
        )

    counter = iter(range(COPIES))
    lock = threading.Lock()

    def next_step():
        with lock:
            index = next(counter)
        return step(index)

    results = run_concurrently(next_step)
    assert 201 in results
    order = Order.objects.get(order_number="RACE-3")
    assert order.trackings.count() == COPIES - 1
    assert not WebhookEvent.objects.filter(outcome="parked").exists()
