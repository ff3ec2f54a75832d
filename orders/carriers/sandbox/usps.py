"""The sandbox's USPS: ``POST /oauth2/v3/token`` and ``GET /tracking/v3/tracking/{number}``.

Shapes follow USPS's OAuth 2 and Tracking 3.2.6 specs and the example answers in USPS/api-examples,
including the real quirks: ``eventTimestamp`` is local with no offset, ``GMTTimestamp``/``GMTOffset``
carry the instant, and the label-created scan has no GMT fields at all (as in USPS's README example).
"""

from __future__ import annotations

import time as _time
from urllib.parse import unquote

from orders.carriers.sandbox import SandboxRequest, SandboxResponse
from orders.carriers.sandbox.route import SandboxEvent, SandboxShipment

CARRIER = "usps"
TOKEN_PATH = "/oauth2/v3/token"  # noqa: S105 (a path, not a secret)
TRACK_PREFIX = "/tracking/v3/tracking/"

# route kind -> (eventCode, eventType, statusCategory)
EVENTS = {
    "label_created": ("GX", "Shipping Label Created, USPS Awaiting Item", "Pre-Shipment"),
    "picked_up": ("03", "USPS in possession of item", "Accepted"),
    "departed": ("T1", "Departed USPS Regional Facility", "In Transit"),
    "arrived": ("A1", "Arrived at USPS Regional Facility", "In Transit"),
    "out_for_delivery": ("OF", "Out for Delivery", "Out for Delivery"),
    "attempt_failed": ("54", "Notice Left (No Access to Delivery Location)", "Delivery Attempt"),
    "held_at_pickup": ("16", "Available for Pickup", "Available for Pickup"),
    "exception": ("05", "Undeliverable as Addressed", "Alert"),
    "delivered": ("01", "Delivered, Front Door/Porch", "Delivered"),
}
# Scans rendered without GMT fields, the way USPS's README example shows them.
WITHOUT_GMT = frozenset({"label_created"})


def _error(status: int, message: str, detail: str = "") -> dict:
    """USPS's standard ``ErrorMessage`` body."""
    return {
        "apiVersion": "v3",
        "error": {
            "code": str(status),
            "message": message,
            "errors": [{"status": str(status), "code": str(status), "title": message, "detail": detail}],
        },
    }


def _token(server, request: SandboxRequest) -> SandboxResponse:
    if request.method != "POST":
        return SandboxResponse(405, _error(405, "Method Not Allowed"))
    form = request.json() if "json" in request.headers.get("content-type", "") else request.form()
    form = form if isinstance(form, dict) else {}
    if form.get("grant_type") != "client_credentials":
        return SandboxResponse(
            400, {"error": "unsupported_grant_type", "error_description": "Only client_credentials here."}
        )
    if not form.get("client_id") or not form.get("client_secret"):
        return SandboxResponse(
            401,
            {
                "error": "invalid_client",
                "error_description": "Client authentication failed.",
                "error_uri": "https://datatracker.ietf.org/doc/html/rfc6749#page-45",
            },
            {"WWW-Authenticate": 'Bearer realm="https://api.usps.com"'},
        )
    token, lifetime = server.issue_token(CARRIER)
    return SandboxResponse(
        200,
        {
            "access_token": token,
            "token_type": "Bearer",
            "issued_at": int(_time.time() * 1000),
            "expires_in": lifetime,
            "status": "approved",
            "scope": "tracking",
            "issuer": "api.usps.com",
            "client_id": form["client_id"],
            "application_name": "sandbox",
        },
    )


def _event(event: SandboxEvent) -> dict:
    code, text, _ = EVENTS[event.kind]
    local = event.local_time
    rendered = {
        "eventType": text,
        "eventTimestamp": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "eventCountry": None,
        "eventCity": event.place.city.upper(),
        "eventState": event.place.state,
        "eventZIP": event.place.postal_code,
        "firm": None,
        "name": None,
        "authorizedAgent": "false",
        "eventCode": code,
    }
    if event.kind not in WITHOUT_GMT:
        offset = local.strftime("%z")
        rendered["GMTTimestamp"] = event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        rendered["GMTOffset"] = f"{offset[:3]}:{offset[3:]}"
    return rendered


def render(shipment: SandboxShipment) -> dict:
    """The ``TrackingDetails`` answer for ``shipment`` (``expand=DETAIL``)."""
    latest = shipment.latest
    _, latest_text, category = EVENTS[latest.kind] if latest else ("", "", "")
    body = {
        "trackingNumber": shipment.tracking_number,
        "mailClass": "USPS Ground Advantage<SUP>&#153;</SUP>",
        "mailType": "DOMESTIC_MAIL",
        "destinationCity": shipment.destination.city.upper(),
        "destinationState": shipment.destination.state,
        "destinationZIP": shipment.destination.postal_code,
        "emailEnabled": "true",
        "status": latest_text,
        "statusCategory": category,
        "statusSummary": latest_text,
        "trackingEvents": [_event(e) for e in shipment.events],
    }
    if shipment.estimated_delivery:
        body["expectedDeliveryTimeStamp"] = f"{shipment.estimated_delivery.isoformat()}T00:00:00"
    return body


def _track(server, request: SandboxRequest) -> SandboxResponse:
    if request.method != "GET":
        return SandboxResponse(405, _error(405, "Method Not Allowed"))
    if not server.token_ok(CARRIER, request.bearer()):
        return SandboxResponse(
            401,
            _error(401, "Unauthorized", "The OAuth access token is missing, invalid or expired."),
            {"WWW-Authenticate": 'Bearer realm="https://api.usps.com"'},
        )
    number = unquote(request.path[len(TRACK_PREFIX) :]).strip()
    shipment = server.shipment(CARRIER, number) if number else None
    if shipment is None:
        return SandboxResponse(
            404,
            _error(
                404,
                "Not Found",
                "Tracking is not available for this item. This may be because the tracking number is "
                "invalid; USPS has not yet received payment; USPS has not yet received the item; the "
                "item does not include tracking; or other reasons.",
            ),
        )
    return SandboxResponse(200, render(shipment))


def handle(server, request: SandboxRequest) -> SandboxResponse:
    if request.path == TOKEN_PATH:
        return _token(server, request)
    if request.path.startswith(TRACK_PREFIX) and "/" not in request.path[len(TRACK_PREFIX) :]:
        return _track(server, request)
    return SandboxResponse(404, _error(404, "Not Found", f"No resource at {request.path}"))
