"""UPS Track API adapter (``GET /api/track/v1/details/{inquiryNumber}``, OAuth client credentials).

Shapes follow UPS's published OpenAPI files (UPS-API/api-documentation: ``Tracking.yaml``,
``OAuthClientCredentials.yaml``). What real answers do that the spec does not say:

* An unknown number is answered with HTTP 200 and a ``TW0001`` warning ("Tracking Information Not
  Found"), not with the documented 404 -- both mean "not found".
* Activity ``date``/``time`` are local wall-clock values; ``gmtDate``/``gmtTime``/``gmtOffset``
  give the instant. ``gmtTime`` comes as ``HH:MM:SS`` in real answers and as ``74700`` (HMMSS) in
  the spec's example; ``gmtDate`` as ``YYYYMMDD`` or ``YYYY-MM-DD``. Without GMT fields the time
  stays local and zone-unknown.
* ``deliveryDate[]`` type ``SDD``/``RDD`` is the scheduled/rescheduled estimate; ``DEL`` is the day
  it *was* delivered, never an estimate.
* ``accessPointInformation.pickupByDate`` (a parcel at a UPS Access Point: the last day to collect
  it) is a string the spec gives no format for; read like UPS's other dates (``YYYYMMDD``, or
  ``YYYY-MM-DD``), anything else ignored.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from datetime import time as dtime
from urllib.parse import quote

from orders.carriers.base import (
    AuthFailed,
    BadResponse,
    CarrierClient,
    CheckpointUpdate,
    DeliveryWindow,
    TrackingUpdate,
    clean_location,
    not_found,
    utc_from_offset,
)

logger = logging.getLogger("orders.carriers")

# The host root: the token lives at /security/..., tracking at /api/track/... (UPS_API_URL is this root;
# UPS's test environment is https://wwwcie.ups.com).
PRODUCTION_URL = "https://onlinetools.ups.com"
TOKEN_PATH = "/security/v1/oauth/token"  # noqa: S105 -- a URL path, not a secret
TRACK_PATH = "/api/track/v1/details/{number}"
NOT_FOUND_CODES = frozenset({"TW0001"})  # "Tracking Information Not Found"
INVALID_NUMBER_CODES = frozenset({"TV1002"})  # "Invalid inquiry number": UPS will never know it

# UPS's most specific code for an event is the three-digit status/description code
# (``status.statusCode``, "API Codes" appendix of the Track API); the one-or-two-letter activity
# ``status.type`` is the fallback when the code is missing or new to us. Digits and letters never
# collide, so both live in this one table.
STATUS_MAP: dict[str, str] = {
    # activity types
    "M": "info_received",  # billing information received (label created)
    "MV": "exception",  # billing information voided
    "P": "in_transit",  # pickup
    "I": "in_transit",  # in transit, out for delivery
    "W": "in_transit",  # warehousing (freight)
    "DO": "in_transit",  # delivered to origin CFS (freight)
    "DD": "in_transit",  # delivered to destination CFS (freight)
    "U": "in_transit",  # updates (delivery date/time changed)
    "X": "exception",
    "D": "delivered",
    # status/description codes
    "003": "info_received",  # Shipment Ready for UPS
    "005": "in_transit",  # On the Way
    "006": "out_for_delivery",
    "007": "exception",  # Shipment Information Voided
    "010": "in_transit",
    "011": "delivered",
    "012": "in_transit",  # Clearance in Progress
    "013": "exception",
    "014": "in_transit",  # Clearance Completed
    "016": "in_transit",  # In Warehouse
    "017": "available_for_pickup",  # Held for Customer Pickup
    "018": "in_transit",  # Delivery Change Requested: Hold for Pickup
    "019": "in_transit",  # Held for Future Delivery
    "020": "in_transit",
    "021": "out_for_delivery",
    "022": "failed_attempt",  # First Attempt Made
    "023": "failed_attempt",  # Second Delivery Attempted
    "024": "failed_attempt",  # Final Attempt Made
    "025": "in_transit",
    "026": "delivered",  # Delivered by Local Post Office
    "027": "in_transit",  # Delivery Address Change Requested
    "028": "in_transit",  # Delivery Address Changed
    "029": "exception",  # Exception: Action Required
    "030": "exception",  # Local Post Office Exception
    "032": "exception",  # Adverse Weather May Cause Delay
    "033": "exception",  # Return to Sender Requested
    "034": "returned",  # Returned to Sender
    "035": "exception",  # Returning to Sender
    "036": "exception",  # Returning to Sender: In Transit
    "037": "out_for_delivery",
    "038": "in_transit",  # Picked Up by UPS
    "039": "in_transit",
    "040": "available_for_pickup",  # Ready for Customer Pickup
    "041": "in_transit",  # Service Upgrade Requested
    "042": "in_transit",  # Service Upgraded
    "043": "exception",  # Voided Pickup
    "044": "in_transit",  # On the Way to UPS
    "045": "in_transit",
    "046": "exception",  # Delay
    "047": "in_transit",
    "048": "exception",  # Delay
    "049": "exception",  # Delay: Action Required
    "050": "exception",  # Address Information Required
    "051": "exception",  # Delay: Emergency Situation or Severe Weather
    "052": "exception",  # Delay: Severe Weather
    "053": "exception",
    "054": "in_transit",  # Delivery Change Requested
    "055": "in_transit",  # Rescheduled Delivery
    "056": "in_transit",
    "057": "in_transit",  # On the Way to a Local UPS Access Point
    "058": "exception",  # Clearance Information Required
    "059": "exception",  # Damage Reported
    "060": "failed_attempt",  # Delivery Attempted
    "061": "failed_attempt",  # ... Adult Signature Required
    "062": "failed_attempt",  # ... Funds Required
    "063": "in_transit",  # Delivery Change Completed
    "064": "exception",  # Delivery Refused
    "065": "info_received",  # Pickup Attempted
    "066": "failed_attempt",  # Post Office Delivery Attempted
    "067": "returned",  # Returned to Sender by Post Office
    "068": "exception",  # Sent to Lost and Found
    "069": "exception",  # Unable to Deliver
    "070": "in_transit",  # Package not at UPS Access Point yet
    "071": "in_transit",  # Preparing for Delivery
    "072": "out_for_delivery",  # Loaded on Delivery Vehicle
    "073": "in_transit",  # In Transit to UPS Delivery Partner
    "074": "in_transit",  # UPS Delivery Partner has Shipment
    "075": "in_transit",  # Scheduled for Delivery
    "076": "exception",  # UPS Delivery Partner Exception
    "077": "info_received",  # Scheduled for Pickup Today
    "078": "out_for_delivery",  # Your Driver is Arriving Soon!
    "079": "info_received",  # Order Processed: In Transit to UPS
    "080": "info_received",  # Order Processed: Ready for UPS
    "081": "returned",  # Returned - Damage Reported
    "082": "in_transit",  # Delivery Instructions Received
    "083": "exception",  # Held
    "084": "in_transit",  # Cleared
    "085": "exception",  # Held for COD Payment
    "086": "exception",
    "087": "in_transit",
    "089": "out_for_delivery",
    "090": "exception",
    "091": "out_for_delivery",
    "092": "in_transit",  # Customs Clearance in Progress
    "093": "exception",  # Premier Recovery In Progress
    "094": "in_transit",  # Premier Recovery Completed
    "095": "in_transit",  # Additional Attempt Requested
    "096": "in_transit",
    "097": "in_transit",
    "098": "in_transit",
    "099": "in_transit",
    "100": "in_transit",  # Hold at UPS Access Point Confirmed
    "101": "in_transit",
    "102": "in_transit",
    "103": "in_transit",
    "104": "in_transit",
    "105": "in_transit",
    "106": "in_transit",
    "107": "in_transit",
    "108": "in_transit",
    "109": "in_transit",
    "110": "in_transit",
    "111": "in_transit",
    "112": "in_transit",
    "113": "in_transit",
    "114": "in_transit",
    "115": "in_transit",
    "116": "in_transit",
    "117": "in_transit",
    "118": "exception",  # Return to Sender Confirmed
    "119": "exception",  # Return to Sender Requested
    "120": "in_transit",
    "121": "in_transit",
    "122": "in_transit",
    "123": "exception",  # Pending Release From Non-UPS Broker
    "124": "exception",  # Clearance Information Needed
    "125": "exception",
    "126": "exception",  # Pending Government Agency Release
    "127": "exception",  # Investigation Closed
    "128": "exception",
    "129": "exception",  # Investigation Opened
    "130": "exception",  # Claim in Progress
    "131": "info_received",  # Final Pickup Attempted
    "132": "exception",  # Airport Security Delay
    "133": "in_transit",  # Return Label Left With Customer
    "134": "in_transit",  # Cleared Import Customs
    "135": "info_received",  # Second Pickup Attempted
    "136": "in_transit",  # Delivery Rescheduled for Saturday
    "137": "in_transit",  # Transferred to UPS Delivery Partner
    "138": "in_transit",  # Awaiting Scheduled Departure
    "139": "exception",  # Security Access Required
    "140": "exception",  # Claim Paid
    "141": "exception",  # Incomplete Documentation Received
    "142": "exception",  # Claim Voided
    "143": "delivered",  # Delivered to Agent
    "144": "available_for_pickup",  # Delivered to Post Office for Pickup
    "145": "failed_attempt",
    "146": "out_for_delivery",
    "147": "exception",  # Seized by Law Enforcement
    "149": "exception",  # Prohibited Contents, Package Destroyed
    "153": "in_transit",  # Updated Delivery Time
    "154": "in_transit",  # Updated Delivery Date
    "155": "delivered",  # Delivery Photo
    "156": "delivered",  # Commercial Inside Release
    "157": "info_received",  # Shipment Ready for UPS
    "158": "in_transit",
    "159": "in_transit",
    "160": "in_transit",  # We Have Your Package
    "161": "available_for_pickup",  # Delivered to UPS Access Point
    "162": "out_for_delivery",
    "164": "in_transit",
    "165": "in_transit",
    "166": "info_received",  # Shipment Ready for Roadie
    "167": "in_transit",  # Dropped off at UPS Store by Customer
    "168": "in_transit",  # Dropped off at Retail Location by Customer
    "169": "in_transit",  # Dropped off at a UPS Access Point by Customer
}


def map_status(status: dict | None, *, tracking_number: str = "") -> tuple[str, str]:
    """(our status, the code it was decided on) for a UPS ``Status`` object.

    The three-digit code decides; the activity type is the fallback. A code we do not know is
    logged, and the type still decides if it can, else ``in_transit``."""
    status = status if isinstance(status, dict) else {}
    code = _status_code(status)
    kind = str(status.get("type") or "").strip().upper()
    if code in STATUS_MAP:
        return STATUS_MAP[code], code
    if code:
        logger.warning("ups: unknown status code %r (type %r) for %s", code, kind, tracking_number)
    if kind in STATUS_MAP:
        return STATUS_MAP[kind], code or kind
    logger.warning("ups: unknown activity type %r for %s; taken as in_transit", kind, tracking_number)
    return "in_transit", code or kind


def _status_code(status: dict) -> str:
    """The three-digit status code, zero-padded ("11" and "011" are the same code)."""
    for value in (status.get("statusCode"), status.get("code")):
        text = str(value or "").strip()
        if text.isascii() and text.isdigit() and len(text) <= 3:
            return text.zfill(3)
    return ""


# --- times --------------------------------------------------------------------------------------


def _date(value) -> date | None:
    """``YYYYMMDD`` (documented) or ``YYYY-MM-DD`` (seen in ``gmtDate``)."""
    text = str(value or "").strip().replace("-", "")
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _time(value) -> dtime | None:
    """``HHMMSS``, ``HMMSS`` (the spec's ``74700``), ``HH:MM:SS``, ``HHMM`` or ``HH:MM``."""
    text = str(value or "").strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not all(
            p.isascii() and p.isdigit() and 1 <= len(p) <= 2 for p in parts
        ):
            return None
        numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    else:
        if not text.isascii() or not text.isdigit() or len(text) not in (4, 5, 6):
            return None
        text = text.zfill(6) if len(text) == 5 else text.ljust(6, "0")
        numbers = [int(text[:2]), int(text[2:4]), int(text[4:])]
    try:
        return dtime(*numbers)
    except ValueError:
        return None


def event_instant(activity: dict) -> tuple[datetime | None, bool]:
    """An activity's time as (datetime, zone_known): aware UTC from the GMT fields (or the local
    time and ``gmtOffset``), else the naive local time. (None, False) when it has no date."""
    local_day, local_time = _date(activity.get("date")), _time(activity.get("time"))
    gmt_day, gmt_time = _date(activity.get("gmtDate")), _time(activity.get("gmtTime"))
    if gmt_day and gmt_time:
        return datetime.combine(gmt_day, gmt_time, tzinfo=UTC), True
    if local_day is None:
        return None, False
    local = datetime.combine(local_day, local_time or dtime(0))
    if local_time is None:
        return local, False  # a day without a time: never pretend to know the instant
    return utc_from_offset(local, activity.get("gmtOffset"))


# --- parsing ------------------------------------------------------------------------------------


def _warning_codes(shipment: dict) -> set[str]:
    return {str(w.get("code") or "") for w in shipment.get("warnings") or [] if isinstance(w, dict)}


def error_codes(payload) -> set[str]:
    """Codes of UPS's error body ``{"response": {"errors": [{"code", "message"}]}}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("response"), dict):
        return set()
    errors = payload["response"].get("errors")
    return {str(e.get("code") or "") for e in errors or [] if isinstance(e, dict)}


def _checkpoint(activity: dict, tracking_number: str) -> CheckpointUpdate | None:
    occurred_at, zone_known = event_instant(activity)
    if occurred_at is None:
        logger.warning("ups: activity without a readable date for %s: %r", tracking_number, activity)
        return None
    status_obj = activity.get("status") if isinstance(activity.get("status"), dict) else {}
    status, code = map_status(status_obj, tracking_number=tracking_number)
    location = activity.get("location") if isinstance(activity.get("location"), dict) else {}
    address = location.get("address") if isinstance(location.get("address"), dict) else {}
    country = str(address.get("countryCode") or address.get("country") or "").strip().upper()
    return CheckpointUpdate(
        occurred_at=occurred_at,
        status=status,
        status_code=code,
        message=str(
            status_obj.get("description") or status_obj.get("simplifiedTextDescription") or ""
        ).strip(),
        location=clean_location(address.get("city"), address.get("stateProvince"), country),
        country=country if len(country) == 2 and country.isalpha() else "",
        zone_known=zone_known,
    )


def _estimate(package: dict) -> DeliveryWindow | None:
    dates = {
        str(d.get("type") or "").upper(): _date(d.get("date"))
        for d in package.get("deliveryDate") or []
        if isinstance(d, dict)
    }
    day = dates.get("RDD") or dates.get("SDD")  # a rescheduled date replaces the scheduled one
    if day is None:
        return None
    window = package.get("deliveryTime") if isinstance(package.get("deliveryTime"), dict) else {}
    kind = str(window.get("type") or "").upper()
    if kind in ("EDW", "CDW", "IDW"):
        return DeliveryWindow(day, None, _time(window.get("startTime")), _time(window.get("endTime")))
    if kind in ("CMT", "EOD"):  # committed by / end of day: only an end
        return DeliveryWindow(day, None, None, _time(window.get("endTime")))
    return DeliveryWindow(day)


def _delivered_at(package: dict, checkpoints: list[CheckpointUpdate]) -> datetime | None:
    # Activities come newest first (documented), so the first delivery scan is the last one.
    delivered = next((c.occurred_at for c in checkpoints if c.status == "delivered"), None)
    if delivered is not None:
        return delivered
    for entry in package.get("deliveryDate") or []:
        if isinstance(entry, dict) and str(entry.get("type") or "").upper() == "DEL":
            day = _date(entry.get("date"))
            if day is None:
                continue
            window = package.get("deliveryTime") if isinstance(package.get("deliveryTime"), dict) else {}
            at = _time(window.get("endTime")) if str(window.get("type") or "").upper() == "DEL" else None
            return datetime.combine(day, at or dtime(0))  # local: UPS gives no zone for these
    return None


def _pick_package(shipment: dict, tracking_number: str) -> dict | None:
    packages = [p for p in shipment.get("package") or [] if isinstance(p, dict)]
    wanted = tracking_number.replace(" ", "").upper()
    for package in packages:
        if str(package.get("trackingNumber") or "").replace(" ", "").upper() == wanted:
            return package
    return packages[0] if packages else None


def parse(payload, tracking_number: str) -> TrackingUpdate:
    """One Track API answer (HTTP 200 body) as a ``TrackingUpdate``."""
    if not isinstance(payload, dict):
        raise BadResponse("ups: answer is not a JSON object")
    if error_codes(payload) & (NOT_FOUND_CODES | INVALID_NUMBER_CODES):
        return not_found(tracking_number)
    track = payload.get("trackResponse")
    shipments = track.get("shipment") if isinstance(track, dict) else None
    if not isinstance(shipments, list) or not shipments or not isinstance(shipments[0], dict):
        raise BadResponse("ups: no trackResponse.shipment in the answer")
    shipment = shipments[0]
    package = _pick_package(shipment, tracking_number)
    if package is None:
        if not (_warning_codes(shipment) & NOT_FOUND_CODES):
            logger.warning("ups: answer for %s has no package and no TW0001: %r", tracking_number, shipment)
        return not_found(tracking_number)

    checkpoints = [
        cp
        for activity in package.get("activity") or []
        if isinstance(activity, dict) and (cp := _checkpoint(activity, tracking_number))
    ]
    current = package.get("currentStatus") if isinstance(package.get("currentStatus"), dict) else None
    if current and (_status_code(current) or current.get("type")):
        status, _ = map_status(current, tracking_number=tracking_number)
        raw_status = str(current.get("description") or current.get("simplifiedTextDescription") or "").strip()
    elif checkpoints:
        status, raw_status = checkpoints[0].status, checkpoints[0].message
    else:
        status, raw_status = None, ""
    delivered_at = _delivered_at(package, checkpoints) if status == "delivered" or _has_del(package) else None

    last_mile_carrier = last_mile_number = ""
    for alternate in package.get("alternateTrackingNumber") or []:
        # Mail Innovations / SurePost parcels are handed to USPS for the last mile.
        if isinstance(alternate, dict) and str(alternate.get("type") or "").upper() == "USPS_PIC":
            last_mile_carrier, last_mile_number = "usps", str(alternate.get("number") or "").strip()
            break

    return TrackingUpdate(
        tracking_number=tracking_number,
        found=True,
        status=status,
        estimated_delivery=None if status == "delivered" else _estimate(package),
        delivered_at=delivered_at,
        checkpoints=tuple(checkpoints),
        last_mile_carrier=last_mile_carrier,
        last_mile_tracking_number=last_mile_number,
        raw_status=raw_status,
        pickup_deadline=None if status == "delivered" else _pickup_by(package),
    )


def _pickup_by(package: dict) -> date | None:
    access_point = package.get("accessPointInformation")
    return _date(access_point.get("pickupByDate")) if isinstance(access_point, dict) else None


def _has_del(package: dict) -> bool:
    return any(
        isinstance(d, dict) and str(d.get("type") or "").upper() == "DEL"
        for d in package.get("deliveryDate") or []
    )


# --- HTTP client --------------------------------------------------------------------------------


class Client(CarrierClient):
    """UPS: one package per request; OAuth token via HTTP Basic client credentials."""

    code = "ups"
    batch_size = 1
    transaction_source = "statuspage"
    locale = "en_US"

    def fetch_token(self) -> tuple[str, float]:
        response = self.send(
            "POST",
            TOKEN_PATH,
            auth=(self.credentials.client_id, self.credentials.client_secret),
            data={"grant_type": "client_credentials"},
        )
        if response.status_code in (400, 401, 403):
            raise AuthFailed(
                f"ups: token refused (HTTP {response.status_code})", status_code=response.status_code
            )
        if response.status_code != 200:
            raise BadResponse(
                f"ups: token answer HTTP {response.status_code}", status_code=response.status_code
            )
        body = self.json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise BadResponse("ups: token answer without access_token")
        try:
            lifetime = float(body.get("expires_in") or 0)  # the spec types it as a string
        except (TypeError, ValueError):
            lifetime = 0.0
        return str(token), lifetime or 3600.0

    def track(self, numbers: list[str]) -> dict[str, TrackingUpdate]:
        if len(numbers) > self.batch_size:
            raise ValueError(f"ups tracks {self.batch_size} number per request, got {len(numbers)}")
        return {number: self.track_one(number) for number in numbers}

    def track_one(self, number: str) -> TrackingUpdate:
        response = self.request(
            "GET",
            TRACK_PATH.format(number=quote(number, safe="")),
            params={
                "locale": self.locale,
                "returnSignature": "false",
                "returnMilestones": "false",
                "returnPOD": "false",
            },
            headers={"transId": uuid.uuid4().hex, "transactionSrc": self.transaction_source},
        )
        if response.status_code == 200:
            return parse(self.json(response), number)
        if response.status_code in (400, 404):
            codes = error_codes(_json_or_none(response))
            if response.status_code == 404 and codes:
                return not_found(number)  # the documented 404 with UPS's error body
            if codes & (NOT_FOUND_CODES | INVALID_NUMBER_CODES):
                return not_found(number)
        raise BadResponse(f"ups: HTTP {response.status_code}", status_code=response.status_code)


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None
