"""USPS Tracking API v3 adapter: the parser on documented answers, the client against the sandbox
USPS (in-process) and against scripted transports for token caching, refresh and failures."""

from __future__ import annotations

import copy
import logging
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from orders.carriers import usps
from orders.carriers.base import (
    AuthFailed,
    BadResponse,
    CarrierUnavailable,
    DeliveryWindow,
    RateLimited,
)
from tests import carrier_kit

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NUMBER = "9400109104250532908587"


fixture = carrier_kit.fixtures("usps")
sandbox = carrier_kit.sandbox_at(NOW)
_fresh_tokens = carrier_kit.fresh_tokens


APP = {"client_id": "app-id", "client_secret": "app-secret"}


def sandbox_client(server, **credentials) -> usps.Client:
    transport = carrier_kit.sandbox_transport(server)
    return carrier_kit.client(usps, transport, f"{carrier_kit.SANDBOX_URL}/usps", **(APP | credentials))


def scripted_client(handler, **credentials) -> usps.Client:
    transport = httpx.MockTransport(handler)
    return carrier_kit.client(usps, transport, "https://apis.usps.test", **(APP | credentials))


# --- parser on documented answers ---------------------------------------------------------------


def test_delivered_answer_takes_instants_from_the_gmt_fields():
    update = usps.parse(fixture("delivered.json"), NUMBER)

    assert update.found and update.status == "delivered"
    assert update.raw_status == "Delivered, Parcel Locker"
    assert len(update.checkpoints) == 12
    delivered = update.checkpoints[0]
    assert delivered.occurred_at == datetime(2024, 11, 22, 18, 58, 40, tzinfo=UTC)
    assert delivered.zone_known and delivered.status_code == "01"
    assert delivered.location == "HERNANDO, FL" and delivered.country == "US"
    assert update.delivered_at == delivered.occurred_at
    assert update.estimated_delivery is None
    assert [c.status for c in update.checkpoints[:3]] == ["delivered", "out_for_delivery", "in_transit"]
    assert update.checkpoints[-1].status == "info_received"  # GX: label created
    no_place = update.checkpoints[4]  # "In Transit to Next Facility" without city or state
    assert no_place.location == "" and no_place.country == ""


def test_a_z_on_a_local_event_time_is_not_read_as_utc():
    """USPS's README answer: 07:31 am in Richmond written as 07:31:00Z, with no GMT fields."""
    update = usps.parse(fixture("accepted_readme.json"), "XXXXXXXXXXXXXXXXXXXX")

    (accepted,) = update.checkpoints
    assert accepted.occurred_at == datetime(2023, 8, 2, 7, 31)
    assert accepted.occurred_at.tzinfo is None and not accepted.zone_known
    assert update.status == "in_transit"


def test_gmt_offset_alone_places_a_local_time_and_no_gmt_keeps_it_local():
    update = usps.parse(fixture("in_transit_window.json"), "9205590164917312751089")

    arrived, accepted, label = update.checkpoints
    assert arrived.occurred_at == datetime(2022, 6, 16, 18, 15, tzinfo=UTC)  # 14:15 at -4:00
    assert arrived.zone_known
    assert accepted.occurred_at == datetime(2022, 6, 16, 17, 0, 12, tzinfo=UTC)
    assert label.occurred_at == datetime(2022, 6, 16, 2, 18) and not label.zone_known


def test_predicted_day_and_window_are_the_estimate():
    update = usps.parse(fixture("in_transit_window.json"), "9205590164917312751089")

    assert update.estimated_delivery == DeliveryWindow(
        start_date=date(2022, 6, 17), start_time=time(10, 15), end_time=time(14, 15)
    )
    assert update.delivered_at is None


def test_unknown_event_code_is_in_transit_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="orders.carriers"):
        update = usps.parse(fixture("in_transit_window.json"), "9205590164917312751089")

    assert update.checkpoints[1].status_code == "ZZ"
    assert update.checkpoints[1].status == "in_transit"
    assert "'ZZ'" in caplog.text


