"""Webhook ingest on PostgreSQL and Redis: one gunicorn sync worker, one Celery worker.

Run: ``.venv/bin/python bench/webhook_throughput.py [EVENTS]`` (default 2000 per figure;
BENCH_REPS repetitions, default 3; PostgreSQL on 127.0.0.1, Redis at BENCH_REDIS_URL, which
holds the Celery queue and the cache and is flushed). Part of ``bench/run``.

Every event is a signed `tracking.updated` with one new checkpoint for one of 200 shipments (a
new scan: the full write path). Per repetition, each figure over fresh events, same server:

- baselines: a trivial POST and the same plus a bare INSERT of the body, behind Django's default
  middleware (bench/_site_wsgi.py), sent by the same client;
- accepted: WEBHOOK_APPLY=async, no Celery worker running (events pile up as pending);
- applied: that backlog drained by one Celery worker (`--pool solo`), and another by the
  in-process batch applier (`manage.py apply_webhooks`): events/s between the first and the last
  batch's commit;
- end to end: gunicorn and the Celery worker at once, from the first POST to the last applied;
- duplicates: the same events again (async);
- sync: WEBHOOK_APPLY=sync without a broker, as a small deployment runs it (status emails and
  merchant webhooks are then handled in the request too).

Ratios are against the trivial POST of the same repetition; median and spread (min–max) over the
repetitions. CPU: the gunicorn (or Celery) processes' CPU time per event, from /proc. The client
is two processes sending pre-signed requests over fresh connections (gunicorn's sync workers
close them), so the worker never waits for it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
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
from _throughput import GUNICORN_CONFIG, REDIS_URL, REPS, WSGI_APP, cpu_seconds, result_line, server_processes

PARCELS = 200
CLIENTS = 2
TARGET = 500  # new-checkpoint events/s accepted by one worker (issue 12)
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
def per(label, fn, items):  # CPU time: what the process itself spends
    started = time.process_time()
    for item in items:
        fn(item)
    print(label, (time.process_time() - started) / len(items) * 1e6)
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
    """One Celery worker process (`--pool solo`: one task at a time), and its CPU time."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def __enter__(self):
        command = [str(PYTHON), "-m", "celery", "-A", "statuspage", "worker", "--pool", "solo"]
        command += ["--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT)
        return self

    def cpu(self) -> float:
        return cpu_seconds([self.process.pid])

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=60)


