"""The fault suite's own world: a PostgreSQL cluster (initdb into a temporary folder, on a free
port) and a Redis server of its own, and the app under gunicorn on top of them, so the suite can
stop, freeze and restart them without touching the shared servers on 5432/6379.

Skipped where initdb or redis-server are missing (a failure in CI, which has both), and in the
PostgreSQL pass (DATABASE_URL set): it brings its own PostgreSQL, so once per CI run is enough.
Run it alone with `.venv/bin/pytest tests/faults`.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name))
REDIS_SERVER = shutil.which("redis-server")
# The bounds under test, short so the suite stays short (production defaults: README.md).
CACHE_STATE_SECONDS = 3
CACHE_RECHECK_SECONDS = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class Stack:
    folder: Path
    pg_bin: Path
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    app_port: int = field(default_factory=free_port)
    redis: subprocess.Popen | None = None
    app: subprocess.Popen | None = None
    data: dict = field(default_factory=dict)

    # --- PostgreSQL ---------------------------------------------------------------------------

    @property
    def pg_data(self) -> Path:
        return self.folder / "pg"

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.pg_port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-l", str(self.folder / "pg.log")]
        subprocess.run(
            _as_postgres([*command, "-o", options, "-w", "-t", "60", *args]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start_postgres(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(self.pg_bin / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "-A", "trust"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.pg_ctl("start")
        self.sql("CREATE DATABASE app", database="postgres", autocommit=True)

    def sql(self, query: str, params: tuple = (), *, database: str = "app", autocommit: bool = False) -> list:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.pg_port, user="postgres", dbname=database, autocommit=autocommit
        ) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    # --- Redis --------------------------------------------------------------------------------

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait_for(lambda: self.redis_client().ping(), "Redis")

    def stop_redis(self) -> None:
        self.redis.terminate()
        self.redis.wait(timeout=10)

    def freeze_redis(self) -> None:
        os.kill(self.redis.pid, signal.SIGSTOP)

    def thaw_redis(self) -> None:
        os.kill(self.redis.pid, signal.SIGCONT)

    def redis_client(self):
        import redis

        return redis.Redis(port=self.redis_port, socket_timeout=2)

    # --- the app ------------------------------------------------------------------------------

    @property
    def env(self) -> dict:
        redis = f"redis://127.0.0.1:{self.redis_port}"
        ours = ("DATABASE_", "CACHE_", "REDIS_", "RATELIMIT_")
        keep = {name: value for name, value in os.environ.items() if not name.startswith(ours)}
        return {
            **keep,
            "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
            "SECRET_KEY": "faults-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{self.app_port}",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/app",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "CACHE_URL": f"{redis}/0",
            "RATELIMIT_REDIS_URL": f"{redis}/1",
            "CACHE_STATE_SECONDS": str(CACHE_STATE_SECONDS),
            "CACHE_RECHECK_SECONDS": str(CACHE_RECHECK_SECONDS),
            "CACHE_OUTAGE_SECONDS": "1",
            "LOOKUP_FAILURE_RATE": "100000/m",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }

    def start_app(self) -> None:
        seed = [sys.executable, "-m", "tests.faults.seed"]  # migrates, then seeds: one Django start-up
        seeded = subprocess.run(seed, cwd=ROOT, env=self.env, check=True, capture_output=True)
        self.data = json.loads(seeded.stdout.decode().strip().splitlines()[-1])
        self.app = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "statuspage.wsgi", "--workers", "2", "--threads", "4",
             "--bind", f"127.0.0.1:{self.app_port}", "--timeout", "30", "--graceful-timeout", "2"],
            cwd=ROOT, env=self.env, stdout=self.app_log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        import httpx

        self.wait_for(lambda: httpx.get(self.url("/healthz")).status_code == 200, "gunicorn")

    @property
    def app_log(self) -> Path:
        return self.folder / "app.log"

    def log_tail(self, size: int = 3000) -> str:
        return self.app_log.read_text(errors="replace")[-size:]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.app_port}{path}"

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.app.pid}/task/{self.app.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    @staticmethod
    def wait_for(ready, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{what} did not come up within {seconds} s")

    def shut_down(self) -> None:
        for process in (self.app, self.redis):
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGCONT)
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
        if (self.pg_data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.pg_ctl("stop", "-m", "immediate")


@pytest.fixture(scope="session")
def stack():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("the fault suite brings its own PostgreSQL: it runs in the pass without DATABASE_URL")
    if not PG_BINS or not REDIS_SERVER:
        missing = "initdb/pg_ctl (/usr/lib/postgresql/*/bin)" if not PG_BINS else "redis-server"
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {missing} for the fault suite")
        pytest.skip(f"{missing} not installed")
    folder = Path(tempfile.mkdtemp(prefix="statuspage-faults-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    world = Stack(folder=folder, pg_bin=Path(PG_BINS[-1]))
    try:
        world.start_postgres()
        world.start_redis()
        world.start_app()
        yield world
    finally:
        world.shut_down()
        shutil.rmtree(folder, ignore_errors=True)
