"""The sandbox's FedEx: token and Track by Tracking Number endpoints in FedEx's own shapes.

``POST /oauth/token`` (form body with the client credentials) and ``POST /track/v1/trackingnumbers``
(bearer token, up to 30 numbers), as in FedEx's Track API v1 and Authorization API specs. Scan
dates carry the scan's local offset, as real answers do; an unknown number gets the documented
per-number ``TRACKING.TRACKINGNUMBER.NOTFOUND`` error inside an HTTP 200 answer.
"""

from __future__ import annotations

import uuid

from orders.carriers.sandbox import SandboxResponse
from orders.carriers.sandbox.route import Place, SandboxEvent, SandboxShipment

MAX_NUMBERS = 30

# route kind -> (eventType, exceptionCode, exceptionDescription, derivedStatusCode, derivedStatus,
# eventDescription, locationType), from FedEx's tracking status codes. The derived codes are as
# coarse as real answers: an out-for-delivery scan is derived "IT", a held parcel too.
FEDEX_EVENTS = {
    "label_created": ("OC", "", "", "IN", "Label created", "Shipment information sent to FedEx", "CUSTOMER"),
    "picked_up": ("PU", "", "", "PU", "Picked up", "Picked up", "PICKUP_LOCATION"),
    "departed": ("DP", "", "", "IT", "In transit", "Departed FedEx hub", "FEDEX_FACILITY"),
    "arrived": ("AR", "", "", "IT", "In transit", "Arrived at FedEx hub", "FEDEX_FACILITY"),
    "out_for_delivery": ("OD", "", "", "IT", "In transit", "On FedEx vehicle for delivery", "VEHICLE"),
    "delivered": ("DL", "", "", "DL", "Delivered", "Delivered", "DELIVERY_LOCATION"),
    "attempt_failed": (
        "DE",
        "08",
        "Customer not available or business closed",
        "DE",
        "Delivery exception",
        "Delivery exception",
        "DESTINATION_FEDEX_FACILITY",
    ),
    "held_at_pickup": (
        "HP",
        "",
        "Package available for pickup at FedEx location",
        "IT",
        "In transit",
        "Ready for recipient pickup",
        "DESTINATION_FEDEX_FACILITY",
    ),
    "exception": ("DY", "A52", "Package delayed", "DY", "Delay", "Delay", "FEDEX_FACILITY"),
}


def _errors(code: str, message: str, status: int) -> SandboxResponse:
    return SandboxResponse(
        status, {"transactionId": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}
    )


def _token(server, request) -> SandboxResponse:
    if request.method != "POST":
        return _errors("METHOD.NOT.ALLOWED", "Method not allowed.", 405)
    form = request.form()
    if (
        form.get("grant_type") != "client_credentials"
        or not form.get("client_id")
        or not form.get("client_secret")
    ):
        return _errors(
            "NOT.AUTHORIZED.ERROR",
            "The given client credentials were not valid. Please modify your request and try again.",
            401,
        )
    token, lifetime = server.issue_token("fedex")
    return SandboxResponse(
        200, {"access_token": token, "token_type": "bearer", "expires_in": lifetime, "scope": "CXS"}
    )


def _address(place: Place) -> dict:
    return {
        "streetLines": [""],
        "city": place.city.upper(),
        "stateOrProvinceCode": place.state,
        "postalCode": place.postal_code,
        "countryCode": place.country,
        "residential": False,
        "countryName": "United States" if place.country == "US" else place.country,
    }


def render_event(event: SandboxEvent) -> dict:
    kind, exc_code, exc_text, derived, derived_text, text, location_type = FEDEX_EVENTS[event.kind]
    scan_location = _address(event.place)
    if event.kind == "label_created":
        scan_location = {"streetLines": [""], "residential": False}  # real label events carry no place
    rendered = {
        "date": event.local_time.isoformat(),  # e.g. 2024-04-26T07:50:00-07:00
        "eventType": kind,
        "eventDescription": text,
        "exceptionCode": exc_code,
        "exceptionDescription": exc_text,
        "scanLocation": scan_location,
        "locationType": location_type,
        "derivedStatusCode": derived,
        "derivedStatus": derived_text,
    }
    if event.kind != "label_created":
        rendered["locationId"] = event.place.city[:4].upper()
    if event.kind == "exception":
        rendered["delayDetail"] = {"type": "WEATHER", "status": "DELAYED"}
    return rendered


