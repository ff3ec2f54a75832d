"""FedEx Track API v1 adapter (``POST /track/v1/trackingnumbers``, OAuth ``POST /oauth/token``).

Shapes follow FedEx's published OpenAPI files (as vendored in karrioapi/karrio
``modules/connectors/fedex/vendor/track.json`` and ShipStream/fedex-rest-php-sdk
``resources/models/.raw/{track,authorization}/v1``). What real answers do that the spec does not say:

* Scan ``date`` carries an offset, except that some events (seen on pickups) come without one:
  those stay local and zone-unknown.
* An unknown number is not an HTTP error: its ``trackResults[]`` entry holds an ``error`` object
  (``TRACKING.TRACKINGNUMBER.NOTFOUND``) while the other numbers of the batch answer normally.
* ``derivedStatusCode`` is coarse (an out-for-delivery scan is derived ``IT``), so the event's own
  ``eventType`` decides first.
* Locations may be placeholders (``FEDEX_FACILITY``, ``DELIVERY_LOCATION``); they are blanked.
* One number can return several shipments (FedEx recycles numbers); the one with the newest scan
  is the shipment we follow.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from orders.carriers.base import (
    AuthFailed,
    BadResponse,
    CarrierClient,
    CheckpointUpdate,
    DeliveryWindow,
    TrackingUpdate,
    clean_location,
    not_found,
    parse_instant,
)

logger = logging.getLogger("orders.carriers")

PRODUCTION_URL = "https://apis.fedex.com"
TOKEN_PATH = "/oauth/token"  # noqa: S105 -- a URL path, not a secret
TRACK_PATH = "/track/v1/trackingnumbers"
MAX_NUMBERS = 30  # FedEx accepts up to 30 tracking numbers per request

# FedEx's most specific code for an event: ``eventType`` with its ``exceptionCode``
# ("DE:08"), then ``eventType``, then ``derivedStatusCode`` ("IN", "IT", "RL", ...). The codes
# come from FedEx's "Tracking Status Codes" table and the derived codes seen in real answers.
STATUS_MAP: dict[str, str] = {
    # delivery exceptions that are an attempt, not a problem with the parcel
    "DE:08": "failed_attempt",  # Customer not available or business closed
    "DE:015": "failed_attempt",
    "DE:15": "failed_attempt",
    # event types
    "OC": "info_received",  # Order created / shipment information sent to FedEx
    "RP": "info_received",  # Return label link emailed to return sender
    "LP": "info_received",
    "RG": "info_received",
    "RD": "info_received",
    "PU": "in_transit",  # Picked up
    "PX": "in_transit",
    "AA": "in_transit",
    "AC": "in_transit",
    "AD": "in_transit",  # At delivery
    "AE": "in_transit",  # Shipment arriving early
    "AF": "in_transit",
    "AO": "in_transit",
    "AP": "in_transit",
    "AR": "in_transit",
    "AX": "in_transit",  # At USPS facility
    "CC": "in_transit",  # Cleared customs
    "CH": "in_transit",
    "CP": "in_transit",  # Clearance in progress
    "DP": "in_transit",
    "DR": "in_transit",
    "DS": "in_transit",
    "EA": "in_transit",
    "EO": "in_transit",
    "EP": "in_transit",
    "FD": "in_transit",  # At FedEx destination
    "IT": "in_transit",
    "IX": "in_transit",
    "LO": "in_transit",
    "OF": "in_transit",
    "OW": "in_transit",
    "OX": "in_transit",  # Shipment information sent to USPS (SmartPost hand-over)
    "PF": "in_transit",
    "PL": "in_transit",
    "PM": "in_transit",
    "RC": "in_transit",
    "RM": "in_transit",
    "RR": "in_transit",
    "SF": "in_transit",
    "SP": "in_transit",
    "TR": "in_transit",
    "RL": "in_transit",  # derived: running late
    "OD": "out_for_delivery",
    "ED": "out_for_delivery",  # Enroute to delivery
    "HL": "available_for_pickup",  # Hold at location
    "HP": "available_for_pickup",  # Ready for recipient pickup
    "CA": "exception",  # Shipment cancelled
    "CD": "exception",  # Clearance delay
    "DD": "exception",  # Delivery delay
    "DE": "exception",  # Delivery exception
    "DY": "exception",  # Delay
    "PD": "exception",  # Pickup delay
    "SE": "exception",  # Shipment exception
    "RS": "returned",  # Return to shipper
    "DL": "delivered",
    # derived status codes not already above
    "IN": "info_received",  # Label created
}


def map_event(event: dict, *, tracking_number: str = "") -> tuple[str, str]:
    """(our status, the code it was decided on) for a scan event or a ``latestStatusDetail``."""
    event_type = str(event.get("eventType") or event.get("code") or "").strip().upper()
    exception = str(event.get("exceptionCode") or "").strip().upper()
    derived = str(event.get("derivedStatusCode") or event.get("derivedCode") or "").strip().upper()
    for key in (f"{event_type}:{exception}" if event_type and exception else "", event_type, derived):
        if key and key in STATUS_MAP:
            return STATUS_MAP[key], key
    logger.warning(
        "fedex: unknown event type %r (derived %r) for %s; taken as in_transit",
        event_type,
        derived,
        tracking_number,
    )
    return "in_transit", event_type or derived


def _address_location(address) -> tuple[str, str]:
    address = address if isinstance(address, dict) else {}
    country = str(address.get("countryCode") or "").strip().upper()
    location = clean_location(address.get("city"), address.get("stateOrProvinceCode"), country)
    return location, country if len(country) == 2 and country.isalpha() else ""


def _checkpoint(event: dict, tracking_number: str) -> CheckpointUpdate | None:
    occurred_at, zone_known = parse_instant(event.get("date"))
    if occurred_at is None:
        logger.warning("fedex: scan event without a readable date for %s: %r", tracking_number, event)
        return None
    status, code = map_event(event, tracking_number=tracking_number)
    description = str(event.get("eventDescription") or event.get("derivedStatus") or "").strip()
    detail = str(event.get("exceptionDescription") or "").strip()
    location, country = _address_location(event.get("scanLocation"))
    return CheckpointUpdate(
        occurred_at=occurred_at,
        status=status,
        status_code=code,
        message=f"{description}: {detail}" if description and detail else (description or detail),
        location=location,
        country=country,
        zone_known=zone_known,
    )


def _local(value) -> datetime | None:
    """A FedEx date-time as the wall-clock value it names (the offset, if any, dropped).

    Estimates are days and windows at the destination; converting ``2024-08-28T00:00:00-06:00`` to
    UTC would move the day."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=None)
    except ValueError:
        return None


