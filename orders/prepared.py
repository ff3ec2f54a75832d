"""Statements PostgreSQL parses and plans once per connection instead of on every execution.

Django binds parameters on the client (its default cursor), so PostgreSQL parses, analyses and
plans every statement it receives. For a short statement run hundreds of times a second that is
most of the server's work: storing a webhook event (an `INSERT … SELECT … WHERE EXISTS … ON
CONFLICT … RETURNING`) took about 0.6 ms from a Django connection and 0.3 ms prepared, and a
sync worker waits for all of it. A hot path whose statement text is fixed per process executes
it through `cursor()`: a Django cursor (health check, error wrapping, the query log) that binds
on the server, so psycopg prepares the statement on a connection's first use and executes it by
name from then on.

Their health check looks at the connection's socket before sending `SELECT 1` (Django's check, a
round trip that cost as much wall time as storing the event): the socket of an idle connection
has nothing to read unless the server said something, which a server that restarted, ended the
connection or went away does as it closes its end; only then does Django's check run and the
connection get replaced before the statement.

Only these cursors prepare: settings give psycopg a `prepare_threshold` of 0 while Django's own
cursors keep binding on the client, which never prepares. `DATABASE_PREPARED_STATEMENTS=0`
(for a connection pooler that cannot keep prepared statements, such as PgBouncer in transaction
mode before 1.21) leaves the threshold off, and `cursor()` is then Django's cursor.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper


def enabled(connection: BaseDatabaseWrapper) -> bool:
    options = connection.settings_dict["OPTIONS"]
    return connection.vendor == "postgresql" and options.get("prepare_threshold") is not None


def cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor whose statements are prepared per connection; Django's cursor where they cannot
    be, and while queries are logged (DEBUG, tests counting statements): the log shows a prepared
    statement's text only for client-bound ones."""
    if not enabled(connection) or connection.queries_logged:
        return connection.cursor()
    # What BaseDatabaseWrapper._cursor does, with a server-binding cursor instead of Django's.
    _close_if_dropped(connection)
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(psycopg.Cursor(connection.connection))


def _close_if_dropped(connection: BaseDatabaseWrapper) -> None:
    """Django's health check (once per request, when enabled) without its round trip unless the
    socket says something happened: close the connection if the server has closed its end (the
    next step opens a new one)."""
    if connection.connection is None or not connection.health_check_enabled or connection.health_check_done:
        return
    try:
        ready = select.poll()
        ready.register(connection.connection.pgconn.socket, select.POLLIN)
        quiet = not ready.poll(0)  # an idle connection's socket has nothing to read
    except (psycopg.Error, OSError, ValueError):  # closed: no socket any more
        quiet = False
    if not quiet and not connection.is_usable():  # its end, or rarely a notice: Django's check
        connection.close()
    connection.health_check_done = True
