"""Carrier polling on a real Celery worker: beat's task through a Redis broker to a worker process
that polls the sandbox carrier over localhost and writes to the test database (PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from orders.carriers.sandbox import SandboxCarrierServer, serve

from .conftest import make_order, ship
from .worker_kit import ROOT, require_broker, start_worker, worker_environment

BROKER = os.environ.get("TEST_CELERY_BROKER_URL") or (
    os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379").rstrip("/") + "/13"
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker process needs a shared database"),
]


@pytest.fixture
def worker_env():
    require_broker(BROKER)
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    _httpd, url = serve(SandboxCarrierServer())
    env = worker_environment(
        BROKER, UPS_API_URL=f"{url}/ups", UPS_CLIENT_ID="worker", UPS_CLIENT_SECRET="worker"
    )
    yield env
    _httpd.shutdown()


def test_a_worker_polls_what_the_beat_task_dispatches(worker_env):
    tracking = ship(make_order(), "1Z999AA10123456784", carrier="ups")
    worker = start_worker(worker_env)
    try:
        send = "from orders.carriers.tasks import dispatch_polls; dispatch_polls.delay()"
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", send],
            env=worker_env,
            cwd=ROOT,
            check=True,
            timeout=60,
        )
        deadline = time.monotonic() + 180  # a loaded CI machine boots a worker slowly
        while time.monotonic() < deadline and not tracking.checkpoints.exists():
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    tracking.refresh_from_db()
    assert tracking.checkpoints.count() >= 1
    assert tracking.last_poll_outcome == "ok"
