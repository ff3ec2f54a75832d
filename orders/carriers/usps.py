"""USPS Tracking API v3 adapter (``GET /tracking/v3/tracking/{number}?expand=DETAIL``).

Shapes from USPS's published OpenAPI document "Package Tracking and Notification" 3.2.6 (mirrored in
karrioapi/karrio ``modules/connectors/usps/vendor/tracking.yaml``), the OAuth 2 spec (``POST
/oauth2/v3/token``, form or JSON body, ``grant_type=client_credentials``) and the example answers in
USPS/api-examples.

Quirks handled here:

* ``eventTimestamp`` is the local wall-clock time of the scan. It usually has no offset and USPS's
  own README example even appends ``Z`` to a local time, so a ``Z`` there is not trusted. The
  instant comes from ``GMTTimestamp`` (or ``eventTimestamp`` + ``GMTOffset``); without either the
  checkpoint keeps its local time with the zone marked unknown.
* In 2023 ``eventTimestamp`` briefly carried a time without a date (USPS/api-examples#15). Such an
  event can only be placed in time through ``GMTTimestamp``; otherwise it is skipped and logged,
  because a checkpoint on a guessed day would mislead the shopper.
* An unknown number is HTTP 404 with the standard error body: a normal "not found" answer.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from urllib.parse import quote

import iso3166

from orders.carriers.base import (
    AuthFailed,
    BadResponse,
    CarrierClient,
    CheckpointUpdate,
    DeliveryWindow,
    TrackingUpdate,
    clean_location,
    logger,
    not_found,
    parse_instant,
    utc_from_offset,
)

PRODUCTION_URL = "https://apis.usps.com"

# USPS event codes (Publication 199, appendix "USPS Domestic Tracking Scan Events"; the
# return-to-sender and notice-left groups as USPS Web Tools lists them) and, as a
# fallback for answers without events, the item's ``statusCategory``. Most specific first: the
# event code decides; the category only when there is no event.
STATUS_MAP: dict[str, str] = {
    # pre-shipment
    "MA": "info_received",  # Manifest Acknowledgement / Pre-Shipment Info Sent to USPS
    "GX": "info_received",  # Shipping Label Created, USPS Awaiting Item
    # moving
    "03": "in_transit",  # USPS in possession of item / Accepted
    "06": "in_transit",  # Forwarded
    "07": "in_transit",  # Arrival at Unit / Arrived at Post Office
    "10": "in_transit",  # Processed / Arrived at USPS Regional Origin Facility
    "19": "in_transit",  # DC eVS Arrive
    "41": "in_transit",  # Received at Opening Unit
    "42": "in_transit",  # USPS Handoff to Shipping Partner
    "71": "in_transit",  # Rescheduled to Next Delivery Day
    "80": "in_transit",  # Picked Up by Shipping Partner
    "81": "in_transit",  # Arrived Shipping Partner Facility
    "82": "in_transit",  # Departed Shipping Partner Facility
    "A1": "in_transit",  # Arrived at USPS Regional Facility
    "T1": "in_transit",  # Departed USPS Regional Facility
    "TL": "in_transit",  # In Transit to Next Facility
    "EF": "in_transit",  # Departed Sort Facility
    "SF": "in_transit",  # Departed Post Office
    "PC": "in_transit",  # Sorting / Processing Complete
    "OF": "out_for_delivery",  # Out for Delivery
    # delivery attempts
    "02": "failed_attempt",  # Attempted / Notice Left
    "30": "failed_attempt",  # Delivery Attempted - No Access to Delivery Location
    "51": "failed_attempt",  # Business Closed
    "52": "failed_attempt",  # Notice Left
    "53": "failed_attempt",  # Receptacle Blocked
    "54": "failed_attempt",  # Receptacle Full / Item Oversized
    "55": "failed_attempt",  # No Secure Location Available
    "56": "failed_attempt",  # No Authorized Recipient Available
    "57": "failed_attempt",  # Notice Left (a later variant of the above)
    # held for the recipient
    "14": "available_for_pickup",  # Arrival at Pickup Point
    "16": "available_for_pickup",  # Available for Pickup
    # problems
    "04": "exception",  # Refused
    "05": "exception",  # Undeliverable as Addressed
    "08": "exception",  # Missent
    "11": "exception",  # Dead Letter
    "15": "exception",  # Mis-shipped
    # Return to Sender, with its reason: the parcel is on its way back
    "09": "returned",  # Return to Sender
    "21": "returned",  # No Such Number
    "22": "returned",  # Insufficient Address
    "23": "returned",  # Moved, Left No Address
    "24": "returned",  # Forward Expired
    "25": "returned",  # Addressee Unknown
    "26": "returned",  # Vacant
    "27": "returned",  # Unclaimed
    "28": "returned",  # Deceased
    "29": "returned",  # Return to Sender - Other
    "31": "returned",  # Return to Sender - Not Picked Up
    "44": "returned",  # Customer Recall
    # delivered
    "01": "delivered",  # Delivered
    "17": "delivered",  # Picked Up by Agent
    "43": "delivered",  # Picked Up
    # statusCategory, when an answer has no events
    "Pre-Shipment": "info_received",
    "Accepted": "in_transit",
    "In Transit": "in_transit",
    "Out for Delivery": "out_for_delivery",
    "Delivery Attempt": "failed_attempt",
    "Available for Pickup": "available_for_pickup",
    "Alert": "exception",
    "Return to Sender": "returned",
    "Delivered": "delivered",
}

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([ap])?\.?\s*m?\.?\s*$", re.IGNORECASE)


def _clock(text: str | None) -> time | None:
    """A wall-clock time such as ``07:31:00``, ``7:31 am`` or ``13:58 PM``; None otherwise."""
    match = _CLOCK.match(text or "")
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    meridiem = (match[4] or "").lower()
    if meridiem and 1 <= hour <= 12:
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _date(value: str | None) -> date | None:
    """The calendar date a date or date-time string names, as written (no zone conversion)."""
    text = (value or "").strip()
    if len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _gmt(value: str | None) -> datetime | None:
    """``GMTTimestamp``: GMT by definition, with or without the ``Z``."""
    parsed, zone_known = parse_instant(value)
    if parsed is None:
        return None
    return parsed if zone_known else parsed.replace(tzinfo=UTC)


def _local(value: str | None) -> tuple[datetime | None, bool]:
    """``eventTimestamp`` as (datetime, zone_known). A trailing ``Z`` is dropped: USPS writes it on
    local times. A numeric offset is kept. A time without a date gives (None, False)."""
    text = (value or "").strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1]
    parsed, zone_known = parse_instant(text)
    return parsed, zone_known


def _occurred_at(event: dict) -> tuple[datetime | None, bool]:
    gmt = _gmt(event.get("GMTTimestamp"))
    if gmt is not None:
        return gmt, True
    local, zone_known = _local(event.get("eventTimestamp"))
    if local is None:
        return None, False
    if zone_known:
        return local, True
    return utc_from_offset(local, event.get("GMTOffset"))


def _country(event: dict) -> str:
    raw = (event.get("eventCountry") or "").strip()
    if not raw:
        # Domestic scans leave the country empty; a state or ZIP says it is the US.
        return "US" if (event.get("eventState") or event.get("eventZIP")) else ""
    found = iso3166.countries.get(raw, None)  # alpha-2, alpha-3 or the ISO name
    return found.alpha2 if found else ""


def status_for(code: str, *, context: str = "") -> str:
    """Our status for a USPS event code or status category; unknown ones are logged as in transit."""
    status = STATUS_MAP.get((code or "").strip())
    if status is None:
        logger.warning("usps: unknown status code %r (%s), treated as in_transit", code, context)
        return "in_transit"
    return status


def _checkpoint(event: dict, tracking_number: str) -> CheckpointUpdate | None:
    occurred_at, zone_known = _occurred_at(event)
    message = (event.get("eventType") or "").strip()
    if occurred_at is None:
        logger.warning(
            "usps: %s event %r has no usable date (eventTimestamp=%r), skipped",
            tracking_number,
            message,
            event.get("eventTimestamp"),
        )
        return None
    code = (event.get("eventCode") or "").strip()
    country = _country(event)
    return CheckpointUpdate(
        occurred_at=occurred_at,
        zone_known=zone_known,
        status=status_for(code, context=message),
        status_code=code,
        message=message,
        location=clean_location(event.get("eventCity"), event.get("eventState")),
        country=country,
    )


def _estimate(payload: dict) -> DeliveryWindow | None:
    """The most precise estimate the answer has: a predicted day with a time window, then the
    expected day, then the guaranteed day. Dates are the carrier's local dates, taken as written."""
    predicted = _date(payload.get("predictedDeliveryDate"))
    if predicted:
        return DeliveryWindow(
            start_date=predicted,
            start_time=_clock(payload.get("predictedDeliveryWindowStartTime")),
            end_time=_clock(payload.get("predictedDeliveryWindowEndTime")),
        )
    for field in ("expectedDeliveryTimeStamp", "expectedDeliveryDate"):
        expected = _date(payload.get(field))
        if expected:
            return DeliveryWindow(start_date=expected, end_time=_clock(payload.get("expectedDeliveryTime")))
    for field in ("guaranteedDeliveryTimeStamp", "guaranteedDeliveryDate"):
        guaranteed = _date(payload.get(field))
        if guaranteed:
            return DeliveryWindow(start_date=guaranteed)
    return None


