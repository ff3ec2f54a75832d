"""The sandbox's DHL Shipment Tracking – Unified: ``GET /track/shipments?trackingNumber=…``.

Shapes follow DHL's unified tracking spec (1.4.1/1.5.8), with the real quirks: the label-created
and pickup scans carry no offset (local time, like DHL eCommerce's answers), the others carry the
place's offset; and, without ``service``, some numbers also bring back another business's older
shipment that shares the number (DHL help centre), listed first.
"""

from __future__ import annotations

from orders.carriers.sandbox import SandboxRequest, SandboxResponse
from orders.carriers.sandbox.route import SandboxEvent, SandboxShipment, number_seed

CARRIER = "dhl"
TRACK_PATH = "/track/shipments"

# route kind -> (statusCode, status title, description)
EVENTS = {
    "label_created": ("pre-transit", "pre-transit", "Shipment information received"),
    "picked_up": ("transit", "transit", "Shipment picked up"),
    "departed": ("transit", "transit", "Departed from DHL facility"),
    "arrived": ("transit", "transit", "Arrived at DHL Sort Facility"),
    "out_for_delivery": ("transit", "transit", "With delivery courier"),
    "attempt_failed": ("failure", "failure", "Delivery attempt: recipient not home"),
    "held_at_pickup": ("transit", "transit", "Shipment is ready for pickup at the DHL Parcelshop"),
    "exception": ("failure", "failure", "Delay due to severe weather conditions"),
    "delivered": ("delivered", "delivered", "Delivered"),
}
WITHOUT_OFFSET = frozenset({"label_created", "picked_up"})


def _problem(status: int, title: str, detail: str, instance: str = "") -> SandboxResponse:
    body = {"title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    return SandboxResponse(status, body, {"Content-Type": "application/problem+json"})


def _timestamp(event: SandboxEvent) -> str:
    local = event.local_time
    if event.kind in WITHOUT_OFFSET:
        return local.strftime("%Y-%m-%dT%H:%M:%S")
    return local.isoformat()


def _event(event: SandboxEvent) -> dict:
    code, status, description = EVENTS[event.kind]
    return {
        "timestamp": _timestamp(event),
        "location": {
            "address": {
                "countryCode": event.place.country,
                "postalCode": event.place.postal_code,
                "addressLocality": event.place.city,
            }
        },
        "statusCode": code,
        "status": status,
        "description": description,
    }


def render_shipment(shipment: SandboxShipment) -> dict:
    body = {
        "id": shipment.tracking_number,
        "service": "parcel-de",
        "origin": {"address": {"countryCode": "DE", "addressLocality": "Bonn"}},
        "destination": {
            "address": {
                "countryCode": shipment.destination.country,
                "addressLocality": shipment.destination.city,
            }
        },
        "details": {"product": {"productName": "DHL Paket"}, "totalNumberOfPieces": 1},
        "events": [_event(e) for e in shipment.events],
    }
    if shipment.latest:
        body["status"] = _event(shipment.latest)
    if shipment.estimated_delivery:
        day = shipment.estimated_delivery.isoformat()
        offset = shipment.destination.tz.utcoffset(None)
        hours = int(offset.total_seconds() // 3600)
        zone = f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"
        body["estimatedTimeOfDelivery"] = f"{day}T18:00:00{zone}"
        body["estimatedDeliveryTimeFrame"] = {
            "estimatedFrom": f"{day}T09:00:00{zone}",
            "estimatedThrough": f"{day}T18:00:00{zone}",
        }
        body["estimatedTimeOfDeliveryRemark"] = "By End of Day"
    return body


def _decoy(number: str) -> dict:
    """An older freight shipment that shares the number: what DHL returns without ``service``."""
    return {
        "id": f"{number}-1",
        "service": "freight",
        "status": {
            "timestamp": "2025-03-02T07:53:47Z",
            "statusCode": "delivered",
            "status": "delivered",
            "description": "Delivered",
        },
        "details": {"references": [{"number": "YZ3892406173", "type": "customer-reference"}]},
        "events": [],
    }


def handle(server, request: SandboxRequest) -> SandboxResponse:
    if request.path != TRACK_PATH:
        return _problem(404, "Not Found", f"No resource at {request.path}")
    if request.method != "GET":
        return _problem(405, "Method Not Allowed", "Only GET is supported.")
    if not request.headers.get("dhl-api-key", "").strip():
        return _problem(401, "Unauthorized", "Invalid or missing DHL-API-Key header.")
    number = request.arg("trackingNumber").strip()
    if not number:
        return _problem(400, "Bad Request", "Query parameter trackingNumber is required.")
    shipment = server.shipment(CARRIER, number)
    if shipment is None:
        return _problem(
            404, "No result found", "No shipment with given tracking number found.", f"/shipment/{number}"
        )
    shipments = [render_shipment(shipment)]
    if not request.arg("service") and number_seed(number) % 3 == 0:
        shipments.insert(0, _decoy(number))
    return SandboxResponse(200, {"url": f"/shipments?trackingNumber={number}", "shipments": shipments})
