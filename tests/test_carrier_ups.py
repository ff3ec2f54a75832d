"""UPS adapter: the parser on UPS's documented answers, the client against the sandbox and against
hand-written HTTP answers (auth refresh, 429, 5xx, timeouts, not found)."""

from __future__ import annotations

import base64
import copy
import email.utils
import logging
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from urllib.parse import parse_qs

import httpx
import pytest

from orders.carriers import ups
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
NUMBER = "1Z023E2X0214323462"


fixture = carrier_kit.fixtures("ups")
sandbox = carrier_kit.sandbox_at(NOW)
_fresh_tokens = carrier_kit.fresh_tokens


def sandbox_client(server, **credentials) -> ups.Client:
    credentials = {"client_id": "id", "client_secret": "secret"} | credentials
    transport = carrier_kit.sandbox_transport(server)
    return carrier_kit.client(ups, transport, f"{carrier_kit.SANDBOX_URL}/ups", **credentials)


def mock_client(handler) -> ups.Client:
    transport = httpx.MockTransport(handler)
    return carrier_kit.client(ups, transport, "https://ups.test", client_id="id", client_secret="secret")


def token_or(answer):
    """A MockTransport handler: tokens are granted, track requests get ``answer(request)``."""
    return carrier_kit.granting_tokens("/security/v1/oauth/token", lambda: fixture("token.json"), answer)


def number_with_scenario(scenario: str, prefix: str = "1ZSANDBOX") -> str:
    return next(f"{prefix}{i:08d}" for i in range(10_000) if scenario_for(f"{prefix}{i:08d}") == scenario)


# --- parser on documented answers ---------------------------------------------------------------


def test_documented_example_without_gmt_fields_keeps_local_times_with_zone_unknown():
    update = ups.parse(fixture("delivered.json"), "1Z1442YY7229014688")

    assert update.found and update.status == "delivered"
    delivered, label = update.checkpoints
    assert (delivered.status, delivered.status_code, delivered.message) == ("delivered", "011", "DELIVERED")
    assert delivered.occurred_at == datetime(2022, 1, 26, 16, 30)  # naive: never labelled UTC
    assert delivered.zone_known is False
    assert delivered.location == "PARAMUS, NJ, US" and delivered.country == "US"
    assert (label.status, label.occurred_at, label.location) == (
        "info_received",
        datetime(2022, 1, 26, 15, 16, 41),
        "US",
    )
    assert update.delivered_at == datetime(2022, 1, 26, 16, 30)
    assert update.estimated_delivery is None  # DEL is the delivery day, not an estimate


def test_gmt_fields_give_the_utc_instant():
    update = ups.parse(fixture("delivered_with_gmt.json"), NUMBER)

    delivered, out = update.checkpoints
    assert delivered.occurred_at == datetime(2025, 8, 26, 23, 37, 3, tzinfo=UTC) and delivered.zone_known
    assert out.occurred_at == datetime(2025, 8, 26, 15, 44, 34, tzinfo=UTC)
    assert out.status == "out_for_delivery"
    assert update.delivered_at == datetime(2025, 8, 26, 23, 37, 3, tzinfo=UTC)
    assert update.raw_status == "Delivered"


def test_in_transit_answer_times_estimate_and_usps_hand_over():
    update = ups.parse(fixture("in_transit.json"), NUMBER)

    assert update.status == "in_transit" and update.raw_status == "On the Way"
    # The rescheduled date replaces the scheduled one; EDW is a window on that day.
    assert update.estimated_delivery == DeliveryWindow(date(2021, 2, 13), None, dtime(14), dtime(18))
    arrived, departed, origin, label = update.checkpoints
    assert arrived.occurred_at == datetime(2021, 2, 10, 12, 13, 56, tzinfo=UTC)
    assert departed.occurred_at == datetime(2021, 2, 10, 7, 47, tzinfo=UTC)  # the spec's gmtTime "74700"
    # Only gmtOffset: local 19:05 at -06:00 is 01:05 UTC the next day.
    assert (origin.occurred_at, origin.zone_known) == (datetime(2021, 2, 10, 1, 5, tzinfo=UTC), True)
    assert (label.occurred_at, label.zone_known) == (datetime(2021, 2, 9, 10, 15), False)
    assert [c.status for c in update.checkpoints] == [
        "in_transit",
        "in_transit",
        "in_transit",
        "info_received",
    ]
    assert (update.last_mile_carrier, update.last_mile_tracking_number) == (
        "usps",
        "92419900000033499522966220",
    )
    assert update.delivered_at is None


