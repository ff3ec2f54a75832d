"""DHL Shipment Tracking – Unified adapter (``GET /track/shipments?trackingNumber=…``).

Shapes from DHL's ``utapi-traking-api-1.4.1.yaml`` and the 1.5.8 document with its example answer
(both mirrored in CaptnCodr/dhl-cli ``Data/``). Authentication is the ``DHL-API-Key`` header; there
is no OAuth.

Quirks handled here:

* Timestamps come with ``Z``, with an offset (DHL's own note shows ``+2:00``), or with none; DHL's
  rule for the last is "interpreted as in the place of the respective shipment event", so those
  stay local with the zone marked unknown.
* ``statusCode`` is only pre-transit / transit / delivered / failure / unknown; the detail is in
  ``statusDetailed``, ``status`` and ``description`` text, matched against one keyword table.
* Without ``service`` the API may answer with another shipment that shares the number (DHL's help
  centre); the shipment whose id is the number (or lists it as a piece) is the one we want.
* Country codes can be ``UK`` (DHL's own example) where ISO says ``GB``.
* An unknown number is HTTP 404 with a problem body: a normal "not found" answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from orders.carriers.base import (
    BadResponse,
    CarrierClient,
    CheckpointUpdate,
    DeliveryWindow,
    NotConfigured,
    TrackingUpdate,
    clean_location,
    logger,
    not_found,
    parse_instant,
    utc_from_offset,
)

PRODUCTION_URL = "https://api-eu.dhl.com"

STATUS_CODES = {
    "pre-transit": "info_received",
    "transit": "in_transit",
    "delivered": "delivered",
    "failure": "exception",
    "unknown": "in_transit",
}

# (DHL statusCode or "*", words in statusDetailed/status/description, our status). The first row
# that matches wins, so narrower phrases come before the words they contain ("not delivered"
# before "delivered"). Text is compared lower-cased with "-" and "_" read as spaces.
STATUS_MAP: tuple[tuple[str, str, str], ...] = (
    ("*", "returned to shipper", "returned"),
    ("*", "returned to sender", "returned"),
    ("*", "return to sender", "returned"),
    ("*", "return to shipper", "returned"),
    ("*", "delivery attempt", "failed_attempt"),
    ("*", "attempted delivery", "failed_attempt"),
    ("*", "recipient not home", "failed_attempt"),
    ("*", "not delivered", "failed_attempt"),
    ("*", "could not be delivered", "failed_attempt"),
    ("*", "ready for pickup", "available_for_pickup"),
    ("*", "ready for collection", "available_for_pickup"),
    ("*", "available for pickup", "available_for_pickup"),
    ("*", "awaiting collection", "available_for_pickup"),
    ("*", "held at pickup", "available_for_pickup"),
    ("*", "out for delivery", "out_for_delivery"),
    ("*", "with delivery courier", "out_for_delivery"),
    ("*", "loaded onto the delivery vehicle", "out_for_delivery"),
    ("*", "label created", "info_received"),
    ("*", "shipment information received", "info_received"),
    ("*", "electronically announced", "info_received"),
    ("*", "awaiting shipment", "info_received"),
    ("delivered", "", "delivered"),
    ("*", "delivered", "delivered"),
    ("failure", "", "exception"),
    ("pre-transit", "", "info_received"),
    ("transit", "", "in_transit"),
)

_OFFSET = re.compile(r"^(?P<local>.+?T[\d:.]+)(?P<offset>[+-]\d{1,2}(?::?\d{2})?)$")


def _instant(value: str | None) -> tuple[datetime | None, bool]:
    """A DHL timestamp: ISO 8601 with ``Z``, with an offset (also the short ``+2:00``), or local."""
    parsed, zone_known = parse_instant(value)
    if parsed is not None:
        return parsed, zone_known
    match = _OFFSET.match((value or "").strip())
    if not match:
        return None, False
    local, _ = parse_instant(match["local"])
    if local is None:
        return None, False
    return utc_from_offset(local, match["offset"])


def _normal(text: str | None) -> str:
    return " ".join((text or "").lower().replace("-", " ").replace("_", " ").split())


def status_for(event: dict) -> str:
    """Our status for one DHL event; a ``statusCode`` outside the documented five is logged."""
    code = (event.get("statusCode") or "").strip().lower()
    text = " | ".join(
        _normal(event.get(field)) for field in ("statusDetailed", "status", "description") if event.get(field)
    )
    for row_code, words, status in STATUS_MAP:
        if row_code not in ("*", code):
            continue
        if words and words not in text:
            continue
        return status
    if code not in STATUS_CODES:
        logger.warning("dhl: unknown statusCode %r (%s), treated as in_transit", code, text)
    return "in_transit"


def _country(address: dict) -> str:
    code = (address.get("countryCode") or "").strip().upper()
    return "GB" if code == "UK" else code[:2]


def _checkpoint(event: dict) -> CheckpointUpdate | None:
    occurred_at, zone_known = _instant(event.get("timestamp"))
    if occurred_at is None:
        logger.warning("dhl: event without a readable timestamp skipped: %r", event.get("timestamp"))
        return None
    address = ((event.get("location") or {}).get("address")) or {}
    message = (event.get("description") or event.get("status") or "").strip()
    return CheckpointUpdate(
        occurred_at=occurred_at,
        zone_known=zone_known,
        status=status_for(event),
        status_code=(event.get("statusDetailed") or event.get("statusCode") or "").strip(),
        message=message,
        location=clean_location(address.get("addressLocality")),
        country=_country(address),
    )


def _local_parts(value: str | None) -> tuple[date | None, time | None]:
    """The date and wall-clock time a timestamp names, as written (an ETA is a local promise; moving
    it to UTC could change its day)."""
    text = (value or "").strip()
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None, None
    clock = text[11:19]
    try:
        return day, time.fromisoformat(clock) if clock else None
    except ValueError:
        return day, None


def _estimate(shipment: dict) -> DeliveryWindow | None:
    frame = shipment.get("estimatedDeliveryTimeFrame") or {}
    start_day, start_time = _local_parts(frame.get("estimatedFrom"))
    end_day, end_time = _local_parts(frame.get("estimatedThrough"))
    if start_day:
        return DeliveryWindow(
            start_date=start_day,
            end_date=end_day if end_day and end_day != start_day else None,
            start_time=start_time,
            end_time=end_time,
        )
    day, clock = _local_parts(shipment.get("estimatedTimeOfDelivery"))
    if day:
        return DeliveryWindow(start_date=day, end_time=clock if clock and clock != time(0, 0) else None)
    return None


def _same_number(a: str | None, b: str) -> bool:
    return "".join((a or "").split()).upper() == "".join(b.split()).upper()


def select_shipment(shipments: list, tracking_number: str) -> dict | None:
    """The shipment the number names: its id, else one that lists it as a piece or reference."""
    candidates = [s for s in shipments if isinstance(s, dict)]
    for shipment in candidates:
        if _same_number(shipment.get("id"), tracking_number):
            return shipment
    for shipment in candidates:
        details = shipment.get("details") or {}
        pieces = list(details.get("pieceIds") or [])
        pieces += [
            p for e in shipment.get("events") or [] if isinstance(e, dict) for p in e.get("pieceIds") or []
        ]
        references = [r.get("number") for r in details.get("references") or [] if isinstance(r, dict)]
        if any(_same_number(p, tracking_number) for p in pieces + references if isinstance(p, str)):
            return shipment
    if candidates:
        logger.warning(
            "dhl: answer for %s only has other shipments (%s); treated as not found",
            tracking_number,
            ", ".join(str(s.get("id")) for s in candidates),
        )
    return None


def is_not_found(payload) -> bool:
    """DHL's problem body for an unknown number (``{"status": 404, "title": "No result found"}``)."""
    return isinstance(payload, dict) and str(payload.get("status")) == "404" and "shipments" not in payload


