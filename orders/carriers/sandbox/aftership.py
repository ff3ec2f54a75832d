"""The sandbox's AfterShip Tracking API (2026-07): list trackings by number and create a tracking.

Like the real service it only knows numbers it has been given: ``GET …/trackings`` lists nothing
until ``POST …/trackings`` registered the number. A number the carrier does not know stays
``Pending`` with no checkpoints. ``checkpoint_time`` is the scan's local time with its offset,
except the label-created checkpoint, which has none (AfterShip passes on what the carrier gave).
"""

from __future__ import annotations

import hashlib
import threading

from orders.carriers.sandbox import SandboxRequest, SandboxResponse
from orders.carriers.sandbox.route import SandboxEvent, SandboxShipment

CARRIER = "aftership"
VERSION = "2026-07"
TRACKINGS_PATH = f"/tracking/{VERSION}/trackings"

# route kind -> (tag, subtag, subtag_message)
EVENTS = {
    "label_created": ("InfoReceived", "InfoReceived_001", "Info Received"),
    "picked_up": ("InTransit", "InTransit_002", "Acceptance scan"),
    "departed": ("InTransit", "InTransit_007", "Departure Scan"),
    "arrived": ("InTransit", "InTransit_003", "Arrival scan"),
    "out_for_delivery": ("OutForDelivery", "OutForDelivery_001", "Out for Delivery"),
    "attempt_failed": ("AttemptFail", "AttemptFail_001", "Failed Attempt"),
    "held_at_pickup": ("AvailableForPickup", "AvailableForPickup_001", "Available for pickup"),
    "exception": ("Exception", "Exception_005", "Delayed (External factors)"),
    "delivered": ("Delivered", "Delivered_001", "Delivered"),
}
WITHOUT_OFFSET = frozenset({"label_created"})
ALPHA3 = {"US": "USA", "DE": "DEU"}

_created_lock = threading.Lock()


def _meta(code: int, message: str, kind: str) -> dict:
    return {"code": code, "message": message, "type": kind}


def _answer(
    status: int, data: dict, code: int | None = None, message: str = "", kind: str = "OK"
) -> SandboxResponse:
    return SandboxResponse(status, {"meta": _meta(code or status, message or kind, kind), "data": data})


def _created(server) -> dict[str, str]:
    """Numbers registered with this sandbox, with their slug (state kept on the server object)."""
    with _created_lock:
        return server.__dict__.setdefault("_aftership_trackings", {})


def _tracking_id(number: str) -> str:
    return hashlib.sha256(number.encode()).hexdigest()[:32]


def _checkpoint(event: SandboxEvent, slug: str) -> dict:
    tag, subtag, subtag_message = EVENTS[event.kind]
    local = event.local_time
    when = local.strftime("%Y-%m-%dT%H:%M:%S") if event.kind in WITHOUT_OFFSET else local.isoformat()
    return {
        "slug": slug,
        "created_at": event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "checkpoint_time": when,
        "city": event.place.city,
        "state": event.place.state,
        "zip": event.place.postal_code,
        "location": f"{event.place.city}, {event.place.state}",
        "country_region": ALPHA3.get(event.place.country, ""),
        "message": event.description,
        "tag": tag,
        "subtag": subtag,
        "subtag_message": subtag_message,
        "raw_tag": event.kind.upper(),
        "source": "carrier",
    }


def render(number: str, slug: str, shipment: SandboxShipment | None) -> dict:
    """One tracking object; ``shipment`` None is a number the carrier never reported."""
    events = list(reversed(shipment.events)) if shipment else []  # AfterShip lists oldest first
    latest = shipment.latest if shipment else None
    tag, subtag, subtag_message = EVENTS[latest.kind] if latest else ("Pending", "Pending_001", "Pending")
    tracking = {
        "id": _tracking_id(number),
        "tracking_number": number,
        "slug": slug,
        "active": not (shipment and shipment.delivered),
        "tag": tag,
        "subtag": subtag,
        "subtag_message": subtag_message,
        "title": number,
        "checkpoints": [_checkpoint(e, slug) for e in events],
    }
    if shipment:
        tracking["destination_country_region"] = ALPHA3.get(shipment.destination.country, "")
        tracking["destination_city"] = shipment.destination.city
        if shipment.estimated_delivery:
            day = shipment.estimated_delivery.isoformat()
            tracking["courier_estimated_delivery_date"] = {
                "estimated_delivery_date": day,
                "estimated_delivery_date_min": None,
                "estimated_delivery_date_max": None,
            }
            tracking["latest_estimated_delivery"] = {
                "type": "specific",
                "source": "Carrier EDD",
                "datetime": day,
            }
        if shipment.delivered:
            tracking["shipment_delivery_date"] = shipment.delivered.local_time.isoformat()
    return tracking


def _list(server, request: SandboxRequest) -> SandboxResponse:
    numbers = [n.strip() for n in request.arg("tracking_numbers").split(",") if n.strip()]
    slugs = {s.strip() for s in request.arg("slug").split(",") if s.strip()}
    registered = _created(server)
    trackings = [
        render(n, registered[n], server.shipment(CARRIER, n))
        for n in numbers
        if n in registered and (not slugs or registered[n] in slugs)
    ]
    pagination = {"total": len(trackings), "next_cursor": "", "has_next_page": False}
    return _answer(200, {"pagination": pagination, "trackings": trackings})


def _create(server, request: SandboxRequest) -> SandboxResponse:
    body = request.json()
    if not isinstance(body, dict):
        return _answer(400, {}, 4001, "Invalid JSON data.", "BadRequest")
    number = str(body.get("tracking_number") or "").strip()
    if not number:
        return _answer(400, {}, 4007, "tracking_number is required.", "BadRequest")
    if not (4 <= len(number) <= 100):
        return _answer(400, {}, 4005, "The value of tracking_number is invalid.", "BadRequest")
    slug = str(body.get("slug") or "amazon")
    registered = _created(server)
    with _created_lock:
        if number in registered:
            return _answer(400, {}, 4003, "Tracking already exists.", "BadRequest")
        registered[number] = slug
    return _answer(201, render(number, slug, server.shipment(CARRIER, number)), kind="Created")


def handle(server, request: SandboxRequest) -> SandboxResponse:
    if request.path != TRACKINGS_PATH:
        return _answer(
            404, {}, 404, "The URI requested is invalid or the resource requested does not exist.", "NotFound"
        )
    if not request.headers.get("as-api-key", "").strip():
        return _answer(401, {}, 401, "The API key is invalid.", "Unauthorized")
    if request.method == "GET":
        return _list(server, request)
    if request.method == "POST":
        return _create(server, request)
    return _answer(405, {}, 405, "Method not allowed.", "MethodNotAllowed")