def _window(window) -> DeliveryWindow | None:
    """A ``TimeWindow`` (``{"window": {"begins", "ends"}}``) as a DeliveryWindow, or None if empty."""
    rng = window.get("window") if isinstance(window, dict) else None
    if not isinstance(rng, dict):
        return None
    begins, ends = _local(rng.get("begins")), _local(rng.get("ends"))
    if begins is None and ends is None:
        return None
    first = begins or ends
    last = ends if begins and ends and ends.date() != begins.date() else None
    return DeliveryWindow(
        start_date=first.date(),
        end_date=last.date() if last else None,
        start_time=_time_or_none(begins) if begins and ends else None,
        end_time=_time_or_none(ends),
    )


def _time_or_none(moment: datetime | None):
    """Midnight in a FedEx date-time means "no time given" (dates are sent as ``T00:00:00``)."""
    if moment is None or (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return None
    return moment.time()


def _dates(result: dict) -> dict[str, str]:
    return {
        str(d.get("type") or "").upper(): d.get("dateTime")
        for d in result.get("dateAndTimes") or []
        if isinstance(d, dict) and d.get("dateTime")
    }


def _estimate(result: dict) -> DeliveryWindow | None:
    window = _window(result.get("estimatedDeliveryTimeWindow"))
    if window:
        return window
    dates = _dates(result)
    for kind in ("ESTIMATED_DELIVERY", "APPOINTMENT_DELIVERY", "COMMITMENT"):
        moment = _local(dates.get(kind))
        if moment:
            return DeliveryWindow(moment.date(), end_time=_time_or_none(moment))
    # The service's standard transit time is the last resort: FedEx's own promise for the service.
    return _window(result.get("standardTransitTimeWindow"))


def _newest_scan(result: dict) -> datetime:
    newest = datetime.min.replace(tzinfo=UTC)
    for event in result.get("scanEvents") or []:
        if isinstance(event, dict):
            moment, known = parse_instant(event.get("date"))
            if moment is not None:
                newest = max(newest, moment if known else moment.replace(tzinfo=UTC))
    return newest


def _last_mile(result: dict) -> tuple[str, str]:
    """FedEx Ground Economy (SmartPost) hands parcels to USPS; the USPS number is the partner's."""
    service = str((result.get("serviceDetail") or {}).get("type") or "").upper()
    commit = str((result.get("serviceCommitMessage") or {}).get("type") or "").upper()
    usps = "SMART_POST" in service or commit.startswith("USPS_")
    info = (
        result.get("additionalTrackingInfo") if isinstance(result.get("additionalTrackingInfo"), dict) else {}
    )
    for identifier in info.get("packageIdentifiers") or []:
        if not isinstance(identifier, dict) or identifier.get("type") != "PARTNER_CARRIER_NUMBER":
            continue
        values = identifier.get("values") or identifier.get("value") or []  # real answers say "values"
        values = [values] if isinstance(values, str) else values
        number = next((str(v).strip() for v in values if str(v).strip()), "")
        if number and usps:
            return "usps", number
    return "", ""


def _results_for(payload, tracking_number: str) -> list[dict] | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("output"), dict):
        raise BadResponse("fedex: answer without output")
    wanted = tracking_number.replace(" ", "").upper()
    for complete in payload["output"].get("completeTrackResults") or []:
        if not isinstance(complete, dict):
            continue
        if str(complete.get("trackingNumber") or "").replace(" ", "").upper() == wanted:
            return [r for r in complete.get("trackResults") or [] if isinstance(r, dict)]
    return None