def test_out_for_delivery_with_imminent_window_abroad():
    update = ups.parse(fixture("out_for_delivery.json"), "1Z5629230309413682")

    assert update.status == "out_for_delivery"
    assert update.estimated_delivery == DeliveryWindow(date(2024, 3, 26), None, dtime(11, 30), dtime(13, 30))
    (scan,) = update.checkpoints
    assert scan.occurred_at == datetime(2024, 3, 26, 15, 58, tzinfo=UTC)
    assert (scan.location, scan.country) == ("Berlin, DE", "DE")


def _held_at_access_point(pickup_by) -> dict:
    """in_transit.json with the package held at an Access Point (status 161) until `pickup_by`."""
    payload = copy.deepcopy(fixture("in_transit.json"))
    package = payload["trackResponse"]["shipment"][0]["package"][0]
    package["currentStatus"] = {
        "type": "I",
        "code": "ZP",
        "statusCode": "161",
        "description": "At Access Point",
    }
    package["accessPointInformation"] = {"pickupByDate": pickup_by}
    return payload


@pytest.mark.parametrize(
    ("pickup_by", "deadline"),
    [
        ("20210217", date(2021, 2, 17)),  # UPS's date form everywhere else in the answer
        ("2021-02-17", date(2021, 2, 17)),
        ("17.02.2021", None),  # a form we cannot be sure of: no deadline rather than a wrong one
        ("20210231", None),
        ("", None),
        (None, None),
    ],
)
def test_a_parcel_held_at_an_access_point_has_its_pickup_deadline(pickup_by, deadline):
    update = ups.parse(_held_at_access_point(pickup_by), NUMBER)

    assert update.status == "available_for_pickup"
    assert update.pickup_deadline == deadline


def test_answers_without_access_point_information_have_no_pickup_deadline():
    assert ups.parse(fixture("in_transit.json"), NUMBER).pickup_deadline is None
    payload = fixture("in_transit.json")
    payload["trackResponse"]["shipment"][0]["package"][0]["accessPointInformation"] = "20210217"
    assert ups.parse(payload, NUMBER).pickup_deadline is None  # not the documented object


def test_exception_and_failed_attempt_codes():
    update = ups.parse(fixture("exception.json"), NUMBER)

    assert update.status == "exception"
    weather, attempt = update.checkpoints
    assert (weather.status, weather.status_code) == ("exception", "052")
    assert weather.occurred_at == datetime(2024, 1, 17, 6, 15, tzinfo=UTC)  # local 23:15 the day before
    assert (attempt.status, attempt.status_code) == ("failed_attempt", "022")
    assert update.estimated_delivery == DeliveryWindow(date(2024, 1, 17))


@pytest.mark.parametrize("name", ["not_found.json", "not_found_404.json", "invalid_number_400.json"])
def test_not_found_answers_are_a_normal_answer(name):
    update = ups.parse(fixture(name), "1Z5629230309413682")
    assert update.found is False and update.checkpoints == () and update.status is None


def test_odd_timestamps(caplog):
    caplog.set_level(logging.WARNING, logger="orders.carriers")
    update = ups.parse(fixture("odd_times.json"), NUMBER)

    dashed, day_only = update.checkpoints  # the scan with a time but no date is dropped
    assert dashed.occurred_at == datetime(2024, 3, 26, 15, 58, tzinfo=UTC)  # gmtDate as YYYY-MM-DD
    assert (day_only.occurred_at, day_only.zone_known) == (datetime(2024, 3, 26), False)
    assert "without a readable date" in caplog.text


