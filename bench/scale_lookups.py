"""Every lookup path of the resolver at scale: the queries, their plans, and the time per lookup.

Against a PostgreSQL database of synthetic orders (bench/_scale.py: built by
`manage.py generate_scale_data`, 100 000 orders by default, SCALE_ORDERS=1000000 for issue 12's
million with 1.5 M shipments and 6 M checkpoints), for each path the resolver (orders/lookup.py),
the email links and the order-system webhooks use:

- the SQL statements it runs and their EXPLAIN — the run fails if any plan reads one of the big
  tables with a sequential scan;
- its latency: the median of several repetitions (each on a different order) with the spread,
  as a ratio against a primary-key lookup measured in the same run.

The admin's paths are measured by bench/admin_scale.py.
Usage: bench/scale_lookups.py [--orders N] [--repeat N] [--reuse DBNAME]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _scale import BIG_TABLES, add_arguments, load_scale_set, scale_database, setup_django

SEQ_SCAN = re.compile(r"Seq Scan on (" + "|".join(BIG_TABLES) + r")\b")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, repeat=7)
    return parser.parse_args()


class Measure:
    def __init__(self, repeat: int):
        self.repeat = repeat
        self.rows: list[tuple[str, str, list[float], list[float]]] = []
        self.seq_scans: list[str] = []

    def path(self, group: str, name: str, run, *, explain: bool = True) -> None:
        """Run `run(k)` once capturing its SQL and plans, then `repeat` times for the timing."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            run(0)
        print(f"\n--- {group}: {name} ({len(captured.captured_queries)} queries)")
        for query in captured.captured_queries:
            sql = query["sql"]
            print(f"  SQL {sql[:400]}{' …' if len(sql) > 400 else ''}")
            if not explain or not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql.replace("%", "%%"))
                plan = [row[0] for row in cursor.fetchall()]
            for line in plan:
                if "Scan" in line or "Join" in line or "Nested Loop" in line or "Limit" in line:
                    print("    " + re.sub(r"\s+\(cost=[^)]*\)", "", line))
            for line in plan:
                if SEQ_SCAN.search(line):
                    self.seq_scans.append(f"{group}: {name}: {line.strip()}")
        times, sql_times = [], []
        for k in range(1, self.repeat + 1):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                run(k)
                times.append((time.perf_counter() - started) * 1000)
            sql_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        self.rows.append((group, name, times, sql_times))

    def report(self, baseline: str) -> None:
        base = statistics.median(next(times for _, name, times, _ in self.rows if name == baseline))
        print(f"\n{'':7}{'path':50} {'median ms':>9} {'spread ms':>13} {'SQL ms':>6} {'× pk':>6}")
        for _group, name, times, sql_times in self.rows:
            median = statistics.median(times)
            spread = f"{min(times):.1f}–{max(times):.1f}"
            sql = statistics.median(sql_times)
            print(f"RESULT {name:50} {median:9.1f} {spread:>13} {sql:6.1f} {median / base:6.1f}")
        print(
            f"\n× pk: against '{baseline}' ({base:.2f} ms), measured in the same run. SQL ms: time in "
            "the database per lookup (median); the rest is Python."
        )


def measure(repeat: int) -> int:
    setup_django()
    from orders import lookup
    from orders.models import Order
    from orders.notifications.links import recent_orders

    scale = load_scale_set()
    plan, accounts, total = scale.plan, scale.accounts, scale.total

    def order_index(k: int) -> int:
        # A different order each repetition, all from the last four months: a tracking number
        # names only shipments created in the last TRACKING_LOOKUP_DAYS (180).
        return (2 * total // 3 + k * (total // 50)) % total

    def account_of(i: int) -> str:
        return str(accounts[i % len(accounts)].pk)

    def tracking_of(i: int) -> int:
        return (3 * i + 1) // 2  # the first shipment of order i (Plan.order_of_tracking)

    def external_id(i: int) -> str:
        i -= i % 2  # even orders have one
        return str(uuid.UUID(hashlib.md5(f"scale{i}".encode()).hexdigest()))  # noqa: S324

    def resolved(params: dict, expect: str = "full") -> None:
        result = lookup.resolve(params)
        if result.access != expect:
            raise SystemExit(f"lookup {params} gave {result.access}, expected {expect}")

    m = Measure(repeat)
    first_pk = Order.objects.get(public_id=plan.public_id(0)).pk
    m.path("orm", "baseline: Order by primary key", lambda k: Order.objects.get(pk=first_pk + order_index(k)))
    # Resolver paths (orders/lookup.py), each ending with the order's timeline loaded.
    for name, params in [
        ("order number + email (any case)", lambda i: {
            "account": account_of(i), "order_number": plan.order_number(i),
            "recipient_email": plan.email(i).upper()}),
        ("order number + postal code", lambda i: {
            "account": account_of(i), "order_number": plan.order_number(i),
            "recipient_postal_code": plan.postal_code(i)}),
        ("external order id + email", lambda i: {
            "account": account_of(i - i % 2), "external_order_id": external_id(i),
            "recipient_email": plan.email(i - i % 2)}),
        ("customer number + email", lambda i: {
            "account": account_of(i), "customer_number": plan.customer_number(i),
            "recipient_email": plan.email(i)}),
    ]:  # fmt: skip
        m.path("resolver", name, lambda k, params=params: resolved(params(order_index(k))))
    m.path(
        "resolver",
        "tracking number (limited)",
        lambda k: resolved({"tracking_number": plan.tracking_number(tracking_of(order_index(k)))}, "limited"),
    )
    signed = {
        k: Order.objects.get(public_id=plan.public_id(order_index(k))).link_params(
            exp=int(time.time()) + 86400
        )
        for k in range(repeat + 1)
    }
    m.path("resolver", "signed link", lambda k: resolved(signed[k]))
    m.path(
        "orm",
        "external reference (order-system webhooks)",
        lambda k: Order.objects.get(
            account_id=account_of(order_index(k) * 4 % total),
            external_reference=plan.external_reference(order_index(k) * 4 % total),
        ),
    )
    m.path(
        "orm",
        "email links: recent orders by email (any case)",
        lambda k: recent_orders(plan.email(total - 1 - k * 3).lower()),
    )

    m.report("baseline: Order by primary key")
    if m.seq_scans:
        print("\nFAILED: sequential scans of big tables:")
        for line in m.seq_scans:
            print("  " + line)
        return 1
    print("\nno sequential scan of orders, trackings, checkpoints or line items in any plan")
    return 0


def main() -> int:
    args = parse_args()
    with scale_database(args):
        return measure(args.repeat)


if __name__ == "__main__":
    sys.exit(main())
