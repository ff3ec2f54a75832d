"""Settings come from the environment; production refuses to start without a secret."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "db": db["ENGINE"], "name": str(db["NAME"]), "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS, "fallbacks": settings.SECRET_KEY_FALLBACKS,
    "webhook_apply": settings.WEBHOOK_APPLY, "db_options": db.get("OPTIONS", {}),
}))
"""


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DATABASE_URL", "SECRET_KEY", "DEBUG", "CACHE", "CELERY_BROKER_URL", "WEBHOOK_APPLY")
        )
    }
    clean.pop("REDIS_URL", None)
    clean.update(env, DJANGO_SETTINGS_MODULE="statuspage.settings")
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secret_key_fails_loudly():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_runs_without_secret_and_defaults_to_sqlite_and_local_memory():
    result = load_settings(DEBUG="1")
    values = json.loads(result.stdout)
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["name"].endswith("db.sqlite3")
    assert values["cache"].endswith("LocMemCache")
    assert values["debug"] is True


def test_environment_selects_postgres_redis_hosts_and_key_fallbacks():
    result = load_settings(
        SECRET_KEY="k" * 60,
        DATABASE_URL="postgres://u:p@db.internal:5432/shop",
        REDIS_URL="redis://cache.internal:6379/1",
        ALLOWED_HOSTS="status.example.com, www.example.com",
        SECRET_KEY_FALLBACKS="old1,old2",
    )
    values = json.loads(result.stdout)
    assert values["db"] == "django.db.backends.postgresql"
    assert values["cache"].endswith(".RedisCache")
    assert values["hosts"] == ["status.example.com", "www.example.com"]
    assert values["fallbacks"] == ["old1", "old2"]


@pytest.mark.parametrize(("env", "threshold"), [({}, 0), ({"DATABASE_PREPARED_STATEMENTS": "0"}, None)])
def test_postgresql_prepares_the_hot_statements_unless_a_pooler_cannot_keep_them(env, threshold):
    """psycopg prepares what orders.prepared's cursors run (Django's own cursors never prepare);
    behind PgBouncer in transaction mode before 1.21 the setting turns that off."""
    result = load_settings(SECRET_KEY="k" * 60, DATABASE_URL="postgres://u:p@db.internal:5432/shop", **env)
    assert json.loads(result.stdout)["db_options"].get("prepare_threshold") == threshold


@pytest.mark.parametrize(
    ("name", "value"),
    [("CACHE_URL", "memcached://x"), ("DATABASE_CONN_MAX_AGE", "soon"), ("WEBHOOK_APPLY", "later")],
)
def test_nonsense_configuration_is_a_clear_startup_error(name, value):
    result = load_settings(SECRET_KEY="k" * 60, **{name: value})
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({}, "sync"),
        ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/1"}, "async"),
        ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/1", "WEBHOOK_APPLY": "sync"}, "sync"),
        ({"WEBHOOK_APPLY": "async"}, "async"),
    ],
)
def test_webhooks_are_applied_in_batches_by_default_only_with_a_broker(env, mode):
    result = load_settings(DEBUG="1", **env)
    assert json.loads(result.stdout)["webhook_apply"] == mode


def test_without_a_broker_tasks_run_inline_without_log_noise(tmp_path):
    """The demo's first screen is its table of orders, not a log line per eager task or kombu's
    warning about a broker host nobody configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "CACHE"))}
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    env["DJANGO_SETTINGS_MODULE"] = "statuspage.settings"
    manage = [sys.executable, str(ROOT / "manage.py")]
    migrated = subprocess.run([*manage, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr

    seeded = subprocess.run([*manage, "seed_demo"], env=env, capture_output=True, text=True, timeout=120)

    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("Created 20 demo orders")
    assert "No hostname was supplied" not in seeded.stderr
    assert "succeeded in" not in seeded.stderr  # celery.app.trace, once per task
