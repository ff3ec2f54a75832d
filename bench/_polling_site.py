"""Django-side work for bench/polling_throughput.py, run in its own process: `python _polling_site.py
MODE` with DATABASE_URL set. Modes: setup N (N due UPS and N due FedEx trackings), poll API (one
dispatcher+poller cycle, prints trackings/s), fetch API (the same carrier calls without us),
million (1 M open trackings by set-based SQL), explain (the claim query's plan)."""

from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import BooleanField, CharField, DateTimeField, IntegerField, JSONField, TextField  # noqa: E402
from django.utils import timezone  # noqa: E402

from orders.carriers import polling, registry  # noqa: E402
from orders.models import Account, Order, Tracking  # noqa: E402


def setup(n: int) -> None:
    from tests.conftest import make_order, ship

    account = Account.objects.create(name="Bench", slug="bench")
    for i in range(n):
        order = make_order(account, order_number=f"P-{i}")
        ship(order, f"1ZBENCH{i:011d}", carrier="ups")
        ship(order, f"9{i:011d}", carrier="fedex")


def poll(api: str) -> None:
    started = time.perf_counter()
    done = 0
    while True:
        jobs = polling.dispatch(apis=[api])
        if not jobs:
            break
        for job in jobs:
            done += sum(polling.poll(job).values())
    elapsed = time.perf_counter() - started
    print(f"{done} {elapsed:.3f}")


def fetch(api: str) -> None:
    """The carrier round trips alone (token once, then every number), as a poller must make them."""
    numbers = list(Tracking.objects.filter(carrier=api).values_list("tracking_number", flat=True))
    client = registry.client(api, registry.default_credentials(api))
    size = client.batch_size
    started = time.perf_counter()
    for i in range(0, len(numbers), size):
        client.track(numbers[i : i + size])
    elapsed = time.perf_counter() - started
    print(f"{len(numbers)} {elapsed:.3f}")


def _insert_select(model, values: dict[str, str], series: str) -> str:
    """INSERT … SELECT over generate_series, every NOT NULL column given or defaulted by type."""
    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        column = field.column
        if field.name in values or column in values:
            expression = values.get(field.name, values.get(column))
        elif field.null:
            continue
        elif isinstance(field, BooleanField):
            expression = "false"
        elif isinstance(field, JSONField):
            expression = "'[]'::jsonb"
        elif isinstance(field, DateTimeField):
            expression = "now()"
        elif isinstance(field, IntegerField):
            expression = "1"
        elif isinstance(field, CharField | TextField):
            expression = "''"
        else:
            raise SystemExit(f"no default for {model.__name__}.{field.name}")
        columns.append(column)
        expressions.append(expression)
    return (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} FROM {series}"
    )


def million(orders: int = 400_000, per_order: int = 3) -> None:
    """1.2 M trackings (a million of them open) over 400 k orders, in two set-based statements."""
    account = Account.objects.create(name="Scale", slug="scale")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _insert_select(
                Order,
                {
                    "account": str(account.pk),
                    "public_id": "'m' || g",
                    "order_number": "'M-' || g",
                    "status": "'shipped'",
                },
                f"generate_series(1, {orders}) AS g",
            )
        )
        cursor.execute(f"SELECT min(id) FROM {Order._meta.db_table} WHERE account_id = %s", [account.pk])
        first = cursor.fetchone()[0]
        carriers = "(ARRAY['ups','fedex','usps','dhl','amazon'])[1 + (g % 5)]"
        cursor.execute(
            _insert_select(
                Tracking,
                {
                    "order": f"{first} + (g / {per_order})",
                    "carrier": carriers,
                    "public_id": "'trk_m' || g",
                    "tracking_number": "'T' || g",
                    "status": "'in_transit'",
                    "step": "3",
                    # 1 in 6 closed (delivered); the open ones due over the next ±12 hours.
                    "next_poll_at": "CASE WHEN g % 6 = 0 THEN NULL "
                    "ELSE now() + ((g % 1440) - 720) * interval '1 minute' END",
                },
                f"generate_series(0, {orders * per_order - 1}) AS g",
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Tracking._meta.db_table}")
        cursor.execute(f"SELECT count(*) FROM {Tracking._meta.db_table} WHERE next_poll_at IS NOT NULL")
        open_count = cursor.fetchone()[0]
    print(f"{open_count} open trackings in {time.perf_counter() - started:.1f} s")


def explain() -> None:
    """The dispatcher's claim for UPS, as polling._claim builds it, with EXPLAIN ANALYZE."""
    now = timezone.now()
    due = Tracking.objects.filter(carrier__in=polling.carriers_of("ups"), next_poll_at__lte=now)
    query = due.order_by("next_poll_at", "id").select_for_update(skip_locked=True, of=("self",))
    query = query.values_list("pk", flat=True)[:250]
    with transaction.atomic():
        print(query.explain(analyze=True, buffers=True))
        started = time.perf_counter()
        rows = list(query)
        print(f"claimed {len(rows)} rows in {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"setup": lambda: setup(int(args[0])), "poll": lambda: poll(args[0]), "fetch": lambda: fetch(args[0]),
     "million": million, "explain": explain}[mode]()  # fmt: skip
