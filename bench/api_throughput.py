"""The order status info API's throughput as a ratio of a trivial view, in the same run.

Run: ``.venv/bin/python bench/api_throughput.py [SECONDS]`` (needs PostgreSQL and Redis on
127.0.0.1). gunicorn with 2 sync workers serves the site plus a trivial JSON view
(bench/_api_site_urls.py, loaded only here); wrk (or, without it, a Python client) loads each
scenario for a fixed time. Scenarios: the trivial view (baseline), the info API with an API key
(full) and with a shopper's signed link (full, no key) — polls of the same URL, as storefronts do.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import environment, fresh_database, gunicorn, load, manage

CONNECTIONS = 8
SETUP = """
from orders import apikeys
from orders.models import Account
from tests.conftest import days_ago, make_order, scan, ship
account = Account.objects.create(name="Bench", slug="bench")
order = make_order(account, order_number="B-1")
tracking = ship(order, "1Z999AA10123456784")
for day, status in ((3, "info_received"), (2, "in_transit"), (1, "out_for_delivery")):
    scan(tracking, status, days_ago(day))
print(apikeys.create_key(account=account, name="bench").secret)
print(order.status_url(kind="info", absolute=False))
"""


def main(seconds: float) -> None:
    with fresh_database("statuspage_bench_api") as database:
        env = environment(
            database,
            DJANGO_SETTINGS_MODULE="_api_site",
            CACHE_URL="redis://127.0.0.1:6379/15",
            API_KEY_RATE="1000000/m",
        )
        manage(env, "migrate", "--noinput")
        key, signed = manage(env, "shell", stdin=SETUP).strip().splitlines()[-2:]
        info = "/v4/track/orders/info/?order_number=B-1"
        with gunicorn(env, workers=2) as port:
            base = f"http://127.0.0.1:{port}"
            scenarios = {
                "trivial JSON view (baseline)": (base + "/bench/trivial.json", {}),
                "info API, API key": (base + info, {"X-API-Key": key}),
                "info API, signed link": (base + signed, {}),
            }
            for url, headers in scenarios.values():  # warm-up: connections, caches, imports
                load(url, seconds=1, connections=CONNECTIONS, headers=headers)
            rates = {name: load(url, seconds=seconds, connections=CONNECTIONS, headers=headers)
                     for name, (url, headers) in scenarios.items()}  # fmt: skip
    trivial = rates["trivial JSON view (baseline)"]
    print(
        f"gunicorn 2 sync workers, {CONNECTIONS} connections, {seconds:.0f} s per scenario, PostgreSQL, Redis"
    )
    for name, rate in rates.items():
        print(f"{name:<30} {rate:8.1f} req/s  ratio {rate / trivial:.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5)
