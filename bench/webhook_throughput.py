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
import io
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
PATH = "/webhooks/tracking/"
SPLIT_EVENTS = 100  # per layer and round of the in-process split
ROUNDS = 15  # of the split, each layer in turn (so the machine's load falls on all alike); medians


# --- where one accepted event's CPU goes (in a process of its own) ---------------------------------


def split(n: int) -> None:
    """CPU time per event of each layer of accepting it, in this process, which loads what the
    gunicorn worker loads (the site and the baseline handler, the server's settings; no HTTP
    server): whole requests through each handler, then the webhook view alone, the service
    below it, and so down to the INSERT. Each layer over `n` fresh events, ROUNDS times in turn
    (so each meets the caches as a request does); printed as `label µs` medians."""
    import itertools

    import _site_wsgi
    from django.core.handlers.wsgi import WSGIRequest
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import resolve

    from orders import prepared, webhooks
    from orders.models import Account, WebhookEvent
    from orders.webhooks import batches, storage

    account = Account.objects.get(slug="bench")
    secret = account.webhook_secret
    view = resolve(PATH).func
    batches_of_ids = itertools.count(10**5)  # event ids the HTTP figures do not use

    def bodies() -> list[bytes]:
        return event_bodies(next(batches_of_ids) * n, n)

    def environ(path: str, body: bytes, signed: bool) -> dict:
        headers = {"HTTP_STATUSPAGE_SIGNATURE": webhooks.sign(secret, body)} if signed else {}
        return {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, **headers,
        }  # fmt: skip

    def serve(env: dict) -> None:
        response = _site_wsgi.application(env, lambda *args: None)
        b"".join(response)
        response.close()  # request_finished, as the server does

    def stored(body: bytes) -> WebhookEvent:
        payload = json.loads(body)
        return WebhookEvent(
            account=account, source="tracking", event_id=payload["id"], event_type=payload["type"],
            payload=payload, order_ref="", occurred_at=None, outcome="pending",
        )  # fmt: skip

    def socket_check() -> None:  # the accepting path's health check, once per request
        connection.health_check_done = False
        prepared._close_if_dropped(connection)

    layers = {  # label: (what one event is prepared as, outside the timing; what is timed)
        "trivial_post": (lambda b: environ("/bench/post", b, False), serve),
        "bare_insert": (lambda b: environ("/bench/insert", b, False), serve),
        "request": (lambda b: environ(PATH, b, True), serve),
        "view": (lambda b: WSGIRequest(environ(PATH, b, True)), lambda r: view(r, "tracking")),
        "receive": (
            lambda b: (b, sign(secret, b)),
            lambda a: webhooks.receive(account_ref=None, source="tracking", body=a[0], signature=a[1]),
        ),
        "process": (json.loads, lambda p: webhooks.process(account=account, source="tracking", payload=p)),
        "insert": (stored, lambda e: storage.insert(e, signed_with=secret)),
        "health_check": (lambda b: None, lambda _: connection.is_usable()),
        "socket_check": (lambda b: None, lambda _: socket_check()),
    }
    timings: dict[str, list[float]] = {label: [] for label in layers}
    for prepare, run in layers.values():  # warm-up
        for item in [prepare(b) for b in bodies()[:50]]:
            run(item)
    for _round in range(ROUNDS):
        for label, (prepare, run) in layers.items():
            items = [prepare(b) for b in bodies()]
            started = time.process_time()
            for item in items:
                run(item)
            timings[label].append((time.process_time() - started) / n * 1e6)
    for label, values in timings.items():
        print(label, statistics.median(values))
    with CaptureQueriesContext(connection) as batch:
        batches.apply_pending(limit=100)
    print("apply_statements", len(batch.captured_queries) / 100)


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
    return [raw_post(PATH, body, {"Statuspage-Signature": sign(secret, body)}) for body in bodies]


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
        command = [str(PYTHON), str(Path(__file__).resolve()), "--split", str(SPLIT_EVENTS)]
        output = subprocess.run(command, env=async_env, check=True, capture_output=True, text=True).stdout
        pieces = {label: float(value) for label, value in (line.split() for line in output.splitlines())}
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
    print(
        f"PostgreSQL, from the benchmark, same run: a round trip "
        f"{statistics.median(figures.round_trip):.2f} ms, "
        f"a committed one-row INSERT {statistics.median(figures.commit):.2f} ms "
        f"({min(figures.commit):.2f}–{max(figures.commit):.2f}; the WAL flush a durable answer waits for)"
    )
    for line in what_caps_accepting(figures, pieces):
        print(line)
    print(
        f"what caps applying: {pieces['apply_statements']:.1f} SQL statements per event (claim, locks and "
        "outcomes shared by the batch; per event: insert the checkpoint, update shipment and order, "
        "write the notification outbox), a "
        "notification task published per changed order, and the ORM's Python around them "
        f"(Celery worker CPU {figures.cpu_ms('applied by one Celery worker'):.2f} ms/event)"
    )