def is_not_found(payload) -> bool:
    """The documented error body (``{"error": {"code": "404", ...}}``) for an unknown number."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return False
    error = payload["error"]
    codes = {str(error.get("code", ""))} | {
        str(e.get("status", "")) for e in error.get("errors") or [] if isinstance(e, dict)
    }
    return "404" in codes


def parse(payload: dict, tracking_number: str) -> TrackingUpdate:
    """A USPS ``TrackingDetails`` answer (or its 404 error body) as a TrackingUpdate."""
    if is_not_found(payload):
        return not_found(tracking_number)
    if not isinstance(payload, dict):
        raise BadResponse("usps: answer is not an object")
    events = payload.get("trackingEvents") or []
    if not isinstance(events, list):
        raise BadResponse("usps: trackingEvents is not a list")
    checkpoints = []
    for event in events:  # the API lists them newest first
        if isinstance(event, dict):
            checkpoint = _checkpoint(event, tracking_number)
            if checkpoint is not None:
                checkpoints.append(checkpoint)
    if checkpoints:
        status = checkpoints[0].status
    elif payload.get("statusCategory"):
        status = status_for(payload["statusCategory"], context="statusCategory")
    else:
        status = None
    delivered = next((c for c in checkpoints if c.status == "delivered"), None)
    return TrackingUpdate(
        tracking_number=tracking_number,
        status=status,
        estimated_delivery=None if status == "delivered" else _estimate(payload),
        delivered_at=delivered.occurred_at if delivered and status == "delivered" else None,
        checkpoints=tuple(checkpoints),
        raw_status=(payload.get("status") or payload.get("statusCategory") or "").strip(),
    )


class Client(CarrierClient):
    """USPS: OAuth 2 client credentials, one number per request."""

    code = "usps"
    batch_size = 1
    uses_oauth = True

    def fetch_token(self) -> tuple[str, float]:
        response = self.send(
            "POST",
            "/oauth2/v3/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
            },
        )
        if response.status_code in (400, 401, 403):
            raise AuthFailed(
                f"usps: token refused (HTTP {response.status_code})", status_code=response.status_code
            )
        body = self.json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not token:
            raise BadResponse(f"usps: no access_token in HTTP {response.status_code} answer")
        try:  # USPS's README example sends expires_in as a string
            lifetime = float(body.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        return token, lifetime or 3600.0

    def track(self, numbers: list[str]) -> dict[str, TrackingUpdate]:
        updates = {}
        for number in numbers:
            response = self.request(
                "GET", f"/tracking/v3/tracking/{quote(number, safe='')}", params={"expand": "DETAIL"}
            )
            if response.status_code == 404:
                body = self.json(response)
                if not is_not_found(body):
                    raise BadResponse("usps: HTTP 404 without the documented error body", status_code=404)
                updates[number] = not_found(number)
                continue
            if response.status_code != 200:
                raise BadResponse(f"usps: HTTP {response.status_code}", status_code=response.status_code)
            updates[number] = parse(self.json(response), number)
        return updates
