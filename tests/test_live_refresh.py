"""live_refresh=true on the page, the info API and the widget: bounded, rare, never a failure."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from django.db import connection

from orders.carriers import polling, registry
from orders.models import CarrierCredential, Tracking

from .conftest import STEP, make_order, ship


@pytest.fixture
def parcel(db, sandbox, clock):
    order = make_order(order_number="LR-1")
    tracking = ship(order, "1Z999AA10123456784", carrier="ups")
    sandbox.start(tracking.tracking_number, clock.now - STEP * 3 - timedelta(minutes=1))
    return order, tracking


def get(client, order, kind: str, **extra):
    """GET a signed URL of the order with extra query parameters."""
    return client.get(order.status_url(kind=kind, absolute=False) + "&" + urlencode(extra))


def page(client, order, **extra):
    return get(client, order, "page", **extra)


def test_live_refresh_fetches_the_carriers_news_before_answering(client, parcel):
    order, tracking = parcel
    assert "Arrived at Facility" not in page(client, order).content.decode()

    response = page(client, order, live_refresh="true")

    assert response.status_code == 200
    assert "Arrived at Facility" in response.content.decode()
    assert tracking.checkpoints.count() == 4


def test_live_refresh_asks_the_carrier_at_most_once_per_five_minutes(client, sandbox, parcel):
    order, _ = parcel
    page(client, order, live_refresh="true")
    calls = len(sandbox.calls_to("ups"))
    page(client, order, live_refresh="true")
    get(client, order, "info", live_refresh="true")
    assert len(sandbox.calls_to("ups")) == calls


def test_the_info_api_and_widget_refresh_too(client, sandbox, parcel):
    order, tracking = parcel
    response = get(client, order, "info", live_refresh="1")
    assert response.status_code == 200
    assert tracking.checkpoints.count() == 4

    Tracking.objects.filter(pk=tracking.pk).update(last_polled_at=None)
    from django.core.cache import cache

    cache.delete(f"live-refresh:{tracking.pk}")
    sandbox.calls.clear()
    widget = get(client, order, "widget", live_refresh="true")
    assert widget.status_code == 200
    assert widget["Content-Type"] == "image/png"
    assert sandbox.calls_to("ups")


@pytest.mark.parametrize("status", [500, 429, 401])
def test_a_failing_carrier_falls_back_to_stored_data(client, sandbox, parcel, status):
    order, tracking = parcel
    sandbox.fail_next("ups", status, count=3)
    response = page(client, order, live_refresh="true")
    assert response.status_code == 200
    assert tracking.checkpoints.count() == 0
    info = get(client, order, "info", live_refresh="true")
    assert info.status_code == 200


def test_a_slow_carrier_does_not_hold_the_answer_past_the_bound(client, settings, parcel):
    order, _ = parcel
    settings.LIVE_REFRESH_TIMEOUT = 0.3
    answered = threading.Event()

    def hanging_carrier(request: httpx.Request) -> httpx.Response:
        answered.wait(timeout=10)  # answers only after our page has been served
        return httpx.Response(503)

    registry.transport = httpx.MockTransport(hanging_carrier)
    response = page(client, order, live_refresh="true")
    carrier_still_waiting = not answered.is_set()
    answered.set()
    assert response.status_code == 200
    assert carrier_still_waiting


@pytest.mark.parametrize("value", ["maybe", "2", "truee"])
def test_an_invalid_live_refresh_value_is_a_400(client, parcel, value):
    order, tracking = parcel
    assert page(client, order, live_refresh=value).status_code == 400
    info = get(client, order, "info", live_refresh=value)
    assert info.status_code == 400
    assert tracking.checkpoints.count() == 0


def test_without_live_refresh_nothing_is_asked(client, sandbox, parcel):
    order, _ = parcel
    page(client, order)
    assert sandbox.calls_to("ups") == []


def test_a_shop_with_its_own_credentials_refreshes_with_no_database_work_in_the_threads(
    client, settings, parcel
):
    order, tracking = parcel
    settings.UPS_CLIENT_ID = settings.UPS_CLIENT_SECRET = ""  # only the shop's own credentials
    CarrierCredential.objects.create(
        account=order.account, api="ups", client_id="shop-client", client_secret="shop-secret"
    )

    response = page(client, order, live_refresh="true")

    assert "Arrived at Facility" in response.content.decode()  # asked with the shop's credentials
    assert tracking.checkpoints.count() == 4
    # None of the refresh threads opened a database connection (it would stay open as long as
    # the thread lives): every thread of the pool reports on its own.
    size = polling._live_pool._max_workers
    all_running = threading.Barrier(size)

    def connected() -> bool:
        all_running.wait(timeout=10)
        return connection.connection is not None

    assert not any(f.result(timeout=20) for f in [polling._live_pool.submit(connected) for _ in range(size)])