def test_unknown_codes_fall_back_to_the_type_or_in_transit_and_are_logged(caplog):
    caplog.set_level(logging.WARNING, logger="orders.carriers")
    update = ups.parse(fixture("unknown_codes.json"), NUMBER)

    new_kind, new_delivery = update.checkpoints
    assert new_kind.status == "in_transit"
    assert new_kind.location == "US"  # placeholder city "N/A" blanked
    assert new_delivery.status == "delivered"  # unknown code 998, but type D
    assert "'998'" in caplog.text and "'Q'" in caplog.text
    assert all(r.name == "orders.carriers" for r in caplog.records)


@pytest.mark.parametrize("payload", [[], {"trackResponse": {}}, {"trackResponse": {"shipment": []}}, "x"])
def test_unreadable_answers_raise_bad_response(payload):
    with pytest.raises(BadResponse):
        ups.parse(payload, NUMBER)


# --- client against the sandbox -----------------------------------------------------------------


def test_token_is_fetched_once_and_cached(sandbox):
    client = sandbox_client(sandbox)
    client.track([NUMBER])
    client.track([NUMBER])
    sandbox_client(sandbox).track([NUMBER])  # another client of the same account shares the token

    assert len(sandbox.calls_to("ups", tokens=True)) == 1
    assert len(sandbox.calls_to("ups")) == 3


def test_expired_token_is_refreshed_once_on_401(sandbox):
    client = sandbox_client(sandbox)
    client.track([NUMBER])
    sandbox.expire_tokens("ups")

    update = client.track([NUMBER])[NUMBER]

    assert update.found
    assert len(sandbox.calls_to("ups", tokens=True)) == 2
    assert [c[1] for c in sandbox.calls_to("ups")] == ["GET", "GET", "GET"]  # one refused, one retried


def test_refused_credentials_raise_auth_failed(sandbox):
    with pytest.raises(AuthFailed):
        sandbox_client(sandbox, client_secret="").track([NUMBER])
    assert sandbox.calls_to("ups") == []


def test_unknown_number_is_not_found(sandbox):
    sandbox.unknown_numbers.add(NUMBER)
    assert sandbox_client(sandbox).track([NUMBER])[NUMBER].found is False


def test_rate_limit_carries_retry_after_seconds(sandbox):
    sandbox.fail_next("ups", 429, retry_after="120")
    with pytest.raises(RateLimited) as caught:
        sandbox_client(sandbox).track([NUMBER])
    assert caught.value.retry_after == 120.0 and caught.value.status_code == 429


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_carrier_unavailable(sandbox, status):
    sandbox.fail_next("ups", status)
    with pytest.raises(CarrierUnavailable) as caught:
        sandbox_client(sandbox).track([NUMBER])
    assert caught.value.status_code == status


def test_one_number_per_request():
    with pytest.raises(ValueError):
        mock_client(token_or(lambda r: httpx.Response(500))).track([NUMBER, "1Z5629230309413682"])


# --- client against hand-written answers --------------------------------------------------------


def test_requests_follow_the_spec():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/security/v1/oauth/token":
            return httpx.Response(200, json=fixture("token.json"))
        return httpx.Response(200, json=fixture("in_transit.json"))

    update = mock_client(handler).track([NUMBER])[NUMBER]

    token, track = seen
    assert token.method == "POST"
    assert token.headers["authorization"] == "Basic " + base64.b64encode(b"id:secret").decode()
    assert parse_qs(token.content.decode()) == {"grant_type": ["client_credentials"]}
    assert track.method == "GET" and track.url.path == f"/api/track/v1/details/{NUMBER}"
    assert track.headers["authorization"] == "Bearer " + fixture("token.json")["access_token"]
    assert track.headers["transId"] and track.headers["transactionSrc"]
    assert dict(track.url.params) == {
        "locale": "en_US",
        "returnSignature": "false",
        "returnMilestones": "false",
        "returnPOD": "false",
    }
    assert update.status == "in_transit"


