"""Small factories shared by every test module. Build data through the lifecycle services where
the test is about behaviour, so fixtures obey the same rules production data does."""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.cache import cache, caches
from django.test import override_settings
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from orders import lifecycle, ratelimits
from orders.cache import accounts as known_accounts
from orders.carriers import base as carrier_base
from orders.carriers import registry
from orders.carriers.sandbox import SandboxCarrierServer
from orders.models import Account, Checkpoint, LineItem, Order, Tracking
from orders.webhooks import signatures as webhook_signatures

_numbers = itertools.count(1001)

# Property and contract tests: a bounded number of examples per run keeps the suite quick (each
# run draws new ones); HYPOTHESIS_PROFILE=thorough explores far more, e.g. in a nightly job.
hypothesis_settings.register_profile("default", max_examples=15, deadline=None)
hypothesis_settings.register_profile("thorough", max_examples=200, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters, cached images and the process's accounts must not leak between tests."""
    cache.clear()
    ratelimits.counters().clear()
    known_accounts.forget()
    webhook_signatures.forget_accounts()
    yield
    cache.clear()
    ratelimits.counters().clear()


def make_account(**fields) -> Account:
    defaults = {
        "name": "Acme Outfitters",
        "slug": "acme",
        "brand_color": "#1f6feb",
        "support_email": "help@acme.test",
    }
    defaults.update(fields)
    return Account.objects.create(**defaults)


def make_order(account: Account | None = None, **fields) -> Order:
    account = account or Account.objects.first() or make_account()
    defaults = {
        "order_number": str(next(_numbers)),
        "recipient_name": "Jane Shopper",
        "recipient_email": "Jane.Shopper@example.com",
        "recipient_phone": "+1 512 555 0100",
        "street1": "123 Main St",
        "city": "Austin",
        "state": "TX",
        "postal_code": "78701",
        "country": "US",
        "language": "en",
    }
    defaults.update(fields)
    order = Order.objects.create(account=account, **defaults)
    LineItem.objects.create(
        order=order, name="Trail Runner Shoe", sku="TR-42", quantity=1, unit_price="89.90"
    )
    return order


def ship(order: Order, number: str = "1Z999AA10123456784", carrier: str | None = None, **kwargs) -> Tracking:
    return lifecycle.attach_tracking(order=order, tracking_number=number, carrier=carrier, **kwargs)


def scan(tracking: Tracking, status: str, when: datetime | None = None, **fields) -> Checkpoint:
    when = when or timezone.now()
    checkpoint, _ = lifecycle.record_checkpoint(
        tracking=tracking,
        occurred_at=when,
        status=status,
        message=fields.pop("message", status.replace("_", " ").capitalize()),
        location=fields.pop("location", "Austin, TX"),
        country=fields.pop("country", "US"),
        **fields,
    )
    tracking.refresh_from_db()
    return checkpoint


def days_ago(n: float) -> datetime:
    return timezone.now() - timedelta(days=n)


@pytest.fixture
def account(db) -> Account:
    return make_account()


@pytest.fixture
def order(account) -> Order:
    return make_order(account)


# Tests flush their Redis database, so each pytest-xdist worker gets one of its own (gw0 → 15,
# gw1 → 14, gw2 → 12, …; 13 and 0 are the Celery worker tests' brokers). Beyond 14 workers they repeat.
# TEST_REDIS_SERVER points a whole run at another server (two checkouts testing at once).
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379").rstrip("/")
REDIS_TEST_DBS = (15, 14, *range(12, 0, -1))


def _worker_redis_db() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return REDIS_TEST_DBS[index % len(REDIS_TEST_DBS)]


REDIS_URL = os.environ.get("TEST_REDIS_URL") or f"{REDIS_SERVER}/{_worker_redis_db()}"


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_cache():
    """The production cache backend on the real Redis server, under a key prefix of its own.

    Skipped on a machine without Redis, except in CI, where a missing Redis is a failure.
    """
    if not os.environ.get("CI") and not _redis_available():
        pytest.skip(f"no Redis server at {REDIS_URL}")
    config = {
        "default": {
            "BACKEND": "statuspage.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    with override_settings(CACHES=config):  # Django rebuilds its cache handlers on this change
        yield caches["default"]
        caches["default"].clear()


# --- carriers: the sandbox behind every adapter ---------------------------------------------------

STEP = timedelta(hours=3)  # the sandbox carrier scans a parcel this often in tests


class Clock:
    def __init__(self):
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(settings, clock):
    """The sandbox carrier behind every adapter, in process, with credentials for each API."""
    server = SandboxCarrierServer(clock=clock, step=STEP)
    for api in registry.APIS:
        setattr(settings, f"{api.upper()}_API_URL", f"http://carriers.test/{api}")
    settings.UPS_CLIENT_ID = settings.FEDEX_CLIENT_ID = settings.USPS_CLIENT_ID = "demo-client"
    settings.UPS_CLIENT_SECRET = settings.FEDEX_CLIENT_SECRET = settings.USPS_CLIENT_SECRET = "demo-secret"
    settings.DHL_API_KEY = settings.AFTERSHIP_API_KEY = "demo-key"
    settings.CARRIER_CALLS_PER_MINUTE = "ups=100,fedex=100,usps=100,dhl=100,aftership=100"
    registry.transport = httpx.WSGITransport(app=server)
    carrier_base.forget_tokens()
    cache.clear()
    yield server
    registry.transport = None
    carrier_base.forget_tokens()


@pytest.fixture
def redis_counters():
    """Rate-limit counters on the real Redis server, under a key prefix of their own."""
    if not os.environ.get("CI") and not _redis_available():
        pytest.skip(f"no Redis server at {REDIS_URL}")
    with override_settings(RATELIMIT_REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}:"):
        yield ratelimits.counters()
        ratelimits.counters().clear()