def what_caps_accepting(figures: Figures, pieces: dict[str, float]) -> list[str]:
    """One worker handles one event at a time: its CPU per event (from /proc), then the wait for
    PostgreSQL. The CPU split by layer comes from the in-process run (`split`), which needs no
    HTTP server; gunicorn's own share is the trivial POST's worker CPU less its in-process CPU."""

    def ms(micros: float) -> str:
        return f"{micros / 1000:.2f}"

    each = {name: 1000 / statistics.median(figures.rates[name]) for name in figures.rates}  # ms
    cpu = {name: figures.cpu_ms(name) for name in figures.cpu}
    to_insert = statistics.median(
        a / b
        for a, b in zip(
            figures.rates["accepted (async)"][::2], figures.rates["bare INSERT (baseline)"], strict=True
        )
    )
    p = pieces
    check = p["health_check"]
    server = cpu["trivial POST (baseline)"] * 1000 - p["trivial_post"]
    return [
        f"what caps accepting: one sync worker takes one event at a time, {each['accepted (async)']:.2f} "
        f"ms each ({to_insert:.2f} of the bare INSERT's rate, {each['bare INSERT (baseline)']:.2f} ms): "
        "the worker's CPU, then the wait for PostgreSQL (the commit above; its CPU runs on the other core)",
        f"  worker CPU per event (gunicorn, /proc): accepted {cpu['accepted (async)']:.2f} ms, "
        f"bare INSERT {cpu['bare INSERT (baseline)']:.2f} ms, trivial POST "
        f"{cpu['trivial POST (baseline)']:.2f} ms, of which gunicorn's own HTTP work ≈ {ms(server)} "
        "(the trivial POST's worker CPU less its in-process CPU)",
        f"  in process, accepted {ms(p['request'])} ms = Django's handler, the fast lane's middleware and "
        f"the connection health check (its socket, {ms(p['socket_check'])}) {ms(p['request'] - p['view'])} "
        "+ the view "
        f"{ms(p['view'])}: its own {ms(p['view'] - p['receive'])}, account, signature and JSON "
        f"{ms(p['receive'] - p['process'])}, validation and the wake-up {ms(p['process'] - p['insert'])}, "
        f"the INSERT {ms(p['insert'])}",
        f"  in process, bare INSERT {ms(p['bare_insert'])} ms = Django's handler and default middleware "
        f"{ms(p['trivial_post'])} + Django's health check (SELECT 1) {ms(check)} + the INSERT "
        f"{ms(p['bare_insert'] - p['trivial_post'] - check)}",
        f"  (in-process: CPU per event, median of {ROUNDS} rounds of {SPLIT_EVENTS} events per layer, in a "
        "process loading what the worker loads)",
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--split"]:
        split(int(sys.argv[2]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