class Database:
    """Reads the bench database directly (a `manage.py` per look would compete for the CPU)."""

    def __init__(self, name: str):
        self.connection = psycopg.connect(f"{PG}/{name}", autocommit=True)

    def value(self, sql: str, *params):
        return self.connection.execute(sql, params).fetchone()[0]

    def pending(self) -> int:
        return self.value("SELECT count(*) FROM orders_webhookevent WHERE outcome = 'pending'")

    def wait_until_applied(self, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                raise SystemExit("events still pending")
            time.sleep(0.2)

    def applied_rate(self, first: int, count: int) -> tuple[float, str]:
        """Events/s between the first and the last batch's commit (a batch stamps its events)."""
        ids = [f"evt-{i}" for i in range(first, first + count)]
        rows = self.connection.execute(
            "SELECT processed_at, outcome, count(*) FROM orders_webhookevent WHERE event_id = ANY(%s) "
            "GROUP BY processed_at, outcome ORDER BY processed_at",
            [ids],
        ).fetchall()
        outcomes: Counter[str] = Counter()
        for _at, outcome, number in rows:
            outcomes[outcome] += number
        seconds = (rows[-1][0] - rows[0][0]).total_seconds()
        return (count - rows[0][2]) / seconds, f"outcomes={dict(outcomes)}"

    def last_applied(self) -> float:
        return self.value("SELECT max(processed_at) FROM orders_webhookevent").timestamp()

    def latency(self, n: int = 200) -> tuple[float, float]:
        """Milliseconds for a round trip (SELECT 1) and for a committed one-row INSERT, from here."""
        timings = []
        for sql in ("SELECT 1", "INSERT INTO bench_bare_insert (body) VALUES ('latency')"):
            started = time.perf_counter()
            for _ in range(n):
                self.connection.execute(sql)
            timings.append((time.perf_counter() - started) * 1000 / n)
        return timings[0], timings[1]


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def serve(env: dict[str, str]):
    return gunicorn(env, workers=1, app=WSGI_APP, config=GUNICORN_CONFIG)


# --- the run -----------------------------------------------------------------------------------


class Figures:
    def __init__(self) -> None:
        self.rates: dict[str, list[float]] = {}
        self.ratios: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self.notes: dict[str, str] = {}
        self.trivial = 0.0
        self.round_trip: list[float] = []
        self.commit: list[float] = []

    def add(self, name: str, rate: float, *, cpu_ms: float | None = None, note: str = "") -> None:
        self.rates.setdefault(name, []).append(rate)
        self.ratios.setdefault(name, []).append(rate / self.trivial)
        if cpu_ms is not None:
            self.cpu.setdefault(name, []).append(cpu_ms)
        if note:
            self.notes[name] = note

    def cpu_ms(self, name: str) -> float:
        return statistics.median(self.cpu[name])


def timed_send(port: int, requests: list[bytes]) -> tuple[float, dict[int, int], float, float]:
    """send(), plus the gunicorn processes' CPU milliseconds per request."""
    pids = server_processes(port)
    before = cpu_seconds(pids)
    rate, statuses, began = send(port, requests)
    return rate, statuses, began, (cpu_seconds(pids) - before) * 1000 / len(requests)


def main(n: int) -> None:
    flush_redis()
    figures = Figures()
    with fresh_database("statuspage_bench_webhooks") as name:
        base = environment(name, CACHE_URL=REDIS_URL)
        async_env = {**base, "CELERY_BROKER_URL": REDIS_URL, "WEBHOOK_APPLY": "async"}
        sync_env = {**base, "CELERY_BROKER_URL": "", "WEBHOOK_APPLY": "sync"}
        manage(base, "migrate", "--noinput")
        secret = manage(base, "shell", stdin=SETUP).strip().splitlines()[-1]
        database = Database(name)
        first = 0

        def fresh(count: int) -> list[bytes]:
            nonlocal first
            first += count
            return event_bodies(first - count, count)

        for _rep in range(REPS):
            round_trip, commit = database.latency()
            figures.round_trip.append(round_trip)
            figures.commit.append(commit)
            with serve(async_env) as port:
                send(port, signed_requests(secret, fresh(100)))  # warm-up (applied below)
                posts = [raw_post("/bench/post", body, {}) for body in event_bodies(0, n)]
                figures.trivial, _statuses, _began, cpu = timed_send(port, posts)
                figures.add("trivial POST (baseline)", figures.trivial, cpu_ms=cpu)
                inserts = [raw_post("/bench/insert", body, {}) for body in event_bodies(0, n)]
                rate, _statuses, _began, cpu = timed_send(port, inserts)
                figures.add("bare INSERT (baseline)", rate, cpu_ms=cpu)

                start, bodies = first, fresh(n)
                rate, statuses, _began, cpu = timed_send(port, signed_requests(secret, bodies))
                figures.add("accepted (async)", rate, cpu_ms=cpu, note=f"statuses={statuses}")
                with CeleryWorker(async_env) as worker:
                    database.wait_until_applied()
                    worker_cpu = worker.cpu()
                rate, outcomes = database.applied_rate(start, n)
                figures.add(
                    "applied by one Celery worker", rate, cpu_ms=worker_cpu * 1000 / (n + 100), note=outcomes
                )
                rate, statuses, _began, cpu = timed_send(port, signed_requests(secret, bodies))
                figures.add("duplicates (async)", rate, cpu_ms=cpu, note=f"statuses={statuses}")

                start = first
                rate, _statuses, _began, cpu = timed_send(port, signed_requests(secret, fresh(n)))
                figures.add("accepted (async)", rate, cpu_ms=cpu)
                command = [str(PYTHON), str(ROOT / "manage.py"), "apply_webhooks", "--once"]
                subprocess.run(command, env=async_env, check=True, stdout=subprocess.DEVNULL)
                rate, outcomes = database.applied_rate(start, n)
                figures.add("applied by the in-process batch applier", rate, note=outcomes)

                with CeleryWorker(async_env):
                    time.sleep(5)  # booted, and done with the wake-ups queued above
                    database.wait_until_applied()
                    _rate, _statuses, began = send(port, signed_requests(secret, fresh(n)))
                    database.wait_until_applied()
                figures.add(
                    "end to end: gunicorn + Celery worker at once", n / (database.last_applied() - began)
                )
            with serve(sync_env) as port:
                send(port, signed_requests(secret, fresh(50)))  # warm-up
                rate, statuses, _began, cpu = timed_send(port, signed_requests(secret, fresh(n // 2)))
                figures.add("sync (applied in the request)", rate, cpu_ms=cpu, note=f"statuses={statuses}")
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
    report(figures, pieces, n)


def report(figures: Figures, pieces: dict[str, float], n: int) -> None:
    print(f"one gunicorn sync worker, {CLIENTS} client processes, PostgreSQL + Redis; {n} new-checkpoint")
    print(f"events per figure ({n // 2} for sync), {REPS} repetitions; ratio: to the trivial POST")
    for name, rates in figures.rates.items():
        rate = statistics.median(rates)
        note = f"{min(rates):.0f}–{max(rates):.0f}/s"
        if name in figures.cpu:
            note += f", CPU {figures.cpu_ms(name):.2f} ms/event"
        if name == "accepted (async)":
            note += f", target ≥ {TARGET}/s {'ok' if rate >= TARGET else 'MISS'}"
        if name in figures.notes:
            note += f", {figures.notes[name]}"
        print(result_line(name, figures.ratios[name], rate=rate, unit="events/s", note=note))
    accept = 1000 / statistics.median(figures.rates["accepted (async)"])
    post = 1000 / statistics.median(figures.rates["trivial POST (baseline)"])
    insert = 1000 / statistics.median(figures.rates["bare INSERT (baseline)"])
    process = ", ".join(
        [
            f"account {pieces['account']:.0f} µs",
            f"signature {pieces['signature']:.0f} µs",
            f"JSON {pieces['json']:.0f} µs",
            f"validation {pieces['validate']:.0f} µs",
            f"store (validation + {pieces['store_statements']:.0f} statement) {pieces['store']:.0f} µs",
        ]
    )  # CPU time in one process, the same pieces as a request's
    print(
        f"PostgreSQL, from the benchmark, same run: a round trip "
        f"{statistics.median(figures.round_trip):.2f} ms, "
        f"a committed one-row INSERT {statistics.median(figures.commit):.2f} ms "
        f"({min(figures.commit):.2f}–{max(figures.commit):.2f}; the WAL flush a durable answer waits for)"
    )
    to_insert = statistics.median(
        a / b
        for a, b in zip(
            figures.rates["accepted (async)"][::2], figures.rates["bare INSERT (baseline)"], strict=True
        )
    )
    cpu = {
        name: figures.cpu_ms(name)
        for name in ("accepted (async)", "trivial POST (baseline)", "bare INSERT (baseline)")
    }
    print(
        f"what caps accepting: {accept:.2f} ms a request, {to_insert:.2f} of the bare INSERT's rate "
        f"(trivial POST {post:.2f} ms, bare INSERT {insert:.2f} ms); gunicorn's CPU "
        f"{cpu['accepted (async)']:.2f} ms/request (trivial POST {cpu['trivial POST (baseline)']:.2f}, "
        f"bare INSERT {cpu['bare INSERT (baseline)']:.2f}); CPU in the process: {process}; the rest is our "
        "middleware, django-ninja and waiting for PostgreSQL"
    )
    print(
        f"what caps applying: {pieces['apply_statements']:.1f} SQL statements per event (claim, locks and "
        "outcomes shared by the batch; per event: insert the checkpoint, update shipment and order, "
        "write the notification outbox), a "
        "notification task published per changed order, and the ORM's Python around them "
        f"(Celery worker CPU {figures.cpu_ms('applied by one Celery worker'):.2f} ms/event)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