def render_result(shipment: SandboxShipment) -> dict:
    number = shipment.tracking_number
    events = [render_event(e) for e in shipment.events]
    result: dict = {
        "trackingNumberInfo": {
            "trackingNumber": number,
            "trackingNumberUniqueId": f"12029~{number}~FDEG",
            "carrierCode": "FDXG",
        },
        "additionalTrackingInfo": {"nickname": "", "packageIdentifiers": [], "hasAssociatedShipments": False},
        "recipientInformation": {"address": _address(shipment.destination) | {"streetLines": []}},
        "dateAndTimes": [],
        "scanEvents": events,
        "serviceDetail": {"type": "FEDEX_GROUND", "description": "FedEx Ground", "shortDescription": "FG"},
        "estimatedDeliveryTimeWindow": {"window": {}},
    }
    latest = shipment.latest
    if latest is not None:
        kind, _, _, derived, derived_text, text, _ = FEDEX_EVENTS[latest.kind]
        result["latestStatusDetail"] = {
            "code": kind,
            "derivedCode": derived,
            "statusByLocale": derived_text,
            "description": text,
            "scanLocation": _address(latest.place),
        }
    picked_up = next((e for e in shipment.events if e.kind == "picked_up"), None)
    if picked_up is not None:
        result["dateAndTimes"].append({"type": "ACTUAL_PICKUP", "dateTime": picked_up.local_time.isoformat()})
    delivered = shipment.delivered
    if delivered is not None:
        result["dateAndTimes"].insert(
            0, {"type": "ACTUAL_DELIVERY", "dateTime": delivered.local_time.isoformat()}
        )
        result["deliveryDetails"] = {
            "deliveryAttempts": "0",
            "receivedByName": "",
            "locationDescription": "Front Door",
        }
    elif shipment.estimated_delivery is not None:
        day = shipment.estimated_delivery.isoformat()
        offset = _offset(shipment.destination)
        # FedEx sends estimates as a midnight with the destination's offset.
        result["dateAndTimes"].append({"type": "ESTIMATED_DELIVERY", "dateTime": f"{day}T00:00:00{offset}"})
    return result


def _offset(place: Place) -> str:
    minutes = int(place.utc_offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _not_found_result(number: str) -> dict:
    return {
        "trackingNumberInfo": {"trackingNumber": number, "trackingNumberUniqueId": "", "carrierCode": ""},
        "error": {
            "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
            "message": "Tracking number cannot be found. Please correct the tracking number and try again.",
        },
    }


def _track(server, request) -> SandboxResponse:
    if request.method != "POST":
        return _errors("METHOD.NOT.ALLOWED", "Method not allowed.", 405)
    if not server.token_ok("fedex", request.bearer()):
        return _errors(
            "NOT.AUTHORIZED.ERROR", "Access token expired. Please modify your request and try again.", 401
        )
    body = request.json()
    infos = body.get("trackingInfo") if isinstance(body, dict) else None
    numbers = []
    for info in infos if isinstance(infos, list) else []:
        number_info = info.get("trackingNumberInfo") if isinstance(info, dict) else None
        number = number_info.get("trackingNumber") if isinstance(number_info, dict) else None
        if isinstance(number, str) and number.strip():
            numbers.append(number.strip())
    if not numbers or (infos and len(numbers) != len(infos)):
        return _errors("TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number.", 400)
    if len(numbers) > MAX_NUMBERS:
        return _errors(
            "TRACKING.TRACKINGNUMBER.LIMIT.EXCEEDED",
            f"Tracking is limited to {MAX_NUMBERS} tracking numbers per request.",
            400,
        )
    complete, missing = [], False
    for number in numbers:
        shipment = server.shipment("fedex", number)
        missing = missing or shipment is None
        result = _not_found_result(number) if shipment is None else render_result(shipment)
        complete.append({"trackingNumber": number, "trackResults": [result]})
    output: dict = {"completeTrackResults": complete}
    if missing:
        output["alerts"] = "TRACKING.DATA.NOTFOUND -  Tracking data unavailable"  # a string, as sent
    return SandboxResponse(
        200,
        {
            "transactionId": str(uuid.uuid4()),
            "customerTransactionId": request.headers.get("x-customer-transaction-id", ""),
            "output": output,
        },
    )


def handle(server, request) -> SandboxResponse:
    if request.path == "/oauth/token":
        return _token(server, request)
    if request.path == "/track/v1/trackingnumbers":
        return _track(server, request)
    return _errors(
        "NOT.FOUND.ERROR",
        "The resource you requested is no longer available. Please modify your request and try again.",
        404,
    )
