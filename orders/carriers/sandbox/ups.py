"""The sandbox's UPS: token and Track API endpoints in UPS's own shapes.

``POST /security/v1/oauth/token`` (HTTP Basic client credentials) and
``GET /api/track/v1/details/{inquiryNumber}`` (bearer token, ``transId``/``transactionSrc``
headers), as in UPS-API/api-documentation ``OAuthClientCredentials.yaml`` and ``Tracking.yaml``.
Answers carry the quirks of real UPS answers: local ``date``/``time`` plus ``gmtDate``
(``YYYYMMDD``), ``gmtTime`` (``HH:MM:SS``) and ``gmtOffset``, and an unknown number answered with
HTTP 200 and warning ``TW0001``.
"""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import unquote

from orders.carriers.sandbox import SandboxResponse
from orders.carriers.sandbox.route import SandboxEvent, SandboxShipment

# route kind -> (activity type, activity code, status/description code, description). The codes
# are UPS's own: activity types, movement scans (PU, DP, AR, OT), delivery code F4, exception
# codes 48/ZP/2A and the three-digit status codes of the Track API appendix.
UPS_EVENTS = {
    "label_created": ("M", "MP", "003", "Shipper created a label, UPS has not received the package yet."),
    "picked_up": ("I", "PU", "038", "Pickup Scan"),
    "departed": ("I", "DP", "005", "Departed from Facility"),
    "arrived": ("I", "AR", "005", "Arrived at Facility"),
    "out_for_delivery": ("I", "OT", "021", "Out For Delivery Today"),
    "delivered": ("D", "F4", "011", "DELIVERED"),
    "attempt_failed": (
        "X",
        "48",
        "022",
        "The receiver was not available for delivery. We'll make a second attempt the next business day.",
    ),
    "held_at_pickup": (
        "X",
        "ZP",
        "161",
        "Delivered to UPS Access Point™ location and awaiting customer pickup.",
    ),
    "exception": (
        "X",
        "2A",
        "052",
        "Recent weather has caused delivery delays. Recovery efforts are under way to deliver your package.",
    ),
}
SIMPLE_TEXT = {
    "M": "Label Created",
    "I": "On the Way",
    "D": "Delivered",
    "X": "Delay",
}


def _errors(code: str, message: str) -> dict:
    return {"response": {"errors": [{"code": code, "message": message}]}}


def _basic_credentials(header: str) -> tuple[str, str]:
    if header[:6].lower() != "basic ":
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _token(server, request) -> SandboxResponse:
    if request.method != "POST":
        return SandboxResponse(405, _errors("10405", "Method not allowed"))
    client_id, secret = _basic_credentials(request.headers.get("authorization", ""))
    if not client_id or not secret:
        return SandboxResponse(401, _errors("10401", "ClientId is Invalid"))
    if request.form().get("grant_type") != "client_credentials":
        return SandboxResponse(400, _errors("10400", "Invalid/Missing grant_type"))
    token, lifetime = server.issue_token("ups")
    return SandboxResponse(
        200,
        {
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
            "client_id": client_id,
            "access_token": token,
            "scope": "",
            "expires_in": str(lifetime),  # a string, as the spec types it
            "refresh_count": "0",
            "status": "approved",
        },
    )


def render_activity(event: SandboxEvent) -> dict:
    kind, code, status_code, description = UPS_EVENTS[event.kind]
    local, utc = event.local_time, event.occurred_at
    offset = local.strftime("%z")
    place = event.place
    return {
        "location": {
            "address": {
                "city": place.city.upper(),
                "stateProvince": place.state,
                "postalCode": place.postal_code,
                "countryCode": place.country,
                "country": place.country,
            },
            "slic": "4" + place.postal_code[:3],
        },
        "status": {
            "type": kind,
            "description": description,
            "code": code,
            "statusCode": status_code,
        },
        "date": local.strftime("%Y%m%d"),
        "time": local.strftime("%H%M%S"),
        "gmtDate": utc.strftime("%Y%m%d"),
        "gmtOffset": f"{offset[:3]}:{offset[3:]}",
        "gmtTime": utc.strftime("%H:%M:%S"),
    }


def render_shipment(shipment: SandboxShipment) -> dict:
    package: dict = {
        "trackingNumber": shipment.tracking_number,
        "activity": [render_activity(e) for e in shipment.events],
        "packageCount": 1,
        "service": {"code": "003", "levelCode": "003", "description": "UPS Ground"},
    }
    latest = shipment.latest
    if latest is not None:
        kind, code, status_code, description = UPS_EVENTS[latest.kind]
        package["currentStatus"] = {
            "type": kind,
            "code": code,
            "statusCode": status_code,
            "description": description,
            "simplifiedTextDescription": SIMPLE_TEXT.get(kind, "On the Way"),
        }
    delivered = shipment.delivered
    if delivered is not None:
        local = delivered.local_time
        package["deliveryDate"] = [{"type": "DEL", "date": local.strftime("%Y%m%d")}]
        package["deliveryTime"] = {"type": "DEL", "endTime": local.strftime("%H%M%S")}
        package["deliveryInformation"] = {"location": "Front Door", "receivedBy": ""}
    elif shipment.estimated_delivery is not None:
        package["deliveryDate"] = [{"type": "SDD", "date": shipment.estimated_delivery.strftime("%Y%m%d")}]
        package["deliveryTime"] = {"type": "EOD", "endTime": "235900"}
    if shipment.pickup_deadline is not None:  # at an Access Point (the spec: a string, no format)
        package["accessPointInformation"] = {"pickupByDate": shipment.pickup_deadline.strftime("%Y%m%d")}
    return {
        "trackResponse": {"shipment": [{"inquiryNumber": shipment.tracking_number, "package": [package]}]}
    }


def _track(server, request, number: str) -> SandboxResponse:
    if request.method != "GET":
        return SandboxResponse(405, _errors("10405", "Method not allowed"))
    if not server.token_ok("ups", request.bearer()):
        return SandboxResponse(401, _errors("250002", "Invalid Authentication Information."))
    if not request.headers.get("transid") or not request.headers.get("transactionsrc"):
        return SandboxResponse(400, _errors("TV1001", "Missing or invalid transId/transactionSrc header"))
    if not 7 <= len(number) <= 34:
        return SandboxResponse(400, _errors("TV1002", "Invalid inquiry number"))
    shipment = server.shipment("ups", number)
    if shipment is None:
        # What UPS really does for an unknown number (its spec documents a 404).
        warning = {"code": "TW0001", "message": "Tracking Information Not Found"}
        return SandboxResponse(
            200, {"trackResponse": {"shipment": [{"inquiryNumber": number, "warnings": [warning]}]}}
        )
    return SandboxResponse(200, render_shipment(shipment))


def handle(server, request) -> SandboxResponse:
    if request.path == "/security/v1/oauth/token":
        return _token(server, request)
    prefix = "/api/track/v1/details/"
    if request.path.startswith(prefix) and len(request.path) > len(prefix):
        return _track(server, request, unquote(request.path[len(prefix) :]))
    return SandboxResponse(404, _errors("404", "Resource not found"))
