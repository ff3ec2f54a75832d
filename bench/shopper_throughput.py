"""Every shopper-facing answer's throughput as a ratio of the honest baseline, in the same run.

Run: ``.venv/bin/python bench/shopper_throughput.py`` (or ``bench/run``). Needs PostgreSQL on
127.0.0.1:5432, Redis (BENCH_REDIS_URL) and wrk.

One gunicorn (2 sync workers, DEBUG=0, PostgreSQL in a fresh database, Redis as cache and
rate-limit store) serves the production site and, in the same processes, the baseline: a one-line
view behind Django's default middleware (bench/_site_wsgi.py; checked before measuring). The
order: 2 shipments × 8 checkpoints and 3 line items. Every scenario must answer 200 with the
expected content type and content before it is measured; wrk then loads it for BENCH_SECONDS
between two baseline measurements, BENCH_REPS times (see bench/_throughput.py). Each line gives
the median req/s, the median ratio and its spread over the repetitions, issue 12's target, and
the gunicorn processes' CPU time per request.

Environment: BENCH_SECONDS (3), BENCH_REPS (3), BENCH_CONNECTIONS (8),
BENCH_REDIS_URL (redis://127.0.0.1:6379/13, flushed first).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _throughput as bench
from _server import environment, fresh_database, gunicorn, manage

WORKERS = 2
UPS, USPS = "1Z999AA10123456784", "9400111899223197428490"
SETUP = f"""
import json
import os
from datetime import timedelta
from django.utils import timezone
from orders import apikeys, lifecycle
from orders.models import Account, LineItem, Order

account = Account.objects.create(name="Acme Outfitters", slug="acme", brand_color="#1f6feb")
order = Order.objects.create(
    account=account, order_number="1001", recipient_name="Jane Shopper",
    recipient_email="jane.shopper@example.com", street1="123 Main St", city="Austin", state="TX",
    postal_code="78701", country="US", language="en",
)
for name, sku, price in (("Trail Runner Shoe", "TR-42", "89.90"), ("Merino Socks", "MS-3", "14.50"),
                         ("Rain Shell", "RS-1", "129.00")):
    LineItem.objects.create(order=order, name=name, sku=sku, quantity=1, unit_price=price)
now = timezone.now()
route = ("Austin, TX", "Dallas, TX", "Memphis, TN", "Louisville, KY", "Indianapolis, IN", "Chicago, IL",
         "Chicago, IL", "Chicago, IL")
for number, last in (("{UPS}", ("out_for_delivery", "delivered")), ("{USPS}", ("in_transit", "in_transit"))):
    tracking = lifecycle.attach_tracking(order=order, tracking_number=number)
    statuses = ("info_received", *["in_transit"] * 5, *last)
    for step, (status, location) in enumerate(zip(statuses, route)):
        lifecycle.record_checkpoint(
            tracking=tracking, occurred_at=now - timedelta(hours=8 * (8 - step)), status=status,
            message=f"{{status.replace('_', ' ').capitalize()}} ({{step + 1}})", location=location,
            country="US",
        )
order.refresh_from_db()
print(json.dumps({{
    "page": order.status_url(kind="page", absolute=False),
    "info": order.status_url(kind="info", absolute=False),
    "widget": order.status_url(kind="widget", absolute=False),
    "widget2": order.status_url(kind="widget", absolute=False, scale=2),
    "key": apikeys.create_key(account=account, name="bench").secret,
}}))
"""


def scenarios(links: dict[str, str]) -> list[bench.Scenario]:
    """What a shopper's browser, a storefront and a mail client ask for, with issue 12's targets.
    Full answers must show the recipient or the items; limited ones must not show the recipient."""
    page_query = links["page"].partition("?")[2]
    info = f"/v4/track/orders/info/?tracking_number={UPS}"
    html, json_type, png = "text/html", "application/json", "image/png"
    item, recipient, ups = b"Trail Runner Shoe", b"Jane Shopper", UPS.encode()
    key = {"X-API-Key": links["key"]}
    return [
        bench.Scenario("status page, signed link (repeated view)", links["page"], html, item, target=0.8),
        bench.Scenario(
            "status partial /track/status/ (htmx)",
            f"/track/status/?{page_query}",
            html,
            contains=b'id="status"',
            lacks=b"<html",
            headers={"HX-Request": "true"},
        ),
        bench.Scenario(
            "limited page /track/?tracking_number=",
            f"/track/?tracking_number={UPS}",
            html,
            contains=ups,
            lacks=recipient,
            target=0.6,
        ),
        bench.Scenario("lookup form /", "/", html, b"<form", target=0.8),
        bench.Scenario("info API by tracking number, public", info, json_type, ups, recipient, target=0.8),
        bench.Scenario(
            "info API by tracking number, API key", info, json_type, recipient, headers=key, target=0.8
        ),
        bench.Scenario("info API by signed link", links["info"], json_type, recipient),
        bench.Scenario("widget cache hit, scale=1", links["widget"], png, b"\x89PNG", target=0.9),
        bench.Scenario("widget cache hit, scale=2", links["widget2"], png, b"\x89PNG", target=0.9),
    ]


def main() -> None:
    bench.require_tools()
    with fresh_database("statuspage_bench_shopper") as database:
        env = environment(
            database,
            CACHE_URL=bench.REDIS_URL,
            API_KEY_RATE="1000000/m",  # the key check still runs; only its limit is out of reach
        )
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")  # as a deployment does
        links = json.loads(manage(env, "shell", stdin=SETUP).strip().splitlines()[-1])
        with gunicorn(env, workers=WORKERS, app=bench.WSGI_APP, config=bench.GUNICORN_CONFIG) as port:
            bench.check_baseline(port)
            measured = scenarios(links)
            baseline, figures = bench.measure(port, measured)
    print(
        f"gunicorn {WORKERS} sync workers, DEBUG=0, PostgreSQL, Redis ({bench.REDIS_URL}), wrk "
        f"{bench.CONNECTIONS} connections, {bench.REPS} repetitions × {bench.SECONDS:g} s per URL"
    )
    bench.report(measured, baseline, figures)


if __name__ == "__main__":
    main()
