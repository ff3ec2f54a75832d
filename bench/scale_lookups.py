"""Every lookup path at a million orders: the queries, their plans, and the time per lookup.

Builds a fresh PostgreSQL database with `manage.py generate_scale_data` (1 M orders, 1.5 M
shipments, 6 M checkpoints by default; `--orders 100000` for a quick run), then for each path the
resolver (orders/lookup.py), the email links and the admin use:

- the SQL statements it runs and their EXPLAIN — the run fails if any plan reads one of the big
  tables with a sequential scan;
- its latency: the median of several repetitions (each on a different order) with the spread,
  as a ratio against a primary-key lookup measured in the same run (and, for admin pages,
  against the changelist of the three-row Account table).

Admin pages also print whether they stayed under 100 ms (issue 12's target; on a loaded machine
the absolute figures swing, the ratios much less).

Usage: bench/scale_lookups.py [--orders N] [--repeat N] [--reuse DBNAME]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import environment, fresh_database, manage

BIG_TABLES = ("orders_order", "orders_tracking", "orders_checkpoint", "orders_lineitem")
SEQ_SCAN = re.compile(r"Seq Scan on (" + "|".join(BIG_TABLES) + r")\b")
ADMIN_TARGET_MS = 100.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7, help="repetitions per lookup (median, spread)")
    parser.add_argument("--reuse", metavar="DBNAME", help="measure an existing scale database instead")
    return parser.parse_args()


def build(database: str, orders: int) -> None:
    env = environment(database)
    started = time.perf_counter()
    manage(env, "migrate", "-v0")
    print(manage(env, "generate_scale_data", "--orders", str(orders)), end="")
    print(f"database built (migrate + generate) in {time.perf_counter() - started:.0f} s")


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

    def report(self, baseline: str, admin_baseline: str) -> None:
        medians = {name: statistics.median(times) for _, name, times, _ in self.rows}
        base, admin_base = medians[baseline], medians[admin_baseline]
        print(f"\n{'path':50} {'median ms':>9} {'spread ms':>13} {'SQL ms':>6} {'× pk':>6} {'× admin':>7}")
        for group, name, times, sql_times in self.rows:
            median = medians[name]
            spread = f"{min(times):.1f}–{max(times):.1f}"
            admin_ratio = f"{median / admin_base:7.2f}" if group.startswith("admin") else ""
            mark = ""
            if group.startswith("admin") and name != admin_baseline:
                mark = "  ok <100ms" if median < ADMIN_TARGET_MS else "  OVER 100 ms"
            sql = statistics.median(sql_times)
            print(
                f"{name:50} {median:9.1f} {spread:>13} {sql:6.1f} {median / base:6.1f} {admin_ratio:>7}{mark}"
            )
        print(
            f"\n× pk: against '{baseline}' ({base:.2f} ms); × admin: against '{admin_baseline}' "
            f"({admin_base:.1f} ms). SQL ms: time in the database per request (median); the rest is Python "
            "(middleware, admin row rendering)."
        )


def measure(repeat: int) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings

    # Production settings, but static URLs without collectstatic's manifest.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from orders import lookup
    from orders.models import Account, Order
    from orders.notifications.links import recent_orders
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

    def order_index(k: int) -> int:
        return (total // 3 + k * 104_729) % total  # a different order each repetition

    def account_of(i: int) -> str:
        return str(accounts[i % ACCOUNTS].pk)

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

    user = get_user_model().objects.filter(username="scale-bench").first()
    if user is None:
        user = get_user_model().objects.create_superuser("scale-bench", "bench@example.com", "unused-0")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    orders_url = reverse("admin:orders_order_changelist")
    trackings_url = reverse("admin:orders_tracking_changelist")

    def admin(url: str, params=None, expect_rows: bool = True):
        def run(k: int) -> None:
            query = params(order_index(k)) if callable(params) else params
            response = client.get(url, query or {})
            if response.status_code != 200:
                raise SystemExit(f"{url} {query}: {response.status_code}")
            if expect_rows and b'id="result_list"' not in response.content:
                raise SystemExit(f"{url} {query}: no rows")

        return run

    m.path(
        "admin", "baseline: Account changelist (3 rows)", admin(reverse("admin:orders_account_changelist"))
    )
    m.path("admin", "order changelist", admin(orders_url))
    m.path("admin", "order changelist page 5", admin(orders_url, {"p": "5"}))
    for name, params in [
        ("search: order number", lambda i: {"q": plan.order_number(i)}),
        ("search: email, other case", lambda i: {"q": plan.email(i).upper()}),
        ("search: tracking number, spaced lower case", lambda i: {
            "q": " ".join(re.findall(".{1,4}", plan.tracking_number(tracking_of(i)).lower()))}),
        ("search: external order id", lambda i: {"q": external_id(i)}),
        ("search: customer number", lambda i: {"q": plan.customer_number(i)}),
        ("search: external reference", lambda i: {"q": plan.external_reference(i - i % 4)}),
        ("search: postal code", lambda i: {"q": plan.postal_code(i)}),
        ("search: public id", lambda i: {"q": plan.public_id(i)}),
        ("search: substring of an email", lambda i: {"q": f"shopper.{i}@"}),
        ("search: substring of an order number", lambda i: {"q": plan.order_number(i)[3:]}),
    ]:  # fmt: skip
        m.path("admin", name, admin(orders_url, params))
    for name, params in [
        ("filter: status shipped", {"status__exact": "shipped"}),
        ("filter: status cancelled", {"status__exact": "cancelled"}),
        ("filter: carrier dhl", {"carrier": "dhl"}),
        ("filter: delayed yes", {"delayed": "yes"}),
        ("filter: delayed no", {"delayed": "no"}),
        ("filter: exception yes", {"exception": "yes"}),
        ("filter: exception no", {"exception": "no"}),
        ("filter: account", {"account__id__exact": str(accounts[1].pk)}),
        ("filter: account + status shipped", {
            "account__id__exact": str(accounts[1].pk), "status__exact": "shipped"}),
    ]:  # fmt: skip
        m.path("admin", name, admin(orders_url, params))
    m.path("admin", "tracking changelist", admin(trackings_url))
    m.path(
        "admin",
        "tracking search: number",
        admin(trackings_url, lambda i: {"q": plan.tracking_number(tracking_of(i)).lower()}),
    )
    m.path(
        "admin", "tracking search: order number", admin(trackings_url, lambda i: {"q": plan.order_number(i)})
    )
    m.path("admin", "tracking filter: carrier ups", admin(trackings_url, {"carrier__exact": "ups"}))
    m.path("admin", "tracking filter: status exception", admin(trackings_url, {"status__exact": "exception"}))

    m.report("baseline: Order by primary key", "baseline: Account changelist (3 rows)")
    if m.seq_scans:
        print("\nFAILED: sequential scans of big tables:")
        for line in m.seq_scans:
            print("  " + line)
        return 1
    print("\nno sequential scan of orders, trackings, checkpoints or line items in any plan")
    return 0


def main() -> int:
    args = parse_args()
    if args.reuse:
        os.environ.update(environment(args.reuse))
        return measure(args.repeat)
    name = f"sp_bench_scale_{os.getpid()}"
    with fresh_database(name) as database:
        build(database, args.orders)
        os.environ.update(environment(database))
        return measure(args.repeat)


if __name__ == "__main__":
    sys.exit(main())
