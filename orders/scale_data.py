"""Synthetic orders at scale (a million and more) for measuring lookups and the admin on PostgreSQL.

Set-based SQL: one INSERT … SELECT over generate_series per table, so a million orders with
1.5 M shipments and 6 M checkpoints take minutes, not hours. Every NOT NULL column is filled,
either from the expressions below or with a neutral value by type, so a column added later does
not break the generator. The data follows a fixed pattern (see `Plan`) so the benchmark can name
rows it knows exist without asking the database first.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    JSONField,
    Model,
    TextField,
)

from orders.models import Account, Checkpoint, LineItem, Order, Tracking

ACCOUNTS = 3
CARRIERS = ("ups", "fedex", "usps", "dhl", "amazon")
CHECKPOINTS_PER_TRACKING = 4
YEAR_SECONDS = 365 * 86400
RECENT_DAYS = 7  # orders younger than this are still in transit; older ones were delivered
ETA_DAYS = 5  # announced delivery: order date + 5 days (so 5–7 day old open orders are late)


class ScaleDataRefused(Exception):
    """The database is not one the generator may fill (SQLite, or it already holds data)."""


@dataclass(frozen=True)
class Plan:
    """Which values row i gets: the generator's SQL and the benchmark's expectations share it."""

    orders: int
    tag: str  # keeps public ids unique when --force adds a second set

    @property
    def trackings(self) -> int:
        return self.orders + self.orders // 2  # even orders ship twice, odd ones once

    @property
    def checkpoints(self) -> int:
        return self.trackings * CHECKPOINTS_PER_TRACKING

    @property
    def step_seconds(self) -> float:
        return YEAR_SECONDS / self.orders  # order dates spread over the past year, newest last

    def account_slug(self, i: int) -> str:
        return f"scale-{self.tag}-{i % ACCOUNTS}"

    def order_number(self, i: int) -> str:
        return f"SO{i:08d}"

    def public_id(self, i: int) -> str:
        return f"ord_{self.tag}{i:010d}"

    def email(self, i: int) -> str:
        return f"Shopper.{i}@Example.com"

    def customer_number(self, i: int) -> str:
        return f"CUST{i // 2:08d}"  # two orders per customer

    def external_reference(self, i: int) -> str:
        return f"REF-{i:08d}" if i % 4 == 0 else ""

    def postal_code(self, i: int) -> str:
        return f"{(i * 7919) % 100000:05d}"

    def order_of_tracking(self, t: int) -> int:
        return (2 * t) // 3

    def tracking_number(self, t: int) -> str:
        carrier = CARRIERS[t % 5]
        return {
            "ups": f"1Z{t:016d}",
            "fedex": f"{700000000000 + t}",
            "usps": f"9400{t:018d}",
            "dhl": f"JD{t:018d}",
            "amazon": f"TBA{t:012d}",
        }[carrier]


# SQL twins of Plan's methods, over a series variable (i for orders, t for trackings).
def _order_sql(plan: Plan) -> dict[str, str]:
    age = f"((({plan.orders} - 1 - i) * {plan.step_seconds}) * interval '1 second')"
    recent = f"({age} < interval '{RECENT_DAYS} days')"
    return {
        "public_id": f"'ord_{plan.tag}' || lpad(i::text, 10, '0')",
        "order_number": "'SO' || lpad(i::text, 8, '0')",
        "external_order_id": "CASE WHEN i % 2 = 0 THEN md5('scale' || i)::uuid END",
        "customer_number": "'CUST' || lpad((i / 2)::text, 8, '0')",
        "external_reference": "CASE WHEN i % 4 = 0 THEN 'REF-' || lpad(i::text, 8, '0') ELSE '' END",
        "status": f"CASE WHEN {recent} THEN 'shipped' WHEN i % 40 = 7 THEN 'cancelled' ELSE 'delivered' END",
        "recipient_name": "'Shopper ' || i",
        "recipient_email": "'Shopper.' || i || '@Example.com'",
        "street1": "(i % 900 + 1) || ' Main Street'",
        "city": "'Springfield'",
        "postal_code": "lpad(((i::bigint * 7919) % 100000)::text, 5, '0')",
        "country": "'US'",
        "order_date": f"%(base)s - {age}",
        "estimated_delivery_date": f"(%(base)s - {age})::date + {ETA_DAYS}",
        "created_at": f"%(base)s - {age}",
        "updated_at": f"%(base)s - {age}",
    }


def _tracking_sql(plan: Plan, first_order: int) -> dict[str, str]:
    i = "((2 * t) / 3)"
    age = f"((({plan.orders} - 1 - {i}) * {plan.step_seconds}) * interval '1 second')"
    ordered = f"(%(base)s - {age})"
    recent = f"({age} < interval '{RECENT_DAYS} days')"
    status = (
        f"CASE WHEN NOT {recent} THEN 'delivered' WHEN t % 37 = 0 THEN 'exception' "
        "WHEN t % 53 = 0 THEN 'failed_attempt' ELSE 'in_transit' END"
    )
    numbers = (
        "(ARRAY['1Z' || lpad(t::text, 16, '0'), (700000000000 + t)::text, '9400' || lpad(t::text, 18, '0'), "
        "'JD' || lpad(t::text, 18, '0'), 'TBA' || lpad(t::text, 12, '0')])[1 + t % 5]"
    )
    return {
        "order": f"{first_order} + {i}",
        "carrier": "(ARRAY['ups','fedex','usps','dhl','amazon'])[1 + t % 5]",
        "tracking_number": numbers,
        "public_id": f"'trk_{plan.tag}' || lpad(t::text, 10, '0')",
        "status": status,
        "step": f"CASE WHEN NOT {recent} THEN 5 WHEN t % 53 = 0 THEN 4 ELSE 3 END",
        "estimated_delivery_date": f"{ordered}::date + {ETA_DAYS}",
        "delivered_at": f"CASE WHEN NOT {recent} THEN {ordered} + interval '3 days' END",
        "last_event_at": f"LEAST({ordered} + interval '3 days', %(base)s)",
        "is_return": "t % 30 = 1",
        "created_at": ordered,
        "updated_at": ordered,
    }


def _checkpoint_sql(plan: Plan, first_tracking: int) -> dict[str, str]:
    t = f"(c / {CHECKPOINTS_PER_TRACKING})"
    k = f"(c % {CHECKPOINTS_PER_TRACKING})"
    i = f"((2 * {t}) / 3)"
    age = f"((({plan.orders} - 1 - {i}) * {plan.step_seconds}) * interval '1 second')"
    recent = f"({age} < interval '{RECENT_DAYS} days')"
    status = (
        f"CASE WHEN {k} = 0 THEN 'info_received' WHEN {k} = 1 THEN 'in_transit' "
        f"WHEN NOT {recent} THEN (ARRAY['out_for_delivery', 'delivered'])[{k} - 1] "
        f"WHEN {k} = 2 THEN 'in_transit' WHEN {t} % 37 = 0 THEN 'exception' "
        f"WHEN {t} % 53 = 0 THEN 'failed_attempt' ELSE 'in_transit' END"
    )
    return {
        "tracking": f"{first_tracking} + {t}",
        # Every 18 hours after the order, never later than a few minutes before "now".
        "occurred_at": f"LEAST(%(base)s - {age} + {k} * interval '18 hours', "
        f"%(base)s - (3 - {k}) * interval '1 minute')",
        "status": status,
        "status_code": status,
        "message": f"'Scan ' || {k}",
        "location": f"'Hub ' || {k}",
        "country": "'US'",
        "created_at": "%(base)s",
    }


def _line_item_sql(first_order: int) -> dict[str, str]:
    return {
        "order": f"{first_order} + i",
        "name": "'Item ' || (i % 1000)",
        "sku": "'SKU-' || (i % 1000)",
        "quantity": "1 + i % 3",
        "unit_price": "(i % 100) + 9.99",
        "currency": "'USD'",
    }


def insert_select(model: type[Model], values: dict[str, str], series: str) -> str:
    """INSERT … SELECT over `series`, every NOT NULL column given or defaulted by type."""
    columns, expressions = [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        expression = values.get(model_field.name, values.get(model_field.column))
        if expression is None:
            if model_field.null:
                continue
            if isinstance(model_field, BooleanField):
                expression = "false"
            elif isinstance(model_field, JSONField):
                expression = "'" + json.dumps(model_field.get_default()).replace("'", "''") + "'::jsonb"
            elif isinstance(model_field, DateTimeField):
                expression = "%(base)s"
            elif isinstance(model_field, IntegerField):
                expression = "1" if model_field.default in (None, 1) else str(int(model_field.default))
            elif isinstance(model_field, CharField | TextField):
                default = model_field.default if isinstance(model_field.default, str) else ""
                expression = "'" + default.replace("'", "''") + "'"
            else:
                raise ValueError(f"no default for {model.__name__}.{model_field.name}")
        columns.append(connection.ops.quote_name(model_field.column))
        expressions.append(expression)
    table = connection.ops.quote_name(model._meta.db_table)
    # Built from the model's own columns and this module's expressions, never from input.
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {series}"  # noqa: S608


def check_database(*, force: bool) -> None:
    if connection.vendor != "postgresql":
        raise ScaleDataRefused(f"generate_scale_data needs PostgreSQL, not {connection.vendor}.")
    if not force and (Order.objects.exists() or Tracking.objects.exists() or Account.objects.exists()):
        raise ScaleDataRefused(
            "This database already holds accounts or orders. Use a database of its own for scale data, "
            "or pass --force to add a million synthetic orders next to them."
        )


def _first_id(cursor, model: type[Model], expected: int, after: int) -> int:
    """The first id of the rows just inserted, checked to be one contiguous run."""
    table = connection.ops.quote_name(model._meta.db_table)
    cursor.execute(f"SELECT min(id), max(id), count(*) FROM {table} WHERE id > %s", [after])  # noqa: S608
    first, last, count = cursor.fetchone()
    if count != expected or last - first + 1 != expected:
        raise RuntimeError(f"{model.__name__}: ids not contiguous ({count} rows, {first}..{last})")
    return first


def _drop_plain_indexes(cursor, models: list[type[Model]]) -> list[str]:
    """Drop the indexes no constraint needs; return their definitions to build them again.

    Building an index once over loaded rows is several times faster than updating it row by row
    (the trigram indexes most of all). Inside the generator's transaction: a failure restores them.
    """
    tables = [model._meta.db_table for model in models]
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname AND c.connamespace = (SELECT oid FROM pg_namespace "
        "WHERE nspname = current_schema()))",
        [tables],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [definition for _name, definition in indexes]


def _max_id(cursor, model: type[Model]) -> int:
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
    return cursor.fetchone()[0]


def generate(orders: int, *, force: bool = False, line_items: bool = True, log=print) -> Plan:
    """Fill the database with `orders` synthetic orders (see Plan) and return the plan used."""
    if orders < 3:
        raise ScaleDataRefused("Give at least 3 orders.")
    check_database(force=force)
    plan = Plan(orders=orders, tag=secrets.token_hex(3))
    accounts = [
        Account.objects.create(name=f"Scale shop {n}", slug=plan.account_slug(n)) for n in range(ACCOUNTS)
    ]
    account_ids = ", ".join(str(a.pk) for a in accounts)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Foreign keys checked per statement: pending deferred checks would block the index rebuild.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT now()::text")
        base = f"'{cursor.fetchone()[0]}'::timestamptz"  # one "now" for every row, as a literal

        def run(model, values, series, count):
            before = _max_id(cursor, model)
            step = time.perf_counter()
            cursor.execute(insert_select(model, values, series).replace("%(base)s", base))
            log(f"{model.__name__}: {count} rows in {time.perf_counter() - step:.1f} s")
            return _first_id(cursor, model, count, before)

        rebuild = _drop_plain_indexes(cursor, [Order, Tracking, Checkpoint, LineItem])
        order_values = {"account": f"(ARRAY[{account_ids}])[1 + i % {ACCOUNTS}]", **_order_sql(plan)}
        first_order = run(Order, order_values, f"generate_series(0, {orders - 1}) AS i", orders)
        first_tracking = run(
            Tracking,
            _tracking_sql(plan, first_order),
            f"generate_series(0, {plan.trackings - 1}) AS t",
            plan.trackings,
        )
        run(
            Checkpoint,
            _checkpoint_sql(plan, first_tracking),
            f"generate_series(0, {plan.checkpoints - 1}) AS c",
            plan.checkpoints,
        )
        if line_items:
            run(LineItem, _line_item_sql(first_order), f"generate_series(0, {orders - 1}) AS i", orders)
        step = time.perf_counter()
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in rebuild:
            cursor.execute(definition)
        log(f"{len(rebuild)} indexes rebuilt in {time.perf_counter() - step:.1f} s")
    # VACUUM as well, as autovacuum would soon: it sets the visibility map, without which an
    # index-only scan still reads every row it finds (not possible inside a transaction: tests).
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        step = time.perf_counter()
        for model in (Order, Tracking, Checkpoint, LineItem):
            cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        log(f"{command} in {time.perf_counter() - step:.1f} s")
    log(f"{orders} orders, {plan.trackings} trackings, {plan.checkpoints} checkpoints in "
        f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    return plan