def test_notice_left_is_a_failed_attempt_with_next_expected_day():
    update = usps.parse(fixture("notice_left.json"), "9400111899223818218407")

    assert update.status == "failed_attempt"
    assert update.checkpoints[0].occurred_at == datetime(2024, 4, 5, 16, 55, 21, tzinfo=UTC)
    assert update.estimated_delivery == DeliveryWindow(start_date=date(2024, 4, 6))


@pytest.mark.parametrize(
    ("code", "event_type", "status"),
    [
        ("30", "Delivery Attempted - No Access to Delivery Location", "failed_attempt"),
        ("54", "Notice Left (Receptacle Full/Item Oversized)", "failed_attempt"),
        ("25", "Addressee Unknown", "returned"),
        ("31", "Unclaimed/Being Returned to Sender", "returned"),
        ("71", "Rescheduled to Next Delivery Day", "in_transit"),
    ],
)
def test_attempt_and_return_to_sender_codes_tell_the_shopper_what_happened(code, event_type, status, caplog):
    """An attempt the shopper can act on, or a parcel going back, never reads "in transit"."""
    answer = fixture("notice_left.json")
    answer["trackingEvents"][0].update(eventCode=code, eventType=event_type)
    with caplog.at_level(logging.WARNING, logger="orders.carriers"):
        update = usps.parse(answer, "9400111899223818218407")

    assert update.checkpoints[0].status == status
    assert update.status == status
    assert f"'{code}'" not in caplog.text  # a known code, not the unknown-code fallback


def test_time_without_date_uses_gmt_or_is_skipped_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="orders.carriers"):
        update = usps.parse(fixture("time_only_2023.json"), "9405511899223197428490")

    (departed,) = update.checkpoints
    assert departed.occurred_at == datetime(2023, 8, 4, 12, 52, 10, tzinfo=UTC)
    assert "22:14:00" in caplog.text  # the dateless event is reported, not stored on a guessed day


def test_documented_404_body_is_not_found():
    update = usps.parse(fixture("not_found.json"), "9400100000000000000000")

    assert not update.found and update.checkpoints == () and update.status is None


def test_status_category_counts_when_there_are_no_events():
    payload = {"trackingNumber": NUMBER, "statusCategory": "Pre-Shipment", "trackingEvents": []}

    assert usps.parse(payload, NUMBER).status == "info_received"


def test_answer_that_is_not_tracking_details_is_a_bad_response():
    with pytest.raises(BadResponse):
        usps.parse({"trackingEvents": "nope"}, NUMBER)


# --- client against the sandbox USPS --------------------------------------------------------------


def test_sandbox_round_trip_gives_back_the_route_statuses_and_instants(sandbox):
    sandbox.start(NUMBER, NOW - timedelta(hours=1))
    expected = sandbox.shipment("usps", NUMBER)

    update = sandbox_client(sandbox).track([NUMBER])[NUMBER]

    assert [c.status for c in update.checkpoints] == [e.status for e in expected.events]
    for checkpoint, event in zip(update.checkpoints, expected.events, strict=True):
        if event.kind == "label_created":  # rendered like USPS's README: local time, no GMT fields
            assert not checkpoint.zone_known
            assert checkpoint.occurred_at == event.local_time.replace(tzinfo=None)
        else:
            assert checkpoint.zone_known and checkpoint.occurred_at == event.occurred_at
    assert update.status == expected.events[0].status
    if expected.delivered:
        assert update.delivered_at == expected.delivered.occurred_at


def test_sandbox_estimate_comes_back_while_in_transit(sandbox):
    sandbox.start(NUMBER, NOW - timedelta(minutes=5))
    expected = sandbox.shipment("usps", NUMBER)

    update = sandbox_client(sandbox).track([NUMBER])[NUMBER]

    assert update.status == "in_transit"
    assert update.estimated_delivery == DeliveryWindow(start_date=expected.estimated_delivery)


