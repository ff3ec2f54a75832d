"""WEBHOOK_APPLY=async: a webhook is verified and stored (202 accepted), and applied later in
batches (orders.webhooks.batches) by a Celery worker or `manage.py apply_webhooks`, with the
same outcomes as the synchronous mode; conflicts become a `rejected` outcome in the admin.
Concurrency and a real Celery worker: tests/test_webhooks_async_concurrency.py."""

from __future__ import annotations

import io
import json
import uuid
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from orders import webhooks
from orders.models import Checkpoint, Order, Tracking, WebhookEvent, WebhookOutcome
from orders.webhooks import wakeup

from .conftest import make_order, ship
from .test_degrade import DEAD, redis_at
from .test_webhooks import CREATED, FULFILLED, cp, error_code, event, post, tracking_event

pytestmark = pytest.mark.django_db
NUMBER = FULFILLED["data"]["trackingNumber"]


@pytest.fixture(autouse=True)
def async_mode(settings):
    settings.WEBHOOK_APPLY = "async"


def apply_batches(limit: int = 200) -> dict[str, int]:
    outcomes, more = webhooks.drain(limit=limit)
    assert not more
    return dict(outcomes)


def outcome(event_id: str) -> tuple[str, str]:
    stored = WebhookEvent.objects.get(event_id=event_id)
    return stored.outcome, stored.message


# --- accepted now, applied by the next batch ----------------------------------------------------


def test_an_event_is_stored_pending_answered_202_and_applied_by_the_next_batch(client, account):
    order = make_order(account)
    ship(order, NUMBER)
    payload = tracking_event("t1", checkpoints=[cp("2025-01-17T08:00:00Z", "out_for_delivery")])
    response = post(client, account, payload, source="tracking")
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "eventId": "t1", "outcome": "pending"}
    assert not Checkpoint.objects.exists()  # not applied in the request

    assert apply_batches() == {"applied": 1}
    tracking = Tracking.objects.get()
    assert (tracking.status, tracking.checkpoints.count()) == ("out_for_delivery", 1)
    stored = WebhookEvent.objects.get()
    assert (stored.outcome, stored.processed_at is not None) == ("applied", True)


def test_a_repeat_is_a_duplicate_that_tells_the_outcome_so_far(client, account):
    first = post(client, account, CREATED)
    again = post(client, account, CREATED)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"status": "duplicate", "eventId": CREATED["id"], "outcome": "pending"}
    apply_batches()
    after = post(client, account, CREATED)
    assert after.json() == {"status": "duplicate", "eventId": CREATED["id"], "outcome": "applied"}
    assert WebhookEvent.objects.count() == Order.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "raw", "signature", "status"),
    [
        (CREATED, None, "t=1,v1=" + "0" * 64, 401),
        (None, b"{not json", None, 400),
        (event("order.teleported", "e1", orderId="A1"), None, None, 422),
        (event("order.fulfilled", "e1", orderId="A1"), None, None, 400),
    ],
    ids=["signature", "json", "type", "field"],
)
def test_every_refusal_still_writes_nothing(client, account, payload, raw, signature, status):
    response = post(client, account, payload, raw=raw, signature=signature)
    assert response.status_code == status
    assert "error" in response.json()
    assert not WebhookEvent.objects.exists()


# --- batches ------------------------------------------------------------------------------------


def test_a_batch_applies_in_arrival_order_and_replays_what_it_parked(client, account):
    # Everything arrives before the order exists, in the worst order, and lands in one batch.
    post(
        client,
        account,
        tracking_event("t1", checkpoints=[cp("2025-01-17T08:00:00Z", "in_transit")]),
        "tracking",
    )
    post(client, account, FULFILLED)
    post(client, account, CREATED)
    assert apply_batches() == {"applied": 1, "parked": 2}  # parked in the batch, then replayed
    order = Order.objects.get()
    tracking = order.trackings.get()
    assert (order.status, tracking.status, tracking.checkpoints.count()) == ("shipped", "in_transit", 1)
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"applied"}


