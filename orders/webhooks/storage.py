"""Storing a verified event: one statement, its text built once per process.

    INSERT INTO <events> (…) SELECT <values> WHERE <the signing secret is still the account's>
    ON CONFLICT (account, source, event id) DO NOTHING RETURNING id

The unique constraint decides "stored once" (a concurrent copy waits for the first to commit and
then inserts nothing, without an error or a savepoint), and the EXISTS decides that a secret the
process kept from before a rotation or a deletion stores nothing (orders.webhooks.signatures).
It is `insert_once`'s statement (orders.models) with that condition, run for the one model it
stores: the values go to the driver as they are instead of through the ORM's preparation of every
field, which cost about as much CPU as the rest of accepting an event.
"""

from __future__ import annotations

import functools
import json

from django.db import connections, router
from django.utils import timezone

from orders import prepared
from orders.models import Account, WebhookEvent, insert_once_statement

# The columns an event is stored with; the others start empty (NULL).
FIELDS = (
    "account",
    "source",
    "event_id",
    "event_type",
    "payload",
    "order_ref",
    "occurred_at",
    "received_at",
    "outcome",
    "message",
)
CONSTRAINT = "webhook_event_unique"


def insert(event: WebhookEvent, *, signed_with: str) -> bool:
    """Store `event` (True, its primary key set) unless its id is already stored for its account
    and source, or `signed_with` is no longer its account's webhook secret (False)."""
    alias = router.db_for_write(WebhookEvent)
    connection = connections[alias]
    adapt = connection.ops.adapt_datetimefield_value
    event.received_at = timezone.now()
    values = [
        event.account_id,
        event.source,
        event.event_id,
        event.event_type,
        json.dumps(event.payload),  # what the ORM's JSONField sends, on SQLite and PostgreSQL
        event.order_ref,
        adapt(event.occurred_at),
        adapt(event.received_at),
        event.outcome,
        event.message,
        event.account_id,
        signed_with,
    ]
    with prepared.cursor(connection) as cursor:  # health check, error wrapping, query log
        cursor.execute(_statement(alias), values)
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk = row[0]
    event._state.adding, event._state.db = False, alias
    return True


@functools.cache
def _statement(alias: str) -> str:
    """`insert_once`'s statement for the stored columns, on the condition that the signing secret
    is still the account's (its two parameters follow the values)."""
    quote = connections[alias].ops.quote_name
    account = Account._meta
    condition = (  # names from the model's own metadata, values as parameters
        f"EXISTS (SELECT 1 FROM {quote(account.db_table)} "  # noqa: S608
        f"WHERE {quote(account.pk.column)} = %s AND {quote(account.get_field('webhook_secret').column)} = %s)"
    )
    return insert_once_statement(WebhookEvent, CONSTRAINT, alias, columns=FIELDS, condition=condition)[1]
