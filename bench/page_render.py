"""The status page's first (cold) render, profiled: where a worker's CPU time goes.

Run: ``.venv/bin/python bench/page_render.py`` (or ``bench/run page_render``). Needs PostgreSQL
on 127.0.0.1:5432 and Redis (BENCH_REDIS_URL, flushed first).

The production site as a gunicorn worker runs it, in this process (bench/_site_wsgi.py: the
project's middleware, DEBUG off, static files collected, PostgreSQL in a fresh database, Redis as
cache and rate-limit store), asked for the signed status page of orders with 2 shipments × 8
checkpoints and 3 line items (full access). Cold: no cached page of the order exists (each
repetition first drops the kept pages), while what every worker keeps for its lifetime — compiled
templates, translations, Babel's locale data, the accounts — is warm, as after a worker's first
request. The same requests as a kept page (the repeated view) are timed for comparison.

Each repetition times, order by order, the baseline (a one-line view behind Django's default
middleware, bench/_site_wsgi.py), the cold page and the kept page, as this process's CPU time
per request; a repetition's ratio is the baseline's median over the page's (speed relative to the
baseline). One more, profiled, round splits the cold render's CPU time by where it is spent, by
module: templates, i18n and formats (translations, Babel, time zones), ORM and database driver
(the project's compiled queries and timeline loading included), middleware and request handling,
cache and Redis, form validation, our page logic, the rest. The split is scaled to the unprofiled
median. Issue 12's target: ≤ 8 ms of worker CPU.

Environment: BENCH_REPS (3), BENCH_REDIS_URL (redis://127.0.0.1:6379/13), PAGE_ORDERS (20).
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from wsgiref.util import setup_testing_defaults

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _server import environment, fresh_database, manage
from _throughput import REDIS_URL, REPS, result_line, spread

ORDERS = int(os.environ.get("PAGE_ORDERS", "20"))
TARGET_MS = 8.0
BASELINE = "/bench/trivial"
ITEMS = (
    ("Trail Runner Shoe", "TR-42", "89.90"),
    ("Merino Socks", "MS-3", "14.50"),
    ("Rain Shell", "RS-1", "129.00"),
)
ROUTE = ("Austin, TX", "Dallas, TX", "Memphis, TN", "Louisville, KY", "Indianapolis, IN", "Chicago, IL")

# Where a function's own time goes, by the file it is defined in (first match wins).
CATEGORIES = (
    ("templates", ("django/template/", "django/templatetags/", "orders/templatetags/", "django/utils/html.py",
                   "django/utils/safestring.py", "django/forms/boundfield.py", "django/forms/renderers.py",
                   "django/forms/widgets.py", "django/forms/utils.py")),
    ("i18n and formats", ("django/utils/translation/", "/gettext.py", "babel/", "orders/formatting.py",
                          "django/utils/formats.py", "zoneinfo", "django/utils/timezone.py",
                          "django/utils/dateformat.py", "/locale.py")),
    ("ORM and database", ("django/db/", "psycopg", "orders/compiled_queries.py", "orders/timeline.py")),
    ("cache and Redis", ("redis/", "django/core/cache/", "statuspage/redis_cache.py", "orders/cache/",
                         "orders/ratelimits.py")),
    ("middleware and request handling", ("django/core/handlers/", "django/middleware/", "django/contrib/",
                                         "whitenoise/", "django_htmx/", "orders/middleware.py",
                                         "orders/request_id.py", "orders/fastlane.py", "orders/outages.py",
                                         "django/http/", "django/urls/", "bench/_site_wsgi.py",
                                         "django/dispatch/", "orders/views/cached_pages.py")),
    ("form validation (lookup parameters)", ("django/forms/", "django/core/validators.py")),
    ("page logic (orders/)", ("orders/",)),
)  # fmt: skip
OTHER = "other"
# Helpers anyone calls: their time counts for their callers' categories.
GENERIC = ("/copy.py", "/enum.py", "/inspect.py", "/functools.py", "/abc.py", "/_collections_abc.py",
           "/urllib/parse.py", "/html/__init__.py", "/re/", "/contextlib.py", "/threading.py", "asgiref/",
           "django/utils/functional.py", "django/utils/deconstruct.py", "django/utils/datastructures.py",
           "django/utils/encoding.py", "django/utils/itercompat.py", "/contextvars", "/typing.py",
           "/dataclasses.py", "/weakref.py", "/operator.py", "/hashlib.py", "/hmac.py",
           "/base64.py")  # fmt: skip

SETUP_ORDERS = """
import json
from datetime import timedelta
from django.utils import timezone
from orders import lifecycle
from orders.models import Account, LineItem, Order

