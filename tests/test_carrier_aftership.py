"""AfterShip adapter (Amazon Logistics and carriers without a direct adapter): the parser on answers
shaped like AfterShip's models, the look-up-then-register client against the sandbox AfterShip and
against scripted transports for failures."""

from __future__ import annotations

import logging
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest

from orders.carriers import aftership
from orders.carriers.base import (
    AuthFailed,
    BadResponse,
    CarrierUnavailable,
    DeliveryWindow,
    NotConfigured,
    RateLimited,
)
from tests import carrier_kit

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
AMAZON = "TBA304958271000"


fixture = carrier_kit.fixtures("aftership")
sandbox = carrier_kit.sandbox_at(NOW)
_fresh_tokens = carrier_kit.fresh_tokens


def sandbox_client(server, api_key: str = "as-key", slug: str = "amazon") -> aftership.Client:
    transport = carrier_kit.sandbox_transport(server)
    base_url = f"{carrier_kit.SANDBOX_URL}/aftership"
    return carrier_kit.client(aftership, transport, base_url, api_key=api_key, options={"slug": slug})


def scripted_client(handler, slug: str = "amazon") -> aftership.Client:
    transport = httpx.MockTransport(handler)
    return carrier_kit.client(
        aftership, transport, "https://api.aftership.test", api_key="as-key", options={"slug": slug}
    )


# --- parser ------------------------------------------------------------------------------------------


def test_amazon_in_transit_checkpoints_newest_first_with_offsets_applied():
    update = aftership.parse(fixture("in_transit_amazon.json"), AMAZON, "amazon")

    assert update.found and update.status == "in_transit"
    departed, arrived, created = update.checkpoints
    assert departed.occurred_at == datetime(2026, 11, 28, 15, 32, tzinfo=UTC)  # 07:32 at -08:00
    assert departed.status_code == "InTransit_007" and departed.message == "Package left the carrier facility"
    assert departed.location == "Kent, WA" and departed.country == "US"  # alpha-3 USA
    assert arrived.status == "in_transit"
    assert created.status == "info_received"
    assert created.occurred_at == datetime(2026, 11, 26, 10, 1) and not created.zone_known
    assert created.location == "" and created.country == ""


def test_latest_estimate_range_is_the_window():
    update = aftership.parse(fixture("in_transit_amazon.json"), AMAZON, "amazon")

    assert update.estimated_delivery == DeliveryWindow(
        start_date=date(2026, 11, 29), start_time=time(9, 0), end_time=time(13, 0)
    )


def test_courier_estimate_when_there_is_no_latest_estimate():
    payload = fixture("in_transit_amazon.json")
    del payload["data"]["trackings"][0]["latest_estimated_delivery"]

    update = aftership.parse(payload, AMAZON, "amazon")

    assert update.estimated_delivery == DeliveryWindow(start_date=date(2026, 11, 29))


def test_delivered_with_last_mile_carrier():
    update = aftership.parse(fixture("delivered_last_mile.json"), "LY123456785CN")

    assert update.status == "delivered"
    assert update.delivered_at == datetime(2026, 10, 2, 18, 5, tzinfo=UTC)
    assert update.estimated_delivery is None
    assert update.last_mile_carrier == "usps"
    assert update.last_mile_tracking_number == "9400109104250532908587"
    assert update.checkpoints[-1].country == "CN"


def test_returned_to_sender_subtag_is_returned_and_returning_is_an_exception():
    update = aftership.parse(fixture("returned.json"), "TBA000111222333", "amazon")

    assert update.status == "returned"
    assert [c.status for c in update.checkpoints] == ["returned", "exception", "failed_attempt"]


def test_number_aftership_does_not_track_is_not_found():
    assert not aftership.parse(fixture("empty.json"), AMAZON, "amazon").found


def test_pending_without_checkpoints_is_not_found():
    assert not aftership.parse(fixture("created_pending.json"), "TBA999888777666", "amazon").found


def test_expired_keeps_the_last_checkpoint_status():
    payload = fixture("in_transit_amazon.json")
    payload["data"]["trackings"][0].update(tag="Expired", subtag="Expired_001")

    assert aftership.parse(payload, AMAZON, "amazon").status == "in_transit"


def test_unknown_tag_is_in_transit_and_logged(caplog):
    payload = fixture("in_transit_amazon.json")
    payload["data"]["trackings"][0].update(tag="Teleported", subtag="Teleported_001")

    with caplog.at_level(logging.WARNING, logger="orders.carriers"):
        update = aftership.parse(payload, AMAZON, "amazon")

    assert update.status == "in_transit"
    assert "'Teleported'" in caplog.text


def test_a_tracking_of_another_slug_is_not_taken():
    assert not aftership.parse(fixture("in_transit_amazon.json"), AMAZON, "ups").found


def test_answer_without_data_is_a_bad_response():
    with pytest.raises(BadResponse):
        aftership.parse(fixture("unauthorized.json") | {"data": None}, AMAZON)


# --- client against the sandbox AfterShip --------------------------------------------------------------


def test_new_number_is_registered_then_read_back(sandbox):
    sandbox.start(AMAZON, NOW - timedelta(minutes=9))
    client = sandbox_client(sandbox)

    first = client.track([AMAZON])[AMAZON]
    second = client.track([AMAZON])[AMAZON]

    assert [c[1] for c in sandbox.calls_to("aftership")] == ["GET", "POST", "GET"]
    assert first == second and first.found


