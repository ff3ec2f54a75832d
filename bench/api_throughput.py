"""The order status info API's throughput as a ratio of a trivial view, in the same run.

Run: ``.venv/bin/python bench/api_throughput.py [SECONDS]`` (needs PostgreSQL and Redis on
127.0.0.1). gunicorn with 2 sync workers serves the site plus a trivial JSON view
(bench/_api_site_urls.py, loaded only here); a pool of client threads on keep-alive connections
runs each scenario for a fixed, bounded time. Scenarios: the trivial view (baseline), the info
API with an API key (full), and with a shopper's signed link (full, no key).
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import environment, fresh_database, gunicorn, manage

THREADS = 4
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


def hammer(port: int, path: str, headers: dict[str, str], seconds: float) -> tuple[float, dict[int, int]]:
    """Requests per second over `seconds` with THREADS keep-alive clients."""
    counts: list[int] = [0] * THREADS
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            counts[index] += 1
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started), statuses


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
            for path, headers in (("/bench/trivial.json", {}), (info, {"X-API-Key": key}), (signed, {})):
                hammer(port, path, headers, 1)  # warm-up
            trivial, trivial_statuses = hammer(port, "/bench/trivial.json", {}, seconds)
            keyed, keyed_statuses = hammer(port, info, {"X-API-Key": key}, seconds)
            linked, linked_statuses = hammer(port, signed, {}, seconds)
    print(f"trivial JSON view (baseline): {trivial:8.1f} req/s  {trivial_statuses}")
    print(f"info API, API key:            {keyed:8.1f} req/s  {keyed_statuses}  ratio {keyed / trivial:.3f}")
    print(
        f"info API, signed link:        {linked:8.1f} req/s  {linked_statuses}  ratio {linked / trivial:.3f}"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5)
