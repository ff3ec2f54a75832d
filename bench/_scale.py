"""What the scale benchmarks share: a PostgreSQL database of synthetic orders (built fresh by
`manage.py generate_scale_data`, or an existing one reused), the plan its rows follow, and the
plans PostgreSQL chooses for the SQL a path runs.

Size: `--orders N`, else SCALE_ORDERS, else 100 000 (a quick `bench/run`; the issue's figures are
for SCALE_ORDERS=1000000). `--reuse DBNAME`, else SCALE_DATABASE: measure a database built before
(it is left as it is)."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass

from _server import environment, fresh_database, manage

DEFAULT_ORDERS = 100_000
BIG_TABLES = ("orders_order", "orders_tracking", "orders_checkpoint", "orders_lineitem")


def add_arguments(parser: argparse.ArgumentParser, *, repeat: int) -> None:
    parser.add_argument(
        "--orders", type=int, default=int(os.environ.get("SCALE_ORDERS", DEFAULT_ORDERS)),
        help=f"orders to generate (default SCALE_ORDERS or {DEFAULT_ORDERS})",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=repeat, help="repetitions per path (median, spread)")
    parser.add_argument(
        "--reuse", metavar="DBNAME", default=os.environ.get("SCALE_DATABASE") or None,
        help="measure an existing scale database (default SCALE_DATABASE) instead of building one",
    )  # fmt: skip


@contextmanager
def scale_database(args: argparse.Namespace, **settings: str):
    """While the block runs, this process's environment (yielded) points at the scale database,
    with `settings` added."""
    if args.reuse:
        env = environment(args.reuse, **settings)
        os.environ.update(env)
        yield env
        return
    with fresh_database("sp_bench_scale") as database:  # named per process by _server
        env = environment(database, **settings)
        started = time.perf_counter()
        manage(env, "migrate", "-v0")
        print(manage(env, "generate_scale_data", "--orders", str(args.orders)), end="")
        print(f"database built (migrate + generate) in {time.perf_counter() - started:.0f} s")
        os.environ.update(env)
        yield env


def setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    django.setup()


@dataclass(frozen=True)
class ScaleSet:
    plan: object  # orders.scale_data.Plan
    accounts: list
    total: int


def load_scale_set() -> ScaleSet:
    from django.db import connection

    from orders.models import Account
    from orders.scale_data import ACCOUNTS, Plan

    accounts = list(Account.objects.filter(slug__startswith="scale-").order_by("slug"))
    if len(accounts) != ACCOUNTS:
        raise SystemExit("no scale data in this database (manage.py generate_scale_data)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM orders_order WHERE account_id = ANY(%s)", [[a.pk for a in accounts]]
        )
        total = cursor.fetchone()[0]
    plan = Plan(orders=total, tag=accounts[0].slug.split("-")[1])
    print(f"\n{total} orders, {plan.trackings} trackings, {plan.checkpoints} checkpoints (plan {plan.tag})")
    return ScaleSet(plan=plan, accounts=accounts, total=total)


def explain(sql: str) -> dict:
    """The plan PostgreSQL picks for one captured statement (EXPLAIN, not run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql.replace("%", "%%"))
        document = cursor.fetchone()[0]
    if isinstance(document, str):
        document = json.loads(document)
    return document[0]["Plan"]


def plan_nodes(plan: dict) -> list[str]:
    """Every node of a plan, depth first, e.g. 'Index Scan order_date_idx' or 'Seq Scan orders_order'."""
    name = plan["Node Type"]
    if plan.get("Index Name"):
        name += f" {plan['Index Name']}"
    elif plan.get("Relation Name"):
        name += f" {plan['Relation Name']}"
    nodes = [name]
    for child in plan.get("Plans", ()):
        nodes += plan_nodes(child)
    return nodes


def big_table_seq_scans(nodes: list[str]) -> list[str]:
    return [node for node in nodes if re.fullmatch(r"Seq Scan (" + "|".join(BIG_TABLES) + ")", node)]
