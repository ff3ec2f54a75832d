"""FedEx adapter: the parser on FedEx's documented answers, the client against the sandbox and against
hand-written HTTP answers (auth refresh, 429, 5xx, timeouts, not found, batches of 30)."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from urllib.parse import parse_qs

import httpx
import pytest

from orders.carriers import fedex
from orders.carriers.base import (
    AuthFailed,
    BadResponse,
    CarrierUnavailable,
    DeliveryWindow,
    RateLimited,
)
from orders.carriers.sandbox.route import SCENARIOS, scenario_for
from tests import carrier_kit

NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
NUMBER = "123456789012"


fixture = carrier_kit.fixtures("fedex")
sandbox = carrier_kit.sandbox_at(NOW)
_fresh_tokens = carrier_kit.fresh_tokens


def sandbox_client(server, **credentials) -> fedex.Client:
    credentials = {"client_id": "id", "client_secret": "secret"} | credentials
    transport = carrier_kit.sandbox_transport(server)
    return carrier_kit.client(fedex, transport, f"{carrier_kit.SANDBOX_URL}/fedex", **credentials)


def mock_client(handler) -> fedex.Client:
    transport = httpx.MockTransport(handler)
    return carrier_kit.client(fedex, transport, "https://fedex.test", client_id="id", client_secret="secret")


def token_or(answer):
    """A MockTransport handler: tokens are granted, track requests get ``answer(request)``."""
    return carrier_kit.granting_tokens("/oauth/token", lambda: fixture("token.json"), answer)


def numbers(count: int) -> list[str]:
    return [f"7946{i:08d}" for i in range(count)]


def number_with_scenario(scenario: str) -> str:
    return next(n for n in (f"6129{i:08d}" for i in range(10_000)) if scenario_for(n) == scenario)


# --- parser on documented answers ---------------------------------------------------------------


def test_delivered_answer():
    update = fedex.parse(fixture("delivered.json"), "776094337676")

    assert update.found and update.status == "delivered" and update.raw_status == "Delivered"
    assert update.delivered_at == datetime(2024, 4, 26, 16, 26, tzinfo=UTC)
    assert update.estimated_delivery is None
    delivered, out, picked_up, label = update.checkpoints
    assert [c.status for c in update.checkpoints] == [
        "delivered",
        "out_for_delivery",
        "in_transit",
        "info_received",
    ]
    assert delivered.occurred_at == datetime(2024, 4, 26, 16, 26, tzinfo=UTC) and delivered.zone_known
    assert delivered.location == "FRESNO, CA, US"  # locationType DELIVERY_LOCATION is never shown
    assert (out.status_code, out.message) == ("OD", "On FedEx vehicle for delivery")  # derived "IT" loses
    assert picked_up.occurred_at == datetime(2024, 4, 25, 15, 55, tzinfo=UTC)
    assert label.occurred_at == datetime(2024, 4, 24, 20, 30, 57, tzinfo=UTC)
    assert (label.location, label.country) == ("", "")  # no place, and "CUSTOMER" is not one


def test_in_transit_answer_with_missing_offset_and_midnight_estimate():
    update = fedex.parse(fixture("in_transit.json"), "738488882438")

    assert update.status == "in_transit"
    # "2024-08-28T00:00:00-06:00" is a day at the destination: converting it to UTC must not move it.
    assert update.estimated_delivery == DeliveryWindow(date(2024, 8, 28))
    arrived, departed, picked_up = update.checkpoints
    assert arrived.occurred_at == datetime(2024, 8, 27, 9, 32, tzinfo=UTC)
    assert departed.occurred_at == datetime(2024, 8, 26, 23, 40, 27, tzinfo=UTC)
    assert (picked_up.occurred_at, picked_up.zone_known) == (datetime(2024, 8, 26), False)
    assert picked_up.location == "EDINA, MN, US"


def test_out_for_delivery_with_estimated_window():
    update = fedex.parse(fixture("out_for_delivery.json"), NUMBER)

    assert update.status == "out_for_delivery"
    assert update.estimated_delivery == DeliveryWindow(date(2021, 10, 1), None, dtime(8), dtime(12))
    (scan,) = update.checkpoints
    assert scan.status == "out_for_delivery"
    assert scan.occurred_at == datetime(2021, 10, 1, 14, 12, tzinfo=UTC)


def test_delivery_exceptions_and_attempts():
    update = fedex.parse(fixture("exception.json"), "776094337676")

    assert update.status == "exception"
    refused, delay, attempt, arrived = update.checkpoints
    assert (refused.status, refused.status_code) == ("exception", "DE")
    assert refused.message == "Delivery exception: Refused by recipient"
    assert (delay.status, delay.status_code) == ("exception", "DY")
    assert (attempt.status, attempt.status_code) == ("failed_attempt", "DE:08")
    assert arrived.location == ""  # only a placeholder locationType, no place
    assert update.estimated_delivery == DeliveryWindow(date(2024, 4, 26))


def test_not_found_inside_the_answer_is_a_normal_answer():
    update = fedex.parse(fixture("not_found.json"), "39936862321")
    assert update.found is False and update.checkpoints == ()


def test_one_answer_for_a_batch_with_found_and_unknown_numbers():
    payload = fixture("batch_mixed.json")

    found = fedex.parse(payload, "128667043726")
    unknown = fedex.parse(payload, "39936862321")

    assert found.found and found.status == "in_transit"
    assert found.checkpoints[0].occurred_at == datetime(2018, 2, 2, 19, 1, tzinfo=UTC)
    assert found.checkpoints[0].location == "SEATTLE, WA, US"
    assert unknown.found is False


def test_recycled_number_follows_the_shipment_with_the_newest_scan():
    update = fedex.parse(fixture("duplicate_number.json"), "776094337676")
    assert update.status == "delivered"
    assert [c.location for c in update.checkpoints] == ["FRESNO, CA, US"]


def test_smartpost_hand_over_to_usps():
    update = fedex.parse(fixture("smartpost.json"), "61290912345678901234")
    assert (update.last_mile_carrier, update.last_mile_tracking_number) == (
        "usps",
        "92612999897543580012345678",
    )
    assert update.status == "in_transit"


def test_no_hand_over_without_a_partner_number():
    update = fedex.parse(fixture("delivered.json"), "776094337676")
    assert (update.last_mile_carrier, update.last_mile_tracking_number) == ("", "")


def test_unknown_event_types_use_the_derived_code_or_in_transit_and_are_logged(caplog):
    caplog.set_level(logging.WARNING, logger="orders.carriers")
    update = fedex.parse(fixture("unknown_codes.json"), NUMBER)

    derived, unknown = update.checkpoints
    assert (derived.status, derived.status_code) == ("delivered", "DL")
    assert derived.location == "US"  # placeholder city FEDEX_FACILITY blanked
    assert (unknown.status, unknown.status_code) == ("in_transit", "Q8")
    assert "'Q8'" in caplog.text
    assert update.status == "delivered"  # no latestStatusDetail: the newest scan decides


@pytest.mark.parametrize("payload", [{}, [], {"output": None}, "x"])
def test_unreadable_answers_raise_bad_response(payload):
    with pytest.raises(BadResponse):
        fedex.parse(payload, NUMBER)


# --- client against the sandbox -----------------------------------------------------------------


def test_token_is_fetched_once_and_cached(sandbox):
    client = sandbox_client(sandbox)
    client.track([NUMBER])
    client.track([NUMBER])

    assert len(sandbox.calls_to("fedex", tokens=True)) == 1
    assert len(sandbox.calls_to("fedex")) == 2


def test_expired_token_is_refreshed_once_on_401(sandbox):
    client = sandbox_client(sandbox)
    client.track([NUMBER])
    sandbox.expire_tokens("fedex")

    assert client.track([NUMBER])[NUMBER].found
    assert len(sandbox.calls_to("fedex", tokens=True)) == 2
    assert len(sandbox.calls_to("fedex")) == 3


def test_refused_credentials_raise_auth_failed(sandbox):
    with pytest.raises(AuthFailed):
        sandbox_client(sandbox, client_id="").track([NUMBER])
    assert sandbox.calls_to("fedex") == []


def test_batch_with_an_unknown_number(sandbox):
    sandbox.unknown_numbers.add("999999999999")
    answers = sandbox_client(sandbox).track([NUMBER, "999999999999"])

    assert answers[NUMBER].found and answers[NUMBER].checkpoints
    assert answers["999999999999"].found is False
    assert len(sandbox.calls_to("fedex")) == 1


def test_thirty_numbers_go_in_one_request_and_more_are_refused(sandbox):
    client = sandbox_client(sandbox)
    answers = client.track(numbers(30))

    assert len(answers) == 30 and all(a.found for a in answers.values())
    assert len(sandbox.calls_to("fedex")) == 1
    with pytest.raises(ValueError):
        client.track(numbers(31))
    assert len(sandbox.calls_to("fedex")) == 1


def test_rate_limit_carries_retry_after_seconds(sandbox):
    sandbox.fail_next("fedex", 429, retry_after="30")
    with pytest.raises(RateLimited) as caught:
        sandbox_client(sandbox).track([NUMBER])
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_carrier_unavailable(sandbox, status):
    sandbox.fail_next("fedex", status)
    with pytest.raises(CarrierUnavailable):
        sandbox_client(sandbox).track([NUMBER])


# --- client against hand-written answers --------------------------------------------------------


def test_requests_follow_the_spec():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json=fixture("token.json"))
        return httpx.Response(200, json=fixture("batch_mixed.json"))

    answers = mock_client(handler).track(["128667043726", "39936862321"])

    token, track = seen
    assert token.method == "POST" and "authorization" not in token.headers
    assert parse_qs(token.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["id"],
        "client_secret": ["secret"],
    }
    assert track.method == "POST" and track.url.path == "/track/v1/trackingnumbers"
    assert track.headers["authorization"] == "Bearer " + fixture("token.json")["access_token"]
    assert track.headers["content-type"] == "application/json"
    assert json.loads(track.content) == {
        "includeDetailedScans": True,
        "trackingInfo": [
            {"trackingNumberInfo": {"trackingNumber": "128667043726"}},
            {"trackingNumberInfo": {"trackingNumber": "39936862321"}},
        ],
    }
    assert answers["128667043726"].found and not answers["39936862321"].found


def test_rate_limit_with_http_date_retry_after():
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    client = mock_client(token_or(lambda r: httpx.Response(429, headers={"Retry-After": later})))
    with pytest.raises(RateLimited) as caught:
        client.track([NUMBER])
    assert 3500 < caught.value.retry_after <= 3600


def test_timeout_is_carrier_unavailable():
    def slow(request):
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(CarrierUnavailable):
        mock_client(token_or(slow)).track([NUMBER])


def test_not_found_error_body_marks_every_number_not_found():
    body = {"transactionId": "x", "errors": [{"code": "TRACKING.TRACKINGNUMBER.NOTFOUND", "message": "..."}]}
    answers = mock_client(token_or(lambda r: httpx.Response(400, json=body))).track([NUMBER])
    assert answers[NUMBER].found is False


def test_other_client_errors_are_bad_responses():
    body = {"transactionId": "x", "errors": [{"code": "TRACKING.TRACKINGNUMBER.EMPTY", "message": "..."}]}
    with pytest.raises(BadResponse):
        mock_client(token_or(lambda r: httpx.Response(400, json=body))).track([NUMBER])


def test_401_even_with_a_fresh_token_is_auth_failed():
    client = mock_client(token_or(lambda r: httpx.Response(401, json=fixture("auth_error_401.json"))))
    with pytest.raises(AuthFailed):
        client.track([NUMBER])


def test_no_numbers_no_request():
    def handler(request):
        raise AssertionError("no request expected")

    assert mock_client(handler).track([]) == {}


# --- round trip: what the sandbox renders, the adapter reads back --------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_sandbox_round_trip(sandbox, scenario):
    number = number_with_scenario(scenario)
    sandbox.start(number, NOW - timedelta(hours=1))
    expected = sandbox.shipment("fedex", number)

    update = sandbox_client(sandbox).track([number])[number]

    assert [(c.status, c.occurred_at, c.zone_known) for c in update.checkpoints] == [
        (e.status, e.occurred_at, True) for e in expected.events
    ]
    assert update.status == expected.latest.status
    if expected.delivered:
        assert update.delivered_at == expected.delivered.occurred_at


def test_sandbox_round_trip_mid_route_has_the_estimate(sandbox):
    number = number_with_scenario("delivered")
    sandbox.start(number, NOW - timedelta(minutes=5))
    expected = sandbox.shipment("fedex", number)

    update = sandbox_client(sandbox).track([number])[number]

    assert update.status == "in_transit" and len(update.checkpoints) == 3
    assert update.estimated_delivery == DeliveryWindow(expected.estimated_delivery)


# --- the sandbox's own checks -------------------------------------------------------------------


def test_sandbox_answers_unknown_paths_with_404_and_checks_the_request(sandbox):
    http = httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://sandbox.test/fedex")
    bearer = {"Authorization": f"Bearer {sandbox_client(sandbox).token()}"}

    assert http.post("/track/v2/trackingnumbers", headers=bearer, json={}).status_code == 404
    empty = http.post("/track/v1/trackingnumbers", headers=bearer, json={"trackingInfo": []})
    assert (empty.status_code, empty.json()["errors"][0]["code"]) == (400, "TRACKING.TRACKINGNUMBER.EMPTY")
    too_many = {"trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers(31)]}
    assert http.post("/track/v1/trackingnumbers", headers=bearer, json=too_many).status_code == 400
    refused = http.post("/track/v1/trackingnumbers", json={"trackingInfo": []})
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (401, "NOT.AUTHORIZED.ERROR")
