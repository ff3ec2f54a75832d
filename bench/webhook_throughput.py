"""Webhook ingest on PostgreSQL and Redis: one gunicorn sync worker, one Celery worker.

Run: ``.venv/bin/python bench/webhook_throughput.py [EVENTS] [REPETITIONS]`` (default 2000, 3;
needs PostgreSQL and Redis on 127.0.0.1, Redis from BENCH_REDIS, default redis://127.0.0.1:6379,
databases 10 and 11 are flushed).

Every event is a signed `tracking.updated` with one new checkpoint for one of 200 shipments (a
new scan: the full write path). Per repetition, each figure over its own fresh events:

- baselines, same server, same client: a trivial POST and a bare INSERT of the body, both behind
  Django's default middleware (bench/_webhook_site.py);
- accepted: WEBHOOK_APPLY=async, the Celery worker stopped (events pile up as pending);
- applied: that backlog drained by one Celery worker (`--pool solo`), and another by the
  in-process batch applier (`manage.py apply_webhooks`), events/s between the first and the last
  batch's commit;
- end to end: gunicorn and the Celery worker at once, from the first POST to the last applied;
- duplicates: the same events again (async);
- sync: WEBHOOK_APPLY=sync without a broker, as a small deployment runs it (notifications are
  then sent in the request too).

Each line gives the median and the spread (min–max) of the repetitions; ratios are against the
trivial POST of the same repetition. The client is two processes sending pre-signed requests
over fresh connections (gunicorn's sync workers close them), so the worker is never idle.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from _server import PG, PYTHON, ROOT, environment, fresh_database, gunicorn, manage

REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379").rstrip("/")
BROKER, CACHE = f"{REDIS}/10", f"{REDIS}/11"
PARCELS = 200
CLIENTS = 2
APP = "_webhook_site_wsgi:application"
SETUP = f"""
from django.db import connection
from orders.models import Account
from tests.conftest import make_order, ship
account = Account.objects.create(name="Bench", slug="bench")
for i in range({PARCELS}):
    ship(make_order(account, order_number=f"B-{{i}}"), f"BENCH{{i:06d}}", carrier="ups")
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE bench_bare_insert (id bigserial PRIMARY KEY, body text NOT NULL)")
print(account.webhook_secret)
"""
# What one event costs in the process, piece by piece (the "what caps it" lines).
PIECES = f"""
import json, time
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from orders import webhooks
from orders.models import Account, WebhookEvent
from orders.webhooks import apply, batches
from orders.webhooks.signatures import find_account, sign, verify_signature
account = Account.objects.get(slug="bench")
def body(i):
    return json.dumps({{"id": f"piece-{{i}}", "type": "tracking.updated", "createdAt": "2025-03-01T00:00:00Z",
        "data": {{"trackingNumber": f"BENCH{{i % {PARCELS}:06d}}", "courier": "ups", "checkpoints": [
            {{"timestamp": f"2025-03-01T{{i // 3600 % 24:02d}}:{{i // 60 % 60:02d}}:{{i % 60:02d}}Z",
              "status": "in_transit", "statusCode": f"P{{i}}", "location": "Hub"}}]}}}}).encode()
bodies = [body(i) for i in range(400)]
signatures = [sign(account.webhook_secret, b) for b in bodies]
def per(label, fn, items):
    started = time.perf_counter()
    for item in items:
        fn(item)
    print(label, (time.perf_counter() - started) / len(items) * 1e6)
per("account", lambda _: find_account("bench"), bodies)
per("signature", lambda i: verify_signature(account.webhook_secret, signatures[i], bodies[i]), range(400))
payloads = [json.loads(b) for b in bodies]
per("json", json.loads, bodies)
per("validate", lambda p: apply.parse("tracking", p), payloads)
with override_settings(WEBHOOK_APPLY="async"):
    with CaptureQueriesContext(connection) as stored:
        webhooks.process(account=account, source="tracking", payload=payloads[0])
    per("store", lambda p: webhooks.process(account=account, source="tracking", payload=p), payloads[1:])
with CaptureQueriesContext(connection) as batch:
    batches.apply_pending(limit=100)
