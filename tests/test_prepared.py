"""Hot statements are prepared once per PostgreSQL connection and behave like Django's cursor."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import prepared, webhooks
from orders.models import WebhookEvent
from tests.conftest import make_order, ship
from tests.test_webhooks import FULFILLED, cp, tracking_event

NUMBER = FULFILLED["data"]["trackingNumber"]
pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's (SQLite: Django's cursor)"
)


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def accept(account, event_id: str) -> str:
    payload = tracking_event(event_id, checkpoints=[cp("2025-01-17T08:00:00Z", "in_transit")])
    return webhooks.process(account=account, source="tracking", payload=payload).status


@pytest.mark.django_db
def test_storing_webhook_events_parses_and_plans_the_insert_once_per_connection(account, settings):
    settings.WEBHOOK_APPLY = "async"
    ship(make_order(account, order_number="P-1"), NUMBER)
    assert [accept(account, f"e{i}") for i in range(3)] == ["accepted"] * 3
    inserts = [sql for sql in prepared_statements() if "orders_webhookevent" in sql]
    assert len(inserts) == 1 and inserts[0].startswith("INSERT")
    assert accept(account, "e0") == "duplicate"  # the prepared insert still stores each id once
    assert WebhookEvent.objects.filter(account=account).count() == 3


@pytest.mark.django_db
def test_without_prepared_statements_events_are_stored_alike(account, settings):
    settings.WEBHOOK_APPLY = "async"
    options = connection.settings_dict["OPTIONS"]
    threshold = options.pop("prepare_threshold", None)
    try:
        assert not prepared.enabled(connection)
        assert [accept(account, "a"), accept(account, "a")] == ["accepted", "duplicate"]
    finally:
        if threshold is not None:
            options["prepare_threshold"] = threshold
    assert not [sql for sql in prepared_statements() if "orders_webhookevent" in sql]


@pytest.mark.django_db
def test_while_queries_are_logged_the_log_shows_the_statement(account, settings):
    settings.WEBHOOK_APPLY = "async"
    with CaptureQueriesContext(connection) as queries:
        assert accept(account, "logged") == "accepted"
    assert any(q["sql"].startswith('INSERT INTO "orders_webhookevent"') for q in queries.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_before_the_next_statement(account, settings):
    """The health check (the socket, not a round trip) still runs first: after the server ended
    the connection (a restart, an idle timeout), the next event is stored on a new connection,
    not answered with an error."""
    settings.WEBHOOK_APPLY = "async"
    assert accept(account, "before") == "accepted"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    from psycopg import connect

    params = connection.get_connection_params()
    with connect(dbname=params["dbname"], user=params.get("user"), host=params.get("host"),
                 port=params.get("port"), autocommit=True) as other:  # fmt: skip
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):  # until its process has ended (and so closed the connection)
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                break
            time.sleep(0.02)
    connection.close_if_unusable_or_obsolete()  # what the end of a request does
    assert accept(account, "after") == "accepted"
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {"before", "after"}
