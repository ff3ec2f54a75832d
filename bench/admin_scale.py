"""The staff admin at scale: every changelist path, its queries, their plans and its time.

The real admin, served in this process by the WSGI application gunicorn runs
(bench/_site_wsgi.py: `statuspage.wsgi.application` with the project's whole middleware, DEBUG
off, static files collected, Redis as cache) for a signed-in staff user, against a PostgreSQL
database of synthetic orders (bench/_scale.py: 100 000 by default, SCALE_ORDERS=1000000 for the
issue's million). For each path — the order list, its pages and sorting, a search by every
identifier, every list filter, the order page, the shipment list — it prints:

- the SQL statements one request runs, each with the nodes of its EXPLAIN plan; the run fails if
  a plan reads orders, shipments, checkpoints or line items with a sequential scan;
- the rows shown, and the median server time of a request (the WSGI call, start to last byte)
  over several rounds (each on another order where the path takes an identifier) with its spread,
  the time spent in the database and the CPU time of this process;
- that median as a multiple of the honest baseline (a one-line view behind Django's default
  middleware, bench/_site_wsgi.py) timed alternately with the path in the same rounds, so load on
  a shared machine moves both alike; and whether the median stayed under 100 ms (issue 12).

The RESULT lines go into bench/run's summary. Usage: bench/admin_scale.py [--orders N]
[--repeat N] [--reuse DBNAME]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _scale import (
    add_arguments,
    big_table_seq_scans,
    explain,
    load_scale_set,
    plan_nodes,
    scale_database,
)
from _server import manage
from _throughput import REDIS_URL

TARGET_MS = 100.0
ROW = re.compile(rb'name="_selected_action"')
PAGE_MARK = b"shipment-timeline"  # an order's page shows its shipments' timelines
BASELINE = "/bench/trivial"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser, repeat=9)
    return parser.parse_args()


class Site:
    """GET requests straight into the WSGI application, as one gunicorn worker would make them."""

    def __init__(self, application, cookie: str = ""):
        self.application = application
        self.cookie = cookie

    def get(self, path: str, params: dict | None = None) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": urlencode(params or {}),
            "HTTP_HOST": "localhost",
            "HTTP_COOKIE": self.cookie,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(),
        }
        setup_testing_defaults(environ)
        status = []
        result = self.application(environ, lambda code, headers, exc_info=None: status.append(code))
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        return status[0], body


def verdict(ms: float) -> str:
    return "ok" if ms < TARGET_MS else "MISS"


@dataclass
class Figures:
    name: str
    rows: int
    walls: list[float] = field(default_factory=list)  # ms per request
    cpus: list[float] = field(default_factory=list)
    sqls: list[float] = field(default_factory=list)
    bases: list[float] = field(default_factory=list)  # the baseline in the same rounds
    pages: list[float] = field(default_factory=list)  # the order page in the same rounds


class AdminBench:
    """Each round times the baseline, one order's page and the path, one after the other."""

    def __init__(self, site: Site, repeat: int, order_page):
        self.site = site
        self.repeat = repeat
        self.order_page = order_page  # k -> URL of an order's change page
        self.figures: list[Figures] = []
        self.seq_scans: list[str] = []

    def get(self, url: str, params: dict, expect: bytes | None = None) -> bytes:
        status, body = self.site.get(url, params)
        if not status.startswith("200"):
            raise SystemExit(f"{url} {params}: {status}")
        if expect is not None and expect not in body:
            raise SystemExit(f"{url} {params}: {expect!r} not in the page")
        return body

    def timed(self, url: str, params: dict, expect: bytes | None) -> tuple[float, float, float]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            cpu, wall = time.process_time(), time.perf_counter()
            self.get(url, params, expect)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        sql = sum(float(query["time"]) for query in captured.captured_queries)
        return wall * 1000, cpu * 1000, sql * 1000

    def path(self, name: str, url, params=None, expect=None) -> None:
        """`url`, `params` and `expect` are values or functions of the round k."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def at(value, k):
            return value(k) if callable(value) else value

        with CaptureQueriesContext(connection) as captured:
            body = self.get(at(url, 0), at(params, 0) or {}, at(expect, 0))
        figures = Figures(name, rows=len(ROW.findall(body)))
        print(f"\n--- {name}: {len(captured.captured_queries)} queries, {figures.rows} rows shown")
        for query in captured.captured_queries:
            sql = query["sql"]
            print(f"  SQL {sql[:240]}{' …' if len(sql) > 240 else ''}")
            if sql.lstrip().upper().startswith("SELECT"):
                nodes = plan_nodes(explain(sql))
                print(f"      plan: {' · '.join(nodes)}")
                self.seq_scans += [f"{name}: {node}" for node in big_table_seq_scans(nodes)]
        for k in range(1, self.repeat + 1):
            figures.bases.append(self.timed(BASELINE, {}, b"ok")[0])
            figures.pages.append(self.timed(self.order_page(k), {}, PAGE_MARK)[0])
            wall, cpu, sql = self.timed(at(url, k), at(params, k) or {}, at(expect, k))
            figures.walls.append(wall)
            figures.cpus.append(cpu)
            figures.sqls.append(sql)
        self.figures.append(figures)

    def report(self) -> int:
        print(
            f"\n{'':7}{'path':50} {'median':>8} {'spread ms':>13} {'SQL':>5} {'CPU':>5} {'× base':>6} "
            f"{'× page':>6} rows  target ≤ {TARGET_MS:.0f} ms: server time, CPU + SQL"
        )
        over, bases, pages = 0, [], []
        for f in self.figures:
            median, sql, cpu = (statistics.median(values) for values in (f.walls, f.sqls, f.cpus))
            bases += f.bases
            pages += f.pages
            over += median >= TARGET_MS
            spread = f"{min(f.walls):.1f}–{max(f.walls):.1f}"
            print(
                f"RESULT {f.name:50} {median:5.1f} ms {spread:>13} {sql:5.1f} {cpu:5.1f} "
                f"{median / statistics.median(f.bases):6.0f} {median / statistics.median(f.pages):6.2f} "
                f"{f.rows:4}  {verdict(median)}, {verdict(cpu + sql)}"
            )
        print(
            f"\nmedian server time of a request (the WSGI call, spread over {self.repeat} rounds); SQL: time "
            "in the database, CPU: this process's CPU time (Python), both ms per request (median; on a busy "
            "machine their sum is nearer what an idle server takes). Ratios against requests timed in the "
            f"same rounds: × base, the baseline {BASELINE} (a one-line view behind Django's default "
            f"middleware; {statistics.median(bases):.2f} ms median, {min(bases):.2f}–{max(bases):.2f}); "
            f"× page, one order's admin page, a primary-key fetch ({statistics.median(pages):.1f} ms median, "
            f"{min(pages):.1f}–{max(pages):.1f})."
        )
        print(f"{len(self.figures) - over} of {len(self.figures)} paths within {TARGET_MS:.0f} ms (median)")
        if self.seq_scans:
            print("\nFAILED: sequential scans of big tables:")
            for line in self.seq_scans:
                print("  " + line)
            return 1
        print("no sequential scan of orders, trackings, checkpoints or line items in any plan")
        return 0


def measure(repeat: int) -> int:
    from _site_wsgi import application  # the production site, and the baseline under /bench/
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from orders.models import Order

    scale = load_scale_set()
    plan, accounts, total = scale.plan, scale.accounts, scale.total

    def order_index(k: int) -> int:
        return (total // 3 + k * 104_729) % total  # a different order each repetition, any age

    def tracking_of(i: int) -> int:
        return (3 * i + 1) // 2  # the first shipment of order i (Plan.order_of_tracking)

    def external_id(i: int) -> str:
        return str(uuid.UUID(hashlib.md5(f"scale{i}".encode()).hexdigest()))  # noqa: S324

    def number_of(i: int) -> bytes:
        return f">{plan.order_number(i)}<".encode()

    user = get_user_model().objects.filter(username="scale-bench").first()
    if user is None:
        user = get_user_model().objects.create_superuser("scale-bench", "bench@example.com", "unused-0")
    signed_in = Client()
    signed_in.force_login(user)  # a session in the database, as a sign-in leaves it
    session = signed_in.cookies["sessionid"].value

    def change_page(k: int) -> str:
        i = order_index(k) - order_index(k) % 2  # an order with two shipments
        return reverse("admin:orders_order_change", args=[Order.objects.get(public_id=plan.public_id(i)).pk])

    pages = {k: change_page(k) for k in range(repeat + 1)}  # looked up before the timing
    bench = AdminBench(Site(application, cookie=f"sessionid={session}"), repeat, pages.get)
    orders = reverse("admin:orders_order_changelist")
    trackings = reverse("admin:orders_tracking_changelist")
    newest = plan.order_number(total - 1).encode()

    bench.path("baseline (one-line view, default middleware)", BASELINE, expect=b"ok")
    bench.path("account list (3 rows)", reverse("admin:orders_account_changelist"))
    bench.path("order list", orders, expect=newest)
    bench.path("order list, page 5", orders, {"p": "5"})
    bench.path("order list, sorted by order number", orders, {"o": "1"})
    bench.path("order list, sorted by order date, oldest first", orders, {"o": "10"})
    bench.path("order list, ?o= names an unindexed column", orders, {"o": "4"})

    def search(name: str, term, shows=number_of) -> None:
        bench.path(
            f"search: {name}", orders, lambda k: {"q": term(order_index(k))}, lambda k: shows(order_index(k))
        )

    search("order number", plan.order_number)
    search("order number, lower case", lambda i: plan.order_number(i).lower())
    search("email, other case", lambda i: plan.email(i).upper())
    search(
        "tracking number, spaced lower case",
        lambda i: " ".join(re.findall(".{1,4}", plan.tracking_number(tracking_of(i)).lower())),
    )
    search("external order id", lambda i: external_id(i - i % 2), lambda i: number_of(i - i % 2))
    search("customer number", plan.customer_number)
    search("external reference", lambda i: plan.external_reference(i - i % 4), lambda i: number_of(i - i % 4))
    search("postal code", plan.postal_code)
    search("public id", plan.public_id)
    search("part of an email", lambda i: f"shopper.{i}@")
    search("part of an order number", lambda i: plan.order_number(i)[4:])
    bench.path("search: part of every email", orders, {"q": "example.com"}, newest)
    # 1.1 % of the orders, all of them old (Shopper.12…, .120…–.129…, …): walking the list
    # newest first would pass most of the table before the first page is full.
    newest_match = max(i for i in (12, 129, 1299, 12999, 129999) if i < total)
    bench.path("search: part of old orders' emails", orders, {"q": "shopper.12"}, number_of(newest_match))
    bench.path("search: nothing matches", orders, lambda k: {"q": f"no-such-order-{k}"})
    bench.path(
        "search + filter: email, status delivered",
        orders,
        lambda k: {"q": plan.email(order_index(k)), "status__exact": "delivered"},
    )

    today = timezone.localdate()
    for name, params in [
        ("filter: status shipped", {"status__exact": "shipped"}),
        ("filter: status cancelled", {"status__exact": "cancelled"}),
        ("filter: carrier DHL", {"carrier": "dhl"}),
        ("filter: delayed yes", {"delayed": "yes"}),
        ("filter: delayed no", {"delayed": "no"}),
        ("filter: exception yes", {"exception": "yes"}),
        ("filter: exception no", {"exception": "no"}),
        ("filter: account", {"account__id__exact": str(accounts[1].pk)}),
        ("filter: account + status shipped", {
            "account__id__exact": str(accounts[1].pk), "status__exact": "shipped"}),
        ("filter: ordered in the past 7 days", {
            "order_date__gte": str(today - timezone.timedelta(days=7)),
            "order_date__lt": str(today + timezone.timedelta(days=1))}),
        ("filter: ordered this year", {
            "order_date__gte": str(today.replace(month=1, day=1)),
            "order_date__lt": str(today.replace(year=today.year + 1, month=1, day=1))}),
    ]:  # fmt: skip
        bench.path(f"order {name}", orders, params)

    bench.path("order page (2 shipments × 4 checkpoints)", pages.get, expect=PAGE_MARK)

    bench.path("shipment list", trackings)
    bench.path(
        "shipment search: number",
        trackings,
        lambda k: {"q": plan.tracking_number(tracking_of(order_index(k))).lower()},
        lambda k: plan.tracking_number(tracking_of(order_index(k))).encode(),
    )
    bench.path(
        "shipment search: order number",
        trackings,
        lambda k: {"q": plan.order_number(order_index(k))},
        lambda k: plan.tracking_number(tracking_of(order_index(k))).encode(),
    )
    bench.path("shipment filter: carrier UPS", trackings, {"carrier__exact": "ups"})
    bench.path("shipment filter: status exception", trackings, {"status__exact": "exception"})
    bench.path("shipment filter: returns", trackings, {"is_return__exact": "1"})
    return bench.report()


def main() -> int:
    args = parse_args()
    with scale_database(args, CACHE_URL=REDIS_URL) as env:
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")  # as a deployment does
        return measure(args.repeat)


if __name__ == "__main__":
    sys.exit(main())