print("store_statements", len(stored.captured_queries))
print("apply_statements", len(batch.captured_queries) / 100)
"""


# --- events and the client ---------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The documented scheme (docs/api.md), written out as a sender would."""
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_bodies(first: int, count: int) -> list[bytes]:
    start = datetime(2025, 1, 16, tzinfo=UTC)
    out = []
    for i in range(first, first + count):
        moment = (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
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


def raw_post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed_requests(secret: str, bodies: list[bytes]) -> list[bytes]:
    return [
        raw_post("/webhooks/tracking/", body, {"Statuspage-Signature": sign(secret, body)}) for body in bodies
    ]


def _client(port: int, requests: list[bytes], start_at: float, results) -> None:
    while time.monotonic() < start_at:
        time.sleep(0.001)
    statuses: Counter[int] = Counter()
    began = time.monotonic()
    for request in requests:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        statuses[int(b"".join(chunks)[9:12])] += 1
    results.put((began, time.monotonic(), dict(statuses)))


def send(port: int, requests: list[bytes]) -> tuple[float, dict[int, int], float]:
    """Requests per second over CLIENTS processes, the answers' status codes, and when (wall
    clock) the first request went out."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.monotonic() + 0.5
    began = time.time() + 0.5
    workers = [
        context.Process(target=_client, args=(port, requests[i::CLIENTS], start_at, results))
        for i in range(CLIENTS)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    statuses: Counter[int] = Counter()
    for _began, _ended, counts in outcomes:
        statuses.update(counts)
    elapsed = max(o[1] for o in outcomes) - min(o[0] for o in outcomes)
    return len(requests) / elapsed, dict(sorted(statuses.items())), began


# --- the processes -----------------------------------------------------------------------------


class CeleryWorker:
    def __init__(self, env: dict[str, str]):
        self.env = env

    def __enter__(self):
        command = [str(PYTHON), "-m", "celery", "-A", "statuspage", "worker", "--pool", "solo"]
        command += ["--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=60)


class Database:
    """Reads the bench database directly (a `manage.py` per look would compete for the CPU)."""

    def __init__(self, name: str):
        self.connection = psycopg.connect(f"{PG}/{name}", autocommit=True)

    def value(self, sql: str, *params):
        return self.connection.execute(sql, params).fetchone()[0]

    def wait_until_applied(self, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while self.value("SELECT count(*) FROM orders_webhookevent WHERE outcome = 'pending'"):
            if time.monotonic() > deadline:
                raise SystemExit("events still pending")
            time.sleep(0.2)

    def applied_rate(self, first: int, count: int) -> tuple[float, str]:
        """Events/s between the first and the last batch's commit (each batch stamps its events)."""
        ids = [f"evt-{i}" for i in range(first, first + count)]
        rows = self.connection.execute(
            "SELECT processed_at, outcome, count(*) FROM orders_webhookevent WHERE event_id = ANY(%s) "
            "GROUP BY processed_at, outcome ORDER BY processed_at",
            [ids],
        ).fetchall()
        outcomes = Counter()
        for _at, outcome, number in rows:
            outcomes[outcome] += number
        seconds = (rows[-1][0] - rows[0][0]).total_seconds()
        return (count - rows[0][2]) / seconds, f"outcomes={dict(outcomes)}"

    def last_applied(self) -> float:
        return self.value("SELECT max(processed_at) FROM orders_webhookevent").timestamp()


def flush_redis() -> None:
    import redis

    for url in (BROKER, CACHE):
        redis.Redis.from_url(url).flushdb()


# --- the run -----------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f}  ({min(values):.1f}–{max(values):.1f})"


def main(n: int, repetitions: int) -> None:
    flush_redis()
    figures: dict[str, list[tuple[float, float]]] = {}  # name: (events/s, ratio to that run's trivial POST)
    notes: dict[str, str] = {}
    trivial = 0.0

    def record(name: str, value: float, note: str = "") -> None:
        figures.setdefault(name, []).append((value, value / trivial))
        if note:
            notes[name] = note

    with fresh_database("statuspage_bench_webhooks") as name:
        base = environment(name, DJANGO_SETTINGS_MODULE="_webhook_site", CACHE_URL=CACHE,
                           GUNICORN_ACCESS_LOG="/dev/null")  # fmt: skip
        async_env = {**base, "CELERY_BROKER_URL": BROKER, "WEBHOOK_APPLY": "async"}
        sync_env = {**base, "CELERY_BROKER_URL": "", "WEBHOOK_APPLY": "sync"}
        manage(base, "migrate", "--noinput")
        secret = manage(base, "shell", stdin=SETUP).strip().splitlines()[-1]
        database = Database(name)
        first = 0

        def fresh(count: int) -> list[bytes]:
            nonlocal first
            first += count
            return event_bodies(first - count, count)

        for _rep in range(repetitions):
            with gunicorn(async_env, workers=1, app=APP) as port:
                send(port, signed_requests(secret, fresh(100)))  # warm-up (applied below)
                trivial = send(port, [raw_post("/bench/trivial", b, {}) for b in event_bodies(0, n)])[0]
                record("trivial POST (baseline)", trivial)
                record(
                    "bare INSERT (baseline)",
                    send(port, [raw_post("/bench/insert", b, {}) for b in event_bodies(0, n)])[0],
                )
                start, bodies = first, fresh(n)
                rate, statuses, _began = send(port, signed_requests(secret, bodies))
                record("accepted (async)", rate, f"statuses={statuses}")
                with CeleryWorker(async_env):
                    database.wait_until_applied()
                record("applied by one Celery worker", *database.applied_rate(start, n))
                rate, statuses, _began = send(port, signed_requests(secret, bodies))
                record("duplicates (async)", rate, f"statuses={statuses}")
                start = first
                record("accepted (async)", send(port, signed_requests(secret, fresh(n)))[0])
                command = [str(PYTHON), str(ROOT / "manage.py"), "apply_webhooks", "--once"]
                subprocess.run(command, env=async_env, check=True, stdout=subprocess.DEVNULL)
                record("applied by the in-process batch applier", *database.applied_rate(start, n))
                with CeleryWorker(async_env):
                    time.sleep(5)  # booted, and done with the kicks queued above
                    database.wait_until_applied()
                    _rate, _statuses, began = send(port, signed_requests(secret, fresh(n)))
                    database.wait_until_applied()
                record("end to end: gunicorn + Celery worker at once", n / (database.last_applied() - began))
            with gunicorn(sync_env, workers=1, app=APP) as port:
                send(port, signed_requests(secret, fresh(50)))  # warm-up
                rate, statuses, _began = send(port, signed_requests(secret, fresh(n // 2)))
                record("sync (applied in the request)", rate, f"statuses={statuses}")
            flush_redis()
        pieces = {}
        for line in manage(async_env, "shell", stdin=PIECES).splitlines():
            label, _, value = line.partition(" ")
            if label in (
                "account",
                "signature",
                "json",
                "validate",
                "store",
                "store_statements",
                "apply_statements",
            ):
                pieces[label] = float(value)
        database.connection.close()

    print(f"Webhook ingest, PostgreSQL + Redis, one gunicorn sync worker, {CLIENTS} client processes,")
    print(
        f"{n} new-checkpoint events per figure ({n // 2} for sync), {repetitions} repetitions: "
        "median (min–max)"
    )
    for name, values in figures.items():
        rates, ratios = [v for v, _ in values], [r for _, r in values]
        line = f"{name:<46} {spread(rates)} /s  ratio {statistics.median(ratios):.2f}"
        print(line + (f"  {notes[name]}" if name in notes else ""))
    per_request = 1000 / statistics.median(v for v, _ in figures["accepted (async)"])
    floor = 1000 / statistics.median(v for v, _ in figures["trivial POST (baseline)"])
    insert = 1000 / statistics.median(v for v, _ in figures["bare INSERT (baseline)"])
    print(
        f"what caps accepting: {per_request:.2f} ms a request (trivial POST {floor:.2f} ms, bare INSERT "
        f"{insert:.2f} ms); in the process: account {pieces['account']:.0f} µs, signature "
        f"{pieces['signature']:.0f} µs, JSON {pieces['json']:.0f} µs, validation "
        f"{pieces['validate']:.0f} µs, store (validation + {pieces['store_statements']:.0f} INSERT) "
        f"{pieces['store']:.0f} µs; the rest is our middleware, django-ninja and gunicorn"
    )
    print(
        f"what caps applying: {pieces['apply_statements']:.1f} SQL statements per event (claim, locks and "
        "outcomes shared by the batch; per event: lock the order, insert the checkpoint, read the "
        "shipment's state before, update shipment and order, write the notification outbox), one "
        "notification task published per changed order, and the ORM's Python around them"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 2000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 3,
    )