def test_the_same_events_in_small_batches_end_as_in_one(client, account):
    bodies = [
        CREATED,
        event("order.updated", "u2", "2025-01-17T00:00:00Z", orderId="ord_abc123xyz", notes="new"),
        event("order.updated", "u1", "2025-01-16T00:00:00Z", orderId="ord_abc123xyz", notes="old"),
        FULFILLED,
    ]
    for body in bodies:
        post(client, account, body)
    for day, status in ((17, "in_transit"), (18, "out_for_delivery")):
        payload = tracking_event(f"t-{day}", checkpoints=[cp(f"2025-01-{day}T08:00:00Z", status)])
        post(client, account, payload, "tracking")
    apply_batches(limit=2)
    order = Order.objects.get()
    assert (order.notes, order.status) == ("new", "shipped")  # the newest details win across batches
    assert order.trackings.get().checkpoints.count() == 2
    assert not WebhookEvent.objects.exclude(outcome__in=["applied", "stale"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_applies_carrier_updates_in_four_statements_each_without_savepoints(account):
    for index in range(4):
        ship(make_order(account, order_number=f"S-{index}"), f"1Z999AA1012345678{index}")
    for index in range(20):
        payload = tracking_event(
            f"t{index}", number=f"1Z999AA1012345678{index % 4}",
            checkpoints=[cp(f"2025-01-17T08:{index:02d}:00Z", "in_transit")],
        )  # fmt: skip
        webhooks.process(account=account, source="tracking", payload=payload)
    with CaptureQueriesContext(connection) as queries:
        assert webhooks.apply_pending(limit=20) == {"applied": 20}
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql.upper()]
    # Per event: insert the checkpoint, update shipment and order, write the outbox; the claim, the
    # locks (orders read once, under them) and the outcomes are shared by the batch.
    batch = statements[: next(i for i, sql in enumerate(statements) if sql.upper() == "COMMIT") + 1]
    assert len(batch) <= 4 * 20 + 8


def test_a_conflict_becomes_a_rejected_outcome_shown_in_the_admin_and_logged(
    client, admin_client, account, caplog
):
    post(client, account, CREATED)
    post(client, account, FULFILLED)
    cancel = post(client, account, event("order.cancelled", "evt_c", orderId="ord_abc123xyz"))
    assert cancel.status_code == 202  # the conflict is not known yet
    assert apply_batches() == {"applied": 2, "rejected": 1}
    assert Order.objects.get().status == "shipped"
    status, message = outcome("evt_c")
    assert status == "rejected" and "can no longer be cancelled" in message
    assert "evt_c" in caplog.text and "rejected" in caplog.text

    page = admin_client.get("/admin/orders/webhookevent/", {"outcome__exact": "rejected"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "evt_c" in text and "Rejected (conflict)" in text and "can no longer be cancelled" in text
    assert FULFILLED["id"] not in text


def test_an_order_number_clash_is_rejected_and_the_rest_of_the_batch_applies(client, account):
    make_order(account, order_number="A-1", external_order_id="0b9f3c9e-7f0a-4c55-9d55-2f1d6a5b7c10")
    clash = event(
        "order.created", "evt_clash", orderId="A-2", externalOrderId="0b9f3c9e-7f0a-4c55-9d55-2f1d6a5b7c10"
    )
    post(client, account, clash)
    post(client, account, event("order.created", "evt_ok", orderId="A-3"))
    assert apply_batches() == {"applied": 1, "rejected": 1}
    status, message = outcome("evt_clash")
    assert status == "rejected" and "externalOrderId" in message
    assert set(Order.objects.values_list("order_number", flat=True)) == {"A-1", "A-3"}


def test_a_stored_event_that_no_longer_parses_is_rejected_with_the_reason(client, account):
    post(client, account, CREATED)
    WebhookEvent.objects.update(payload={}, payload_purged_at=timezone.now())  # erased meanwhile
    assert apply_batches() == {"rejected": 1}
    status, message = outcome(CREATED["id"])
    assert status == "rejected" and message
    assert not Order.objects.exists()


def test_the_sync_mode_applies_events_left_pending_by_the_async_mode(client, account, settings):
    post(client, account, CREATED)
    settings.WEBHOOK_APPLY = "sync"
    response = post(client, account, FULFILLED)  # applied at once; the earlier one waits
    assert (response.status_code, response.json()["status"]) == (202, "parked")
    call_command("apply_webhooks", "--once", stdout=io.StringIO())
    order = Order.objects.get()
    assert (order.status, order.trackings.count()) == ("shipped", 1)


# --- the in-process applier and outages -----------------------------------------------------------


def test_apply_webhooks_command_applies_everything_pending_and_says_what(client, account):
    post(client, account, CREATED)
    post(client, account, FULFILLED)
    out = io.StringIO()
    call_command("apply_webhooks", "--once", "--batch-size", "1", stdout=out)
    assert "2 webhook events applied (applied 2)" in out.getvalue()
    assert Order.objects.get().status == "shipped"


def test_apply_webhooks_refuses_a_batch_size_of_zero():
    with pytest.raises(Exception, match="must be positive"):
        call_command("apply_webhooks", "--once", "--batch-size", "0")


@contextmanager
def celery_broker(url: str):
    """Celery sending to the broker at `url` (not eager) in this process, as in production."""
    from statuspage.celery import app

    def forget_connections():
        app._pool = None  # pools are per broker URL; drop the one for the previous URL
        app.amqp._producer_pool = None

    saved = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, url
    forget_connections()
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.broker_url = saved
        forget_connections()


@pytest.fixture
def broker_down():
    """A broker nobody listens on, as in production with the broker stopped."""
    with celery_broker(DEAD) as app:
        yield app


def test_with_the_broker_down_events_are_stored_acknowledged_and_applied_later(
    client, account, broker_down, caplog
):
    response = post(client, account, CREATED)  # the broker is only ever told from a thread
    assert response.status_code == 202
    assert WebhookEvent.objects.get().outcome == "pending"
    assert wakeup.send() is False  # what that thread meets: logged, never raised
    assert "Could not wake the webhook applier" in caplog.text
    call_command("apply_webhooks", "--once", stdout=io.StringIO())  # or beat's sweep, later
    assert WebhookEvent.objects.get().outcome == "applied"
    assert Order.objects.filter(order_number=CREATED["data"]["id"]).exists()


def test_with_redis_down_a_batch_still_applies(client, account):
    order = make_order(account, order_number="R-1")
    ship(order, NUMBER)
    post(
        client,
        account,
        tracking_event("t1", checkpoints=[cp("2025-01-17T08:00:00Z", "in_transit")]),
        "tracking",
    )
    with redis_at(DEAD):
        assert apply_batches() == {"applied": 1}
    assert Tracking.objects.get().status == "in_transit"


def test_an_unknown_account_is_still_a_400_and_writes_nothing(client, account):
    response = post(client, account, CREATED, query=f"?account={uuid.uuid4().hex}")
    assert (response.status_code, error_code(response)) == (400, "validation_error")
    assert not WebhookEvent.objects.exists()


def test_outcomes_offered_by_the_admin_filter_include_pending_and_failed(admin_client, account):
    WebhookEvent.objects.create(
        account=account, source="nimbus", event_id="x", event_type="order.created",
        payload=json.loads(json.dumps(CREATED)), order_ref="ord_abc123xyz", outcome=WebhookOutcome.PENDING,
    )  # fmt: skip
    page = admin_client.get("/admin/orders/webhookevent/").content.decode()
    assert "Received, not applied yet" in page and "Failed (see message)" in page


def test_a_batch_writes_conflict_reasons_in_the_sites_language_whatever_its_thread_served(client, account):
    post(client, account, CREATED)
    post(client, account, FULFILLED)
    post(client, account, event("order.cancelled", "evt_c", orderId="ord_abc123xyz"))
    with translation.override("de"):  # the last request this worker served was German
        apply_batches()
    assert "can no longer be cancelled" in outcome("evt_c")[1]


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_new_checkpoint_takes_eleven_statements_and_no_savepoint(account, settings):
    settings.WEBHOOK_APPLY = "sync"
    ship(make_order(account, order_number="S-1"), NUMBER)
    payload = tracking_event("t1", checkpoints=[cp("2025-01-17T08:00:00Z", "in_transit")])
    with CaptureQueriesContext(connection) as queries:
        assert webhooks.process(account=account, source="tracking", payload=payload).status == "applied"
    statements = [query["sql"] for query in queries.captured_queries]
    transaction = statements[: next(i for i, sql in enumerate(statements) if sql.upper() == "COMMIT")]
    assert not [sql for sql in transaction if "SAVEPOINT" in sql.upper()]
    # store the event, lock its shipment's reference, find the shipment, lock the order, insert the
    # checkpoint, read the shipment before, update shipment and order, outbox, the event's outcome
    assert len(transaction) <= 11  # and BEGIN, on PostgreSQL
