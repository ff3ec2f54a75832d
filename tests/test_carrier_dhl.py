"""DHL Shipment Tracking – Unified adapter: the parser on documented answers, the client against
the sandbox DHL (in-process) and against scripted transports for failures."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest

from orders.carriers import dhl
from orders.carriers.base import (
    AuthFailed,
    BadResponse,
    CarrierUnavailable,
    Credentials,
    DeliveryWindow,
    NotConfigured,
    RateLimited,
)
from orders.carriers.sandbox.route import number_seed
from tests import carrier_kit

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


fixture = carrier_kit.fixtures("dhl")
sandbox = carrier_kit.sandbox_at(NOW)
_fresh_tokens = carrier_kit.fresh_tokens


def number_with_decoy(wanted: bool) -> str:
    """A 20-digit parcel number for which the sandbox does (or does not) add another shipment."""
    return next(
        n for n in (f"0034043429213510{i:04d}" for i in range(100)) if (number_seed(n) % 3 == 0) == wanted
    )


def sandbox_client(server, api_key: str = "dhl-key", **options) -> dhl.Client:
    transport = carrier_kit.sandbox_transport(server)
    return carrier_kit.client(
        dhl, transport, f"{carrier_kit.SANDBOX_URL}/dhl", api_key=api_key, options=options
    )


def scripted_client(handler) -> dhl.Client:
    return carrier_kit.client(dhl, httpx.MockTransport(handler), "https://api-eu.dhl.test", api_key="dhl-key")


# --- parser on documented answers ---------------------------------------------------------------


def test_spec_example_without_offsets_keeps_local_times():
    update = dhl.parse(fixture("ecommerce_in_transit.json"), "GMDBD8E9CCE94842E495B7")

    assert update.found and update.status == "in_transit"
    assert update.raw_status == "ARRIVED AT CUSTOMS"
    customs = update.checkpoints[0]
    assert customs.occurred_at == datetime(2023, 1, 29, 16, 2) and not customs.zone_known
    assert customs.location == "HEATHROW, GB" and customs.country == "GB"  # DHL wrote "UK"
    assert all(not c.zone_known for c in update.checkpoints)
    assert [c.status for c in update.checkpoints[-3:]] == ["info_received", "in_transit", "info_received"]


def test_statuses_come_from_the_text_where_status_code_is_coarse():
    update = dhl.parse(fixture("express_delivered.json"), "7777777770")

    assert [c.status for c in update.checkpoints] == [
        "delivered",
        "out_for_delivery",  # statusCode transit, "With delivery courier"
        "in_transit",
        "info_received",
    ]
    assert update.status == "delivered"


def test_z_offset_short_offset_and_no_offset_timestamps():
    update = dhl.parse(fixture("express_delivered.json"), "7777777770")

    delivered, courier, customs, received = update.checkpoints
    assert delivered.occurred_at == datetime(2018, 8, 3, 12, 33, tzinfo=UTC)  # +02:00
    assert courier.occurred_at == datetime(2018, 8, 3, 6, 5, tzinfo=UTC)  # +2:00, DHL's short form
    assert customs.occurred_at == datetime(2018, 8, 2, 21, 40, tzinfo=UTC)  # Z
    assert received.occurred_at == datetime(2018, 8, 1, 17, 2) and not received.zone_known
    assert update.delivered_at == delivered.occurred_at
    assert update.estimated_delivery is None  # delivered: no estimate to show


def test_time_frame_is_the_estimate_while_in_transit():
    payload = fixture("express_delivered.json")
    shipment = payload["shipments"][0]
    shipment["status"] = shipment["events"][1]
    shipment["events"] = shipment["events"][1:]

    update = dhl.parse(payload, "7777777770")

    assert update.status == "out_for_delivery"
    assert update.estimated_delivery == DeliveryWindow(
        start_date=date(2018, 8, 3), start_time=time(0, 0), end_time=time(22, 0)
    )


def test_the_shipment_with_the_number_wins_over_another_with_the_same_number():
    update = dhl.parse(fixture("two_shipments.json"), "00340434292135100186")

    assert update.status == "failed_attempt"  # not the old freight shipment's "delivered"
    assert update.checkpoints[0].occurred_at == datetime(2023, 5, 9, 8, 11, 12, tzinfo=UTC)
    assert update.checkpoints[1].status == "out_for_delivery"
    assert update.estimated_delivery == DeliveryWindow(start_date=date(2023, 5, 10))


def test_only_other_shipments_in_the_answer_is_not_found(caplog):
    payload = fixture("two_shipments.json")
    payload["shipments"] = payload["shipments"][:1]

    with caplog.at_level(logging.WARNING, logger="orders.carriers"):
        update = dhl.parse(payload, "00340434292135100186")

    assert not update.found
    assert "00340434292135100186-1" in caplog.text


def test_a_piece_number_finds_its_shipment():
    update = dhl.parse(fixture("express_delivered.json"), "JD014600006281230704")

    assert update.found and update.status == "delivered"


def test_undocumented_status_code_is_in_transit_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="orders.carriers"):
        update = dhl.parse(fixture("two_shipments.json"), "00340434292135100186")

    assert update.checkpoints[-1].status == "in_transit"
    assert "'mystery'" in caplog.text


def test_documented_404_body_is_not_found():
    assert not dhl.parse(fixture("not_found.json"), "8264715546").found


def test_answer_without_shipments_is_a_bad_response():
    with pytest.raises(BadResponse):
        dhl.parse({"url": "/shipments"}, "8264715546")


# --- client against the sandbox DHL ---------------------------------------------------------------


def test_sandbox_round_trip_gives_back_the_route_statuses_and_instants(sandbox):
    number = number_with_decoy(True)  # the sandbox also answers with another shipment first
    sandbox.start(number, NOW - timedelta(hours=1))
    expected = sandbox.shipment("dhl", number)

    update = sandbox_client(sandbox).track([number])[number]

    assert [c.status for c in update.checkpoints] == [e.status for e in expected.events]
    for checkpoint, event in zip(update.checkpoints, expected.events, strict=True):
        if event.kind in ("label_created", "picked_up"):  # rendered without an offset
            assert not checkpoint.zone_known
            assert checkpoint.occurred_at == event.local_time.replace(tzinfo=None)
        else:
            assert checkpoint.zone_known and checkpoint.occurred_at == event.occurred_at
        assert checkpoint.country == "DE"
    assert update.status == expected.events[0].status


def test_sandbox_estimate_window_while_in_transit(sandbox):
    number = number_with_decoy(False)
    sandbox.start(number, NOW - timedelta(minutes=5))
    expected = sandbox.shipment("dhl", number)

    update = sandbox_client(sandbox).track([number])[number]

    assert update.status == "in_transit"
    assert update.estimated_delivery == DeliveryWindow(
        start_date=expected.estimated_delivery, start_time=time(9, 0), end_time=time(18, 0)
    )


def test_service_hint_is_sent_and_avoids_the_other_shipment(sandbox):
    number = number_with_decoy(True)
    seen = []
    inner = httpx.WSGITransport(app=sandbox)

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner.handle_request(request)

    client = dhl.Client(
        Credentials(base_url="http://sandbox.test/dhl", api_key="dhl-key"),
        transport=httpx.MockTransport(spy),
        service="parcel-de",
    )
    assert client.track([number])[number].found
    assert seen[0].url.params["service"] == "parcel-de"
    assert seen[0].headers["DHL-API-Key"] == "dhl-key"


def test_unknown_number_is_not_found_not_an_error(sandbox):
    sandbox.unknown_numbers.add("8264715546")

    assert not sandbox_client(sandbox).track(["8264715546"])["8264715546"].found


def test_missing_api_key_is_not_configured_and_sends_nothing(sandbox):
    with pytest.raises(NotConfigured):
        sandbox_client(sandbox, api_key="").track(["8264715546"])
    assert sandbox.calls == []


def test_sandbox_refuses_a_request_without_key(sandbox):
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://sandbox.test") as http:
        refused = http.get("/dhl/track/shipments", params={"trackingNumber": "8264715546"})
        unknown_path = http.get("/dhl/track/nothing", headers={"DHL-API-Key": "k"})

    assert refused.status_code == 401 and refused.json()["status"] == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert unknown_path.status_code == 404


def test_refused_key_is_auth_failed():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"title": "Unauthorized", "status": 401, "detail": "Invalid API key."}
        )

    with pytest.raises(AuthFailed):
        scripted_client(handler).track(["8264715546"])


def test_rate_limit_with_http_date_retry_after(sandbox):
    sandbox.fail_next("dhl", 429, retry_after="Wed, 21 Oct 2099 07:28:00 GMT")

    with pytest.raises(RateLimited) as raised:
        sandbox_client(sandbox).track([number_with_decoy(False)])

    assert raised.value.retry_after > 0


def test_server_error_is_carrier_unavailable(sandbox):
    sandbox.fail_next("dhl", 500)

    with pytest.raises(CarrierUnavailable) as raised:
        sandbox_client(sandbox).track([number_with_decoy(False)])

    assert raised.value.status_code == 500


def test_timeout_is_carrier_unavailable():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no answer", request=request)

    with pytest.raises(CarrierUnavailable, match="timed out"):
        scripted_client(handler).track(["8264715546"])


def test_404_without_the_problem_body_is_a_bad_response():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "no route"})

    with pytest.raises(BadResponse):
        scripted_client(handler).track(["8264715546"])