def test_sandbox_round_trip_gives_back_the_route_statuses_and_instants(sandbox):
    sandbox.start(AMAZON, NOW - timedelta(hours=1))
    expected = sandbox.shipment("aftership", AMAZON)

    update = sandbox_client(sandbox).track([AMAZON])[AMAZON]

    assert [c.status for c in update.checkpoints] == [e.status for e in expected.events]
    for checkpoint, event in zip(update.checkpoints, expected.events, strict=True):
        if event.kind == "label_created":  # rendered without an offset
            assert not checkpoint.zone_known
            assert checkpoint.occurred_at == event.local_time.replace(tzinfo=None)
        else:
            assert checkpoint.zone_known and checkpoint.occurred_at == event.occurred_at
    assert update.status == expected.events[0].status
    if expected.delivered:
        assert update.delivered_at == expected.delivered.occurred_at


def test_sandbox_estimate_while_in_transit(sandbox):
    sandbox.start(AMAZON, NOW - timedelta(minutes=5))
    expected = sandbox.shipment("aftership", AMAZON)

    update = sandbox_client(sandbox).track([AMAZON])[AMAZON]

    assert update.status == "in_transit"
    assert update.estimated_delivery == DeliveryWindow(start_date=expected.estimated_delivery)


def test_number_the_carrier_never_reported_is_not_found(sandbox):
    sandbox.unknown_numbers.add("TBA000000000001")

    assert not sandbox_client(sandbox).track(["TBA000000000001"])["TBA000000000001"].found


def test_sandbox_refuses_requests_without_key(sandbox):
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://sandbox.test") as http:
        refused = http.get("/aftership/tracking/2026-07/trackings", params={"tracking_numbers": AMAZON})
        unknown_path = http.get("/aftership/tracking/2026-07/couriers", headers={"as-api-key": "k"})

    assert refused.status_code == 401 and refused.json() == fixture("unauthorized.json")
    assert unknown_path.status_code == 404


def test_missing_api_key_is_not_configured_and_sends_nothing(sandbox):
    with pytest.raises(NotConfigured):
        sandbox_client(sandbox, api_key="").track([AMAZON])
    assert sandbox.calls == []


def test_rate_limit_carries_retry_after(sandbox):
    sandbox.fail_next("aftership", 429, retry_after="7")

    with pytest.raises(RateLimited) as raised:
        sandbox_client(sandbox).track([AMAZON])

    assert raised.value.retry_after == 7


def test_rate_limit_without_retry_after_waits_until_the_window_resets():
    """AfterShip's 429 may carry only X-RateLimit-Reset, the unix time its window ends."""
    reset = int(clock.time()) + 42

    def handler(request):
        meta = {
            "code": 429,
            "type": "TooManyRequests",
            "message": "You have exceeded the API call rate limit.",
        }
        return httpx.Response(429, headers={"X-RateLimit-Reset": str(reset)}, json={"meta": meta, "data": {}})

    with pytest.raises(RateLimited) as raised:
        scripted_client(handler).track([AMAZON])

    assert 40 <= raised.value.retry_after <= 42


def test_server_error_is_carrier_unavailable(sandbox):
    sandbox.fail_next("aftership", 502)

    with pytest.raises(CarrierUnavailable):
        sandbox_client(sandbox).track([AMAZON])


# --- client against scripted transports ----------------------------------------------------------------


def test_request_shape_key_header_version_and_filters():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=fixture("in_transit_amazon.json"))

    assert scripted_client(handler).track([AMAZON])[AMAZON].found

    (request,) = seen
    assert request.method == "GET" and request.url.path == "/tracking/2026-07/trackings"
    assert dict(request.url.params) == {"tracking_numbers": AMAZON, "slug": "amazon"}
    assert request.headers["as-api-key"] == "as-key"


def test_registered_meanwhile_by_another_worker_is_read_again():
    answers = iter(
        [
            httpx.Response(200, json=fixture("empty.json")),
            httpx.Response(
                400, json={"meta": {"code": 4003, "message": "Tracking already exists."}, "data": {}}
            ),
            httpx.Response(200, json=fixture("in_transit_amazon.json")),
        ]
    )

    update = scripted_client(lambda request: next(answers)).track([AMAZON])[AMAZON]

    assert update.found and update.status == "in_transit"


def test_number_aftership_rejects_as_invalid_is_not_found():
    answers = iter(
        [
            httpx.Response(200, json=fixture("empty.json")),
            httpx.Response(
                400,
                json={
                    "meta": {"code": 4005, "message": "The value of tracking_number is invalid."},
                    "data": {},
                },
            ),
        ]
    )

    assert not scripted_client(lambda request: next(answers)).track(["TBA1"])["TBA1"].found


def test_refused_key_is_auth_failed():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json=fixture("unauthorized.json"))

    with pytest.raises(AuthFailed):
        scripted_client(handler).track([AMAZON])


def test_timeout_is_carrier_unavailable():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(CarrierUnavailable, match="timed out"):
        scripted_client(handler).track([AMAZON])


def test_other_client_error_is_a_bad_response():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"meta": {"code": 4010, "message": "The value of slug is invalid."}})

    with pytest.raises(BadResponse, match="4010"):
        scripted_client(handler).track([AMAZON])
