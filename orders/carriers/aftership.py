"""AfterShip Tracking API adapter: the aggregator for Amazon Logistics and every carrier we have no
direct adapter for.

Shapes from AfterShip's Tracking API reference (version ``2026-07``; models as in AfterShip's own
generated SDKs, e.g. AfterShip/tracking-sdk-nodejs ``src/model``). Every answer is wrapped as
``{"meta": {"code", "message", "type"}, "data": …}``; the key travels in the ``as-api-key`` header.

Since the 2024 API versions a tracking is read by id or through the list endpoint, so a number is
looked up with ``GET /tracking/2026-07/trackings?tracking_numbers=…&slug=…``. AfterShip only
tracks numbers it has been given: when the list is empty the number is registered with
``POST /tracking/2026-07/trackings`` and the created tracking is read from that answer.

A tracking AfterShip has no carrier data for (tag ``Pending`` or ``Expired`` with no checkpoints)
is "not found". ``checkpoint_time`` is the checkpoint's local time, with an offset or without one
(then the zone is unknown). Countries are ISO alpha-3 and become alpha-2.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass
from datetime import date, time

import iso3166

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
)

PRODUCTION_URL = "https://api.aftership.com"
API_VERSION = "2026-07"

# Our carrier codes -> AfterShip courier slugs. "other" lets AfterShip detect the courier.
SLUGS = {"amazon": "amazon", "ups": "ups", "fedex": "fedex", "usps": "usps", "dhl": "dhl", "other": ""}
CARRIER_FOR_SLUG = {slug: code for code, slug in SLUGS.items() if slug}

# AfterShip subtag (most specific) or tag -> our status. Subtags are looked up first; a subtag
# not listed falls back to its tag. Tags and subtags per AfterShip's "Delivery statuses" and
# "Delivery sub-statuses" references.
STATUS_MAP: dict[str, str] = {
    # subtags that say more than their tag
    "Exception_010": "exception",  # Returning to sender
    "Exception_011": "returned",  # Returned to sender
    "Delivered_002": "delivered",  # Picked up by the customer
    # tags
    "Pending": "pending",
    "InfoReceived": "info_received",
    "InTransit": "in_transit",
    "OutForDelivery": "out_for_delivery",
    "AttemptFail": "failed_attempt",
    "AvailableForPickup": "available_for_pickup",
    "Exception": "exception",
    "Delivered": "delivered",
}
# Tags that mean "AfterShip has nothing from the carrier" when no checkpoint exists.
NO_DATA_TAGS = frozenset({"Pending", "Expired"})


def status_for(tag: str | None, subtag: str | None = None) -> str | None:
    """Our status for an AfterShip tag/subtag; ``Expired`` gives None (no news, not a status);
    an unknown tag is logged and read as in transit."""
    for key in (subtag, tag):
        if key and key in STATUS_MAP:
            return STATUS_MAP[key]
    if tag == "Expired":
        return None
    logger.warning("aftership: unknown tag %r / subtag %r, treated as in_transit", tag, subtag)
    return "in_transit"


def _country(alpha3: str | None) -> str:
    found = iso3166.countries.get((alpha3 or "").strip(), None) if alpha3 else None
    return found.alpha2 if found else ""


def _checkpoint(checkpoint: dict) -> CheckpointUpdate | None:
    occurred_at, zone_known = parse_instant(checkpoint.get("checkpoint_time"))
    if occurred_at is None:
        logger.warning(
            "aftership: checkpoint without a readable time skipped: %r", checkpoint.get("checkpoint_time")
        )
        return None
    status = status_for(checkpoint.get("tag"), checkpoint.get("subtag")) or "in_transit"
    location = clean_location(checkpoint.get("city"), checkpoint.get("state")) or clean_location(
        checkpoint.get("location")
    )
    return CheckpointUpdate(
        occurred_at=occurred_at,
        zone_known=zone_known,
        status=status,
        status_code=(checkpoint.get("subtag") or checkpoint.get("tag") or "").strip(),
        message=(checkpoint.get("message") or checkpoint.get("subtag_message") or "").strip(),
        location=location,
        country=_country(checkpoint.get("country_region") or checkpoint.get("country_iso3")),
    )


def _day_and_time(value: str | None) -> tuple[date | None, time | None]:
    """An EDD as written: ``YYYY-MM-DD``, ``…THH:mm:ss`` or with an offset, all in the recipient's
    zone, so the date is taken literally."""
    text = (value or "").strip()
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None, None
    try:
        clock = time.fromisoformat(text[11:19]) if len(text) >= 19 else None
    except ValueError:
        clock = None
    return day, clock if clock != time(0, 0) else None


def _estimate(tracking: dict) -> DeliveryWindow | None:
    latest = tracking.get("latest_estimated_delivery") or {}
    start, start_time = _day_and_time(latest.get("datetime_min"))
    end, end_time = _day_and_time(latest.get("datetime_max"))
    if start:
        return DeliveryWindow(
            start_date=start, end_date=end if end != start else None, start_time=start_time, end_time=end_time
        )
    day, clock = _day_and_time(latest.get("datetime"))
    if day:
        return DeliveryWindow(start_date=day, end_time=clock)
    for field in (
        "courier_estimated_delivery_date",
        "aftership_estimated_delivery_date",
        "custom_estimated_delivery_date",
    ):
        estimate = tracking.get(field) or {}
        start, _ = _day_and_time(estimate.get("estimated_delivery_date_min"))
        end, _ = _day_and_time(estimate.get("estimated_delivery_date_max"))
        if start:
            return DeliveryWindow(start_date=start, end_date=end if end != start else None)
        day, clock = _day_and_time(estimate.get("estimated_delivery_date"))
        if day:
            return DeliveryWindow(start_date=day, end_time=clock)
    day, clock = _day_and_time(tracking.get("expected_delivery"))  # legacy API versions
    return DeliveryWindow(start_date=day, end_time=clock) if day else None


def _trackings(payload) -> list[dict]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise BadResponse("aftership: no data object in the answer")
    if isinstance(data.get("trackings"), list):
        return [t for t in data["trackings"] if isinstance(t, dict)]
    tracking = data.get("tracking", data)  # a single tracking (create/get by id)
    return [tracking] if isinstance(tracking, dict) and tracking.get("tracking_number") else []


def _same_number(a: str | None, b: str) -> bool:
    return "".join((a or "").split()).upper() == "".join(b.split()).upper()


def select_tracking(trackings: list[dict], tracking_number: str, slug: str = "") -> dict | None:
    for tracking in trackings:
        if _same_number(tracking.get("tracking_number"), tracking_number) and (
            not slug or tracking.get("slug") == slug
        ):
            return tracking
    return None


def parse_tracking(tracking: dict, tracking_number: str) -> TrackingUpdate:
    """One AfterShip tracking object as a TrackingUpdate."""
    checkpoints = []
    for checkpoint in tracking.get("checkpoints") or []:
        if isinstance(checkpoint, dict):
            update = _checkpoint(checkpoint)
            if update is not None:
                checkpoints.append(update)
    checkpoints.reverse()  # AfterShip lists checkpoints oldest first; ours are newest first
    tag = tracking.get("tag")
    if not checkpoints and (tag in NO_DATA_TAGS or not tag):
        return not_found(tracking_number)
    status = status_for(tag, tracking.get("subtag"))
    if status is None:  # Expired: keep what the last checkpoint said
        status = checkpoints[0].status
    delivered_at = None
    if status == "delivered":
        delivered = next((c for c in checkpoints if c.status == "delivered"), None)
        delivered_at = (
            delivered.occurred_at if delivered else parse_instant(tracking.get("shipment_delivery_date"))[0]
        )
    last_mile = tracking.get("last_mile") or {}
    last_mile_slug = last_mile.get("slug") or ""
    return TrackingUpdate(
        tracking_number=tracking_number,
        status=status,
        estimated_delivery=None if status == "delivered" else _estimate(tracking),
        delivered_at=delivered_at,
        checkpoints=tuple(checkpoints),
        last_mile_carrier=CARRIER_FOR_SLUG.get(last_mile_slug, last_mile_slug),
        last_mile_tracking_number=last_mile.get("tracking_number") or "",
        raw_status=(tracking.get("subtag_message") or tag or "").strip(),
    )


def parse(payload: dict, tracking_number: str, slug: str = "") -> TrackingUpdate:
    """A list or single-tracking answer as a TrackingUpdate; no matching tracking is "not found"."""
    tracking = select_tracking(_trackings(payload), tracking_number, slug)
    if tracking is None:
        return not_found(tracking_number)
    return parse_tracking(tracking, tracking_number)


@dataclass
class Client(CarrierClient):
    """AfterShip: ``as-api-key`` header; looks a number up and registers it when AfterShip does not
    track it yet. ``slug`` is the AfterShip courier (``amazon``); empty lets AfterShip detect it."""

    slug: str = ""

    code = "aftership"
    batch_size = 1
    uses_oauth = False

    def retry_after(self, response) -> float | None:
        """AfterShip's Tracking API announces the end of its window in ``X-RateLimit-Reset`` (a unix
        time); ``Retry-After`` is not always sent with its 429."""
        given = super().retry_after(response)
        if given is not None:
            return given
        reset = (response.headers.get("X-RateLimit-Reset") or "").strip()
        if not (reset.isascii() and reset.isdigit()):
            return None
        return max(0.0, float(reset) - clock.time())

    @property
    def _headers(self) -> dict:
        if not self.credentials.api_key:
            raise NotConfigured("aftership: no API key")
        return {"as-api-key": self.credentials.api_key}

    def _answer(self, response) -> dict:
        body = self.json(response)
        if response.status_code not in (200, 201):
            meta = body.get("meta", {}) if isinstance(body, dict) else {}
            raise BadResponse(
                f"aftership: HTTP {response.status_code} meta.code={meta.get('code')} {meta.get('message')}",
                status_code=response.status_code,
            )
        return body

    def _lookup(self, number: str) -> dict | None:
        params = {"tracking_numbers": number}
        if self.slug:
            params["slug"] = self.slug
        response = self.request(
            "GET", f"/tracking/{API_VERSION}/trackings", params=params, headers=self._headers
        )
        return select_tracking(_trackings(self._answer(response)), number, self.slug)

    def _create(self, number: str) -> dict | None:
        body = {"tracking_number": number}
        if self.slug:
            body["slug"] = self.slug
        response = self.request(
            "POST", f"/tracking/{API_VERSION}/trackings", json=body, headers=self._headers
        )
        if response.status_code == 400:
            meta = (self.json(response) or {}).get("meta") or {}
            if meta.get("code") == 4003:  # created meanwhile by another worker
                return self._lookup(number)
            if meta.get("code") in (4005, 4017):  # AfterShip says the number cannot exist
                return None
        return select_tracking(_trackings(self._answer(response)), number, self.slug)

    def track(self, numbers: list[str]) -> dict[str, TrackingUpdate]:
        updates = {}
        for number in numbers:
            tracking = self._lookup(number) or self._create(number)
            updates[number] = parse_tracking(tracking, number) if tracking else not_found(number)
        return updates