account = Account.objects.create(name="Acme Outfitters", slug="acme", brand_color="#1f6feb",
                                 support_email="help@acme.test")
now = timezone.now()
urls = []
for n in range({orders}):
    order = Order.objects.create(
        account=account, order_number=f"{{1001 + n}}", recipient_name="Jane Shopper",
        recipient_email=f"jane.{{n}}@example.com", street1="123 Main St", city="Austin", state="TX",
        postal_code="78701", country="US", language="en",
    )
    for name, sku, price in {items!r}:
        LineItem.objects.create(order=order, name=name, sku=sku, quantity=1 + n % 2, unit_price=price)
    for t, last in enumerate((("out_for_delivery", "delivered"), ("in_transit", "in_transit"))):
        tracking = lifecycle.attach_tracking(order=order, tracking_number=f"1Z999AA1{{n:05d}}{{t:05d}}")
        for step, status in enumerate(("info_received", *["in_transit"] * 5, *last)):
            lifecycle.record_checkpoint(
                tracking=tracking, occurred_at=now - timedelta(hours=8 * (8 - step) + n), status=status,
                message=f"{{status.replace('_', ' ').capitalize()}} ({{step + 1}})",
                location={route!r}[step % {stops}], country="US",
            )
    order.refresh_from_db()
    urls.append(order.status_url(kind="page", absolute=False))
print(json.dumps(urls))
"""


def request(application, url: str) -> tuple[str, bytes]:
    path, _, query = url.partition("?")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "127.0.0.1",
               "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO()}  # fmt: skip
    setup_testing_defaults(environ)
    status = []
    result = application(environ, lambda code, headers, exc_info=None: status.append(code))
    try:
        return status[0], b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()


def cpu_ms(application, url: str, expect: bytes) -> float:
    started = time.process_time()
    status, body = request(application, url)
    elapsed = (time.process_time() - started) * 1000
    if not status.startswith("200") or expect not in body:
        raise SystemExit(f"{url}: {status}, {expect!r} {'in' if expect in body else 'not in'} the answer")
    return elapsed


def drop_kept_pages() -> None:
    """No order has a kept page any more (nor a worker's copy of one): the next view is cold."""
    from django.core.cache import cache

    from orders.cache import answers

    answers._local_pages.clear()
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match="*page:*", count=1000))
    if keys:
        client.delete(*keys)


def category(filename: str) -> str | None:
    """The category of a file's functions; None for helpers anyone calls (built-ins, copy, lazy
    objects, …), whose time counts for whoever called them."""
    path = filename.replace("\\", "/")
    if path == "~" or any(marker in path for marker in GENERIC):
        return None
    for name, markers in CATEGORIES:
        if any(marker in path for marker in markers):
            return name
    return OTHER


def split(application, urls: list[str]) -> dict[str, float]:
    """Each category's share of the cold renders' CPU time: the own time of its functions, and of
    the helpers they call (distributed over the callers of a helper by the time each caused)."""
    drop_kept_pages()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for url in urls:
        request(application, url)
    profile.disable()
    stats = pstats.Stats(profile).stats
    memo: dict[tuple, dict[str, float]] = {}

    def shares_of(function: tuple, seen: frozenset = frozenset()) -> dict[str, float]:
        if function in memo:
            return memo[function]
        own = category(function[0])
        if own is not None:
            return memo.setdefault(function, {own: 1.0})
        callers = {caller: timing[2] or timing[3] for caller, timing in stats[function][4].items()}
        callers = {caller: weight for caller, weight in callers.items() if caller not in seen and weight > 0}
        if not callers:
            return {OTHER: 1.0}
        total, result = sum(callers.values()), {}
        for caller, weight in callers.items():
            for name, share in shares_of(caller, seen | {function}).items():
                result[name] = result.get(name, 0.0) + share * weight / total
        if not seen:
            memo[function] = result
        return result

    spent: dict[str, float] = {}
    for function, (_cc, _nc, own, _cum, _callers) in stats.items():
        for name, share in shares_of(function).items():
            spent[name] = spent.get(name, 0.0) + own * share
    total = sum(spent.values())
    return {name: own / total for name, own in spent.items()}


