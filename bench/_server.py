"""Helpers shared by the benchmarks: a fresh PostgreSQL database, the production settings, a
gunicorn on a free port on 127.0.0.1 (load generation: bench/_throughput.py). Traffic never
leaves the loopback interface."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(database: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG}/{database}",
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",  # noqa: S106
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
        **extra,
    )
    return env


@contextmanager
def fresh_database(name: str):
    """A new PostgreSQL database named `name` plus this process's id (two runs of a benchmark at
    once each get their own), dropped afterwards."""
    name = f"{name}_{os.getpid()}"
    quiet = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True, env=quiet
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True, env=quiet)
    try:
        yield name
    finally:
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name],
            check=False,
            env=quiet,
        )


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "manage.py"), *args], env=env, input=stdin, capture_output=True, text=True
    )
    if result.returncode:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return result.stdout


@contextmanager
def gunicorn(
    env: dict[str, str],
    workers: int,
    app: str = "statuspage.wsgi:application",
    config: str = "gunicorn.conf.py",
):
    """gunicorn serving `app` (bench/_site_wsgi.py adds the honest baseline to the site) with
    `config` (production's by default; bench/_gunicorn.conf.py: the same without access log)."""
    port = free_port()
    process = subprocess.Popen(
        [str(GUNICORN), "--config", config, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", app],
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