def test_token_is_fetched_once_and_reused(sandbox):
    client = sandbox_client(sandbox)
    client.track([NUMBER])
    sandbox_client(sandbox).track([NUMBER])  # another client, same credentials: same cached token

    assert len(sandbox.calls_to("usps", tokens=True)) == 1
    assert len(sandbox.calls_to("usps")) == 2


def test_expired_token_is_refreshed_once_on_401(sandbox):
    client = sandbox_client(sandbox)
    client.track([NUMBER])
    sandbox.expire_tokens("usps")

    update = client.track([NUMBER])[NUMBER]

    assert update.found
    assert len(sandbox.calls_to("usps", tokens=True)) == 2


def test_refused_credentials_are_auth_failed(sandbox):
    with pytest.raises(AuthFailed):
        sandbox_client(sandbox, client_secret="").track([NUMBER])


def test_unknown_number_is_not_found_not_an_error(sandbox):
    sandbox.unknown_numbers.add("9400100000000000000000")

    update = sandbox_client(sandbox).track(["9400100000000000000000"])["9400100000000000000000"]

    assert not update.found


def test_rate_limit_carries_retry_after(sandbox):
    sandbox.fail_next("usps", 429, retry_after="30")

    with pytest.raises(RateLimited) as raised:
        sandbox_client(sandbox).track([NUMBER])

    assert raised.value.retry_after == 30


def test_service_unavailable_is_carrier_unavailable(sandbox):
    sandbox.fail_next("usps", 503, retry_after="120")

    with pytest.raises(CarrierUnavailable) as raised:
        sandbox_client(sandbox).track([NUMBER])

    assert raised.value.status_code == 503 and raised.value.retry_after == 120


def test_sandbox_answers_unknown_paths_with_404(sandbox):
    with httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://sandbox.test") as http:
        assert http.get("/usps/tracking/v3/nothing").status_code == 404
        assert http.get(f"/usps/tracking/v3/tracking/{NUMBER}").status_code == 401  # no token


# --- client against scripted transports ----------------------------------------------------------


def test_token_request_is_a_client_credentials_form():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v3/token":
            seen.append((request.headers["content-type"], parse_qs(request.content.decode())))
            return httpx.Response(
                200, json={"access_token": "t1", "token_type": "Bearer", "expires_in": "28799"}
            )
        assert request.headers["authorization"] == "Bearer t1"
        assert request.url.params["expand"] == "DETAIL"
        return httpx.Response(200, json=fixture("delivered.json"))

    scripted_client(handler).track([NUMBER])

    ((content_type, form),) = seen
    assert content_type == "application/x-www-form-urlencoded"
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["app-id"],
        "client_secret": ["app-secret"],
    }


def test_401_after_a_fresh_token_is_auth_failed():
    tokens = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v3/token":
            tokens.append(1)
            return httpx.Response(200, json={"access_token": f"t{len(tokens)}", "expires_in": 3600})
        return httpx.Response(
            401, json={"apiVersion": "v3", "error": {"code": "401", "message": "Unauthorized"}}
        )

    with pytest.raises(AuthFailed):
        scripted_client(handler).track([NUMBER])
    assert len(tokens) == 2  # the cached token, then exactly one refresh


def test_timeout_is_carrier_unavailable():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v3/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(CarrierUnavailable, match="timed out"):
        scripted_client(handler).track([NUMBER])


def test_404_without_the_documented_body_is_a_bad_response():
    """A wrong USPS_API_URL must not make every parcel look unknown."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v3/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(404, json={"message": "no route"})

    with pytest.raises(BadResponse):
        scripted_client(handler).track([NUMBER])


def test_expired_token_lifetime_is_renewed_before_use():
    tokens = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v3/token":
            tokens.append(1)
            return httpx.Response(200, json={"access_token": "t", "expires_in": 30})  # under the 60 s margin
        return httpx.Response(200, json=copy.deepcopy(fixture("delivered.json")))

    client = scripted_client(handler)
    client.track([NUMBER])
    client.track([NUMBER])

    assert len(tokens) == 2
