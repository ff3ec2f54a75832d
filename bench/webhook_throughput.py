"""Webhook events per second on PostgreSQL with one gunicorn sync worker.

Run: ``.venv/bin/python bench/webhook_throughput.py [N]`` (needs PostgreSQL on 127.0.0.1:5432).

Each event is a signed `tracking.updated` with one new checkpoint for one of 200 shipments, so
every request verifies a signature, inserts the event row, records the checkpoint, recomputes the
shipment and bumps the order: the full write path. A second pass re-sends the same events
(duplicates). /healthz in the same run is the baseline. Bounded: N events, one client.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import environment, fresh_database, gunicorn, manage


def sign(secret: str, body: bytes) -> str:
    """The documented scheme (docs/api.md), written out as a sender would."""
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


PARCELS = 200
SETUP = f"""
from orders.models import Account
from tests.conftest import make_order, ship
account = Account.objects.create(name="Bench", slug="bench")
for i in range({PARCELS}):
    ship(make_order(account, order_number=f"B-{{i}}"), f"BENCH{{i:06d}}", carrier="ups")
print(account.webhook_secret)
"""


def events(n: int) -> list[bytes]:
    start = datetime(2025, 1, 16, tzinfo=UTC)
    out = []
    for i in range(n):
        moment = (start + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
        checkpoint = {"timestamp": moment, "status": "in_transit", "statusCode": f"S{i}", "location": "Hub"}
        payload = {
            "id": f"evt-{i}",
            "type": "tracking.updated",
            "createdAt": moment,
            "data": {
                "trackingNumber": f"BENCH{i % PARCELS:06d}",
                "courier": "ups",
                "checkpoints": [checkpoint],
            },
        }
        out.append(json.dumps(payload).encode())
    return out


def post_all(port: int, secret: str, bodies: list[bytes]) -> tuple[float, dict[int, int]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for body in bodies:
        headers = {"Content-Type": "application/json", "Statuspage-Signature": sign(secret, body)}
        connection.request("POST", "/webhooks/tracking/", body, headers)
        response = connection.getresponse()
        response.read()
        statuses[response.status] = statuses.get(response.status, 0) + 1
    return time.perf_counter() - started, statuses


def get_all(port: int, path: str, n: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    for _ in range(n):
        connection.request("GET", path)
        connection.getresponse().read()
    return time.perf_counter() - started


def main(n: int) -> None:
    with fresh_database("statuspage_bench_webhooks") as database:
        env = environment(database)
        manage(env, "migrate", "--noinput")
        secret = manage(env, "shell", stdin=SETUP).strip().splitlines()[-1]
        bodies = events(n)
        with gunicorn(env, workers=1) as port:
            post_all(port, secret, bodies[:20])  # warm-up (also stored; not counted below)
            elapsed, statuses = post_all(port, secret, bodies[20:])
            dup_elapsed, dup_statuses = post_all(port, secret, bodies[20:])
            baseline = get_all(port, "/healthz", n - 20)
    count = n - 20
    print(f"webhook events (new checkpoint each): {count / elapsed:8.1f} events/s  statuses={statuses}")
    print(
        f"webhook duplicates (same events):     {count / dup_elapsed:8.1f} events/s  statuses={dup_statuses}"
    )
    print(f"baseline GET /healthz:                {count / baseline:8.1f} req/s")
    print(f"ratio events/s to baseline:           {baseline / elapsed:8.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
