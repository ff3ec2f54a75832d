"""Cache-hit throughput of the PNG widget against a trivial Django view, under gunicorn.

Run: ``.venv/bin/python bench/widget_throughput.py`` (or ``bench/run`` for every benchmark)

Both URLs are served by the same production server in the same run: gunicorn, 2 sync workers,
DEBUG=0, the production settings and middleware (bench/_widget_site.py only adds the
trivial view's URL). A fresh SQLite database gets a demo order; its widget URL is warmed, then
`wrk` (or, if missing, a Python load generator) alternates between the trivial view and the
widget URL with the same duration and connections; each ratio is the median over those rounds,
which shrugs off other load on the machine. The target: widget ≥ 80 % of trivial.

A second baseline, `/bench/cache-read`, is the trivial view plus one read from the cache: what
a hit would cost if every request re-checked the order's published state version
(CACHE_RECHECK_SECONDS=0). With the default one-second recheck window most hits skip that read.

Caches measured: Redis (as in production with several workers; CACHE_URL, default db 14,
flushed first) and local memory (each worker warms its own copy).

Environment: BENCH_SECONDS (per measurement, default 3), BENCH_ROUNDS (default 5),
BENCH_CONNECTIONS (default 8), BENCH_REDIS_URL (default redis://127.0.0.1:6379/14).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server
from _server import free_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
WORKERS = 2
TARGET = 0.80
TRIVIAL_PATH = "/bench/trivial"
BASELINES = {"trivial": TRIVIAL_PATH, "cache-read": "/bench/cache-read"}

SETUP = """
import django
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from orders import lifecycle
from orders.models import Account, Order

call_command("migrate", verbosity=0)
account = Account.objects.create(name="Acme Outfitters", slug="acme", brand_color="#1f6feb")
order = Order.objects.create(account=account, order_number="1001", language="en")
now = timezone.now()
for number, status in (("1Z999AA10123456784", "in_transit"), ("9400111899223197428490", "delivered")):
    tracking = lifecycle.attach_tracking(order=order, tracking_number=number)
    lifecycle.record_checkpoint(tracking=tracking, occurred_at=now - timedelta(days=1),
                                status="info_received", message="Label created", location="Austin, TX")
    lifecycle.record_checkpoint(tracking=tracking, occurred_at=now - timedelta(hours=3), status=status,
                                message="Arrived at facility", location="Memphis, TN", country="US")
order.refresh_from_db()
print(order.status_url(kind="widget", absolute=False))
"""


def redis_available() -> bool:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
        client.flushdb()  # the benchmark's own database number only
        return True
    except Exception:
        return False


def server_env(database: Path, cache_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench._widget_site",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{database}",
        "CACHE_URL": cache_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore:No directory at:UserWarning",  # no collectstatic needed here
    }


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Server:
    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [GUNICORN, "statuspage.wsgi:application", "--chdir", str(ROOT)]
        command += ["--workers", str(WORKERS), "--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--log-level", "warning", "--backlog", "2048"]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if fetch(self.base + TRIVIAL_PATH)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wrk(url: str) -> float:
    return _server.wrk(url, seconds=SECONDS, connections=CONNECTIONS)


def python_load(url: str) -> float:
    return _server.python_load(url, seconds=SECONDS, connections=CONNECTIONS)


def measure(server: Server, widget_path: str, load) -> dict[str, float]:
    """Mean req/s per URL, and the medians of the widget's paired ratios to each baseline."""
    urls = {name: server.base + path for name, path in BASELINES.items()}
    urls["widget"] = server.base + widget_path
    status, body = fetch(urls["widget"])
    if status != 200 or not body.startswith(b"\x89PNG"):
        raise RuntimeError(f"widget answered {status}")
    for _ in range(20 * WORKERS):  # every worker warms its own copy with the local-memory cache
        for url in urls.values():
            fetch(url)
    rates: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(ROUNDS):  # alternate, so drift in machine load hits all alike
        for name, url in urls.items():
            rates[name].append(load(url))
    figures = {name: statistics.mean(values) for name, values in rates.items()}
    for name in BASELINES:
        pairs = zip(rates["widget"], rates[name], strict=True)
        figures[f"widget/{name}"] = statistics.median(w / b for w, b in pairs)
    return figures


def main() -> None:
    load = wrk if shutil.which("wrk") else python_load
    if load is python_load:
        print("wrk not found (apt-get install wrk): using the Python load generator, which may cap both")
    caches = [("redis", REDIS_URL)] if redis_available() else []
    if not caches:
        print(f"no Redis at {REDIS_URL}: measuring the local-memory cache only")
    caches.append(("locmem", "locmem://"))
    with tempfile.TemporaryDirectory(prefix="widget-bench-") as tmp:
        database = Path(tmp) / "bench.sqlite3"
        setup = subprocess.run(
            [PYTHON, "-c", SETUP],
            env=server_env(database, caches[0][1]),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        widget_path = setup.stdout.strip().splitlines()[-1]
        print(
            f"gunicorn {WORKERS} sync workers, {load.__name__}, {CONNECTIONS} connections, "
            f"{ROUNDS}x{SECONDS}s per URL, SQLite"
        )
        print(
            f"{'cache':<8}{'trivial':>10}{'cache-read':>12}{'widget':>10}"
            f"{'widget/trivial':>16}{'widget/cache-read':>19}   req/s; target widget/trivial {TARGET:.2f}"
        )
        for name, url in caches:
            server = Server(server_env(database, url))
            try:
                f = measure(server, widget_path, load)
            finally:
                server.stop()
            verdict = "ok" if f["widget/trivial"] >= TARGET else "MISS"
            print(
                f"{name:<8}{f['trivial']:>10.0f}{f['cache-read']:>12.0f}{f['widget']:>10.0f}"
                f"{f['widget/trivial']:>16.2f}{f['widget/cache-read']:>19.2f}   {verdict}"
            )


if __name__ == "__main__":
    main()
