"""A real Celery worker process for the tests that need one: it shares the test database
(PostgreSQL) and takes its tasks from a Redis broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def broker_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def require_broker(url: str) -> None:
    """Skip the test without Redis at `url`; in CI (which has Redis), fail it instead."""
    if not broker_up(url):
        if os.environ.get("CI"):
            pytest.fail("CI needs Redis for the Celery worker test")
        pytest.skip("needs Redis for the Celery broker")


def worker_environment(broker: str, **extra: str) -> dict[str, str]:
    """This process's environment for a worker (or `manage.py`) on the test database and `broker`."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": "celery-worker-test-secret-key-0123456789abcdefghij",
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "statuspage", "worker", "--pool", "solo"]
    return subprocess.Popen([*command, "--loglevel", "WARNING"], env=env, cwd=ROOT)