def query_count(application, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    drop_kept_pages()
    with CaptureQueriesContext(connection) as captured:
        request(application, url)
    return len(captured.captured_queries)


def measure(urls: list[str]) -> None:
    import django

    django.setup()
    from _site_wsgi import application  # the production site, and the baseline under /bench/

    item = ITEMS[0][0].encode()
    for url in urls:  # warm-up: compiled templates, translations, locale data, accounts
        request(application, BASELINE)
        request(application, url)
    times = {"baseline": [], "cold": [], "kept": []}
    ratios = {"cold": [], "kept": []}
    for _ in range(REPS):
        drop_kept_pages()
        rep = {name: [] for name in times}
        for url in urls:
            rep["baseline"].append(cpu_ms(application, BASELINE, b"ok"))
            rep["cold"].append(cpu_ms(application, url, item))
            rep["kept"].append(cpu_ms(application, url, item))
        for name in times:
            times[name] += rep[name]
        for name in ratios:
            ratios[name].append(statistics.median(rep["baseline"]) / statistics.median(rep[name]))
    shares = split(application, urls)
    queries = query_count(application, urls[0])

    base, cold, kept = (statistics.median(times[name]) for name in ("baseline", "cold", "kept"))
    print(
        f"{len(urls)} orders (2 shipments × 8 checkpoints, 3 items), {REPS} repetitions; CPU time of this "
        f"process per request, median (spread)"
    )
    print(f"baseline {BASELINE} (one-line view, Django's default middleware): {base:.3f} ms", end=" ")
    print(spread(times["baseline"]))
    print(f"cold status page (signed link, full access): {cold:.2f} ms {spread(times['cold'])},", end=" ")
    print(f"{queries} SQL queries")
    print(f"kept status page (the repeated view):        {kept:.3f} ms {spread(times['kept'])}")
    print("cold render split (profiled round, scaled to the median):")
    for name, share in sorted(shares.items(), key=lambda item: -item[1]):
        print(f"  {name:<40} {share * cold:6.2f} ms  {share:6.1%}")
    verdict = "ok" if cold <= TARGET_MS else "MISS"
    fastest = min(times["cold"])
    note = (
        f"CPU p50 {cold:.2f} ms/render (min {fastest:.2f}; {cold / base:.0f}× baseline), "
        f"target ≤ {TARGET_MS:.0f} ms {verdict}"
    )
    print(result_line("cold render, status page 2×8 (speed vs baseline)", ratios["cold"], note=note))
    note = f"CPU p50 {kept:.3f} ms/request ({kept / base:.1f}× baseline), in process"
    print(result_line("kept status page (speed vs baseline)", ratios["kept"], note=note))


def flush_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).flushdb()  # the benchmark's own db
    except redis.RedisError as exc:
        raise SystemExit(f"no Redis at BENCH_REDIS_URL={REDIS_URL}: {exc}") from None


def main() -> None:
    flush_redis()
    with fresh_database("statuspage_bench_render") as database:
        env = environment(
            database,
            CACHE_URL=REDIS_URL,
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")  # as a deployment does
        setup = SETUP_ORDERS.format(orders=ORDERS, items=ITEMS, route=ROUTE, stops=len(ROUTE))
        urls = json.loads(manage(env, "shell", stdin=setup).strip().splitlines()[-1])
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
        measure(urls)


if __name__ == "__main__":
    main()