def parse(payload, tracking_number: str) -> TrackingUpdate:
    """The part of a Track by Tracking Number answer about ``tracking_number``."""
    results = _results_for(payload, tracking_number)
    if results is None:
        logger.warning("fedex: answer has no result for %s", tracking_number)
        return not_found(tracking_number)
    usable = [r for r in results if not r.get("error")]
    if not usable:
        codes = [str((r.get("error") or {}).get("code") or "") for r in results]
        if not any(code.endswith("NOTFOUND") for code in codes):
            logger.warning("fedex: %s answered with errors %s", tracking_number, codes)
        return not_found(tracking_number)
    result = max(usable, key=_newest_scan)

    checkpoints = [
        cp
        for event in result.get("scanEvents") or []
        if isinstance(event, dict) and (cp := _checkpoint(event, tracking_number))
    ]
    latest = result.get("latestStatusDetail") if isinstance(result.get("latestStatusDetail"), dict) else {}
    if latest.get("code") or latest.get("derivedCode"):
        status, _ = map_event(latest, tracking_number=tracking_number)
        raw_status = str(latest.get("description") or latest.get("statusByLocale") or "").strip()
    elif checkpoints:
        status, raw_status = checkpoints[0].status, checkpoints[0].message
    else:
        status, raw_status = None, ""

    delivered_at = None
    actual, _ = parse_instant(_dates(result).get("ACTUAL_DELIVERY"))
    if actual is not None:
        delivered_at = actual
    elif status == "delivered":
        delivered_at = next((c.occurred_at for c in checkpoints if c.status == "delivered"), None)
    carrier, number = _last_mile(result)
    return TrackingUpdate(
        tracking_number=tracking_number,
        found=True,
        status=status,
        estimated_delivery=None if status == "delivered" else _estimate(result),
        delivered_at=delivered_at,
        checkpoints=tuple(checkpoints),
        last_mile_carrier=carrier,
        last_mile_tracking_number=number,
        raw_status=raw_status,
    )


def error_codes(payload) -> set[str]:
    """Codes of FedEx's error body ``{"transactionId", "errors": [{"code", "message"}]}``."""
    if not isinstance(payload, dict):
        return set()
    return {str(e.get("code") or "") for e in payload.get("errors") or [] if isinstance(e, dict)}


# --- HTTP client --------------------------------------------------------------------------------


class Client(CarrierClient):
    """FedEx: up to 30 numbers per request; OAuth token from a form-encoded client credentials POST."""

    code = "fedex"
    batch_size = MAX_NUMBERS
    locale = "en_US"

    def fetch_token(self) -> tuple[str, float]:
        response = self.send(
            "POST",
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
            },
        )
        if response.status_code in (400, 401, 403):
            raise AuthFailed(
                f"fedex: token refused (HTTP {response.status_code})", status_code=response.status_code
            )
        if response.status_code != 200:
            raise BadResponse(
                f"fedex: token answer HTTP {response.status_code}", status_code=response.status_code
            )
        body = self.json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise BadResponse("fedex: token answer without access_token")
        try:
            lifetime = float(body.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        return str(token), lifetime or 3600.0

    def track(self, numbers: list[str]) -> dict[str, TrackingUpdate]:
        if not numbers:
            return {}
        if len(numbers) > self.batch_size:
            raise ValueError(
                f"fedex tracks at most {self.batch_size} numbers per request, got {len(numbers)}"
            )
        response = self.request(
            "POST",
            TRACK_PATH,
            json={
                "includeDetailedScans": True,
                "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in numbers],
            },
            headers={"X-locale": self.locale, "x-customer-transaction-id": uuid.uuid4().hex},
        )
        if response.status_code == 200:
            payload = self.json(response)
            return {number: parse(payload, number) for number in numbers}
        if response.status_code in (400, 404):
            try:
                codes = error_codes(response.json())
            except ValueError:
                codes = set()
            if any(code.endswith("TRACKINGNUMBER.NOTFOUND") for code in codes):
                return {number: not_found(number) for number in numbers}
        raise BadResponse(f"fedex: HTTP {response.status_code}", status_code=response.status_code)