def test_rate_limit_with_http_date_retry_after():
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    client = mock_client(token_or(lambda r: httpx.Response(429, headers={"Retry-After": later})))
    with pytest.raises(RateLimited) as caught:
        client.track([NUMBER])
    assert 3500 < caught.value.retry_after <= 3600


def test_timeout_is_carrier_unavailable():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(CarrierUnavailable):
        mock_client(token_or(slow)).track([NUMBER])


def test_documented_404_and_invalid_number_are_not_found():
    answers = iter(
        [
            httpx.Response(404, json=fixture("not_found_404.json")),
            httpx.Response(400, json=fixture("invalid_number_400.json")),
        ]
    )
    client = mock_client(token_or(lambda r: next(answers)))
    assert client.track([NUMBER])[NUMBER].found is False
    assert client.track([NUMBER])[NUMBER].found is False


def test_a_404_without_ups_error_body_is_not_taken_for_not_found():
    # A wrong UPS_API_URL answers 404 too; that must not mark parcels unknown.
    client = mock_client(token_or(lambda r: httpx.Response(404, text="<html>Not Found</html>")))
    with pytest.raises(BadResponse):
        client.track([NUMBER])


def test_401_even_with_a_fresh_token_is_auth_failed():
    tokens = []

    def handler(request):
        if request.url.path == "/security/v1/oauth/token":
            tokens.append(request)
            return httpx.Response(200, json=fixture("token.json"))
        return httpx.Response(401, json=fixture("auth_error_401.json"))

    with pytest.raises(AuthFailed):
        mock_client(handler).track([NUMBER])
    assert len(tokens) == 2


# --- round trip: what the sandbox renders, the adapter reads back --------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_sandbox_round_trip(sandbox, scenario):
    number = number_with_scenario(scenario)
    sandbox.start(number, NOW - timedelta(hours=1))  # the whole route has happened
    expected = sandbox.shipment("ups", number)

    update = sandbox_client(sandbox).track([number])[number]

    assert [(c.status, c.occurred_at, c.zone_known) for c in update.checkpoints] == [
        (e.status, e.occurred_at, True) for e in expected.events
    ]
    assert update.status == expected.latest.status
    if expected.delivered:
        assert update.delivered_at == expected.delivered.occurred_at
    assert update.checkpoints[0].location.startswith(expected.latest.place.city.upper())
    assert update.pickup_deadline == expected.pickup_deadline
    assert (update.pickup_deadline is not None) == (scenario == "pickup")


def test_sandbox_round_trip_mid_route_has_the_estimate(sandbox):
    number = number_with_scenario("delivered")
    sandbox.start(number, NOW - timedelta(minutes=5))
    expected = sandbox.shipment("ups", number)

    update = sandbox_client(sandbox).track([number])[number]

    assert len(update.checkpoints) == 3 and update.status == "in_transit"
    assert update.estimated_delivery.start_date == expected.estimated_delivery
    assert update.delivered_at is None


# --- the sandbox's own checks -------------------------------------------------------------------


def test_sandbox_answers_unknown_paths_with_404_and_wants_the_tracking_headers(sandbox):
    http = httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://sandbox.test/ups")
    token = sandbox_client(sandbox).token()
    bearer = {"Authorization": f"Bearer {token}"}

    assert http.get("/api/track/v2/details/" + NUMBER, headers=bearer).status_code == 404
    missing_headers = http.get("/api/track/v1/details/" + NUMBER, headers=bearer)
    assert missing_headers.status_code == 400
    assert missing_headers.json()["response"]["errors"][0]["code"]
    refused = http.get("/api/track/v1/details/" + NUMBER, headers={"transId": "1", "transactionSrc": "t"})
    assert refused.status_code == 401
    assert refused.json() == {
        "response": {"errors": [{"code": "250002", "message": "Invalid Authentication Information."}]}
    }