def parse(payload: dict, tracking_number: str) -> TrackingUpdate:
    """A ``/track/shipments`` answer (or its 404 problem body) as a TrackingUpdate."""
    if is_not_found(payload):
        return not_found(tracking_number)
    if not isinstance(payload, dict) or not isinstance(payload.get("shipments"), list):
        raise BadResponse("dhl: no shipments list in the answer")
    shipment = select_shipment(payload["shipments"], tracking_number)
    if shipment is None:
        return not_found(tracking_number)
    checkpoints = []
    for event in shipment.get("events") or []:  # newest first in DHL's answers
        if isinstance(event, dict):
            checkpoint = _checkpoint(event)
            if checkpoint is not None:
                checkpoints.append(checkpoint)
    current = shipment.get("status") if isinstance(shipment.get("status"), dict) else None
    if current:
        status = status_for(current)
    elif checkpoints:
        status = checkpoints[0].status
    else:
        status = None
    delivered_at = None
    if status == "delivered":
        delivered = next((c for c in checkpoints if c.status == "delivered"), None)
        if delivered:
            delivered_at = delivered.occurred_at
        else:
            proof = (shipment.get("details") or {}).get("proofOfDelivery") or {}
            delivered_at = (
                _instant(proof.get("timestamp"))[0] or _instant((current or {}).get("timestamp"))[0]
            )
    raw = current or {}
    return TrackingUpdate(
        tracking_number=tracking_number,
        status=status,
        estimated_delivery=None if status == "delivered" else _estimate(shipment),
        delivered_at=delivered_at,
        checkpoints=tuple(checkpoints),
        raw_status=(raw.get("statusDetailed") or raw.get("status") or raw.get("statusCode") or "").strip(),
    )


@dataclass
class Client(CarrierClient):
    """DHL: API key in the ``DHL-API-Key`` header, one number per request. ``service`` (e.g.
    ``express``, ``parcel-de``) narrows the lookup when the account knows which DHL business it is."""

    service: str = ""

    code = "dhl"
    batch_size = 1
    uses_oauth = False

    def track(self, numbers: list[str]) -> dict[str, TrackingUpdate]:
        if not self.credentials.api_key:
            raise NotConfigured("dhl: no API key")
        updates = {}
        for number in numbers:
            params = {"trackingNumber": number}
            if self.service:
                params["service"] = self.service
            response = self.request(
                "GET", "/track/shipments", params=params, headers={"DHL-API-Key": self.credentials.api_key}
            )
            if response.status_code == 404:
                body = self.json(response)
                if not is_not_found(body):
                    raise BadResponse("dhl: HTTP 404 without the documented problem body", status_code=404)
                updates[number] = not_found(number)
                continue
            if response.status_code != 200:
                raise BadResponse(f"dhl: HTTP {response.status_code}", status_code=response.status_code)
            updates[number] = parse(self.json(response), number)
        return updates
