"""The sandbox's scripted routes: which scans a parcel has had by now.

A route is a list of steps, one every ``step`` after the parcel's start. The scenario (plain
delivery, a failed attempt, held for pickup, an exception) follows from the number, so a demo
order shows the same story every time. Events are carrier-neutral ``kind``s; each carrier module
in this package turns them into its own codes and JSON.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    country: str  # ISO 3166-1 alpha-2
    postal_code: str
    utc_offset: timedelta

    @property
    def tz(self) -> timezone:
        return timezone(self.utc_offset)


US_ROUTE = (
    Place("Louisville", "KY", "US", "40209", timedelta(hours=-5)),
    Place("Memphis", "TN", "US", "38118", timedelta(hours=-6)),
    Place("Denver", "CO", "US", "80239", timedelta(hours=-7)),
    Place("Portland", "OR", "US", "97211", timedelta(hours=-8)),
)
DE_ROUTE = (
    Place("Bonn", "", "DE", "53113", timedelta(hours=1)),
    Place("Leipzig", "", "DE", "04435", timedelta(hours=1)),
    Place("Hannover", "", "DE", "30179", timedelta(hours=1)),
    Place("Hamburg", "", "DE", "20095", timedelta(hours=1)),
)

# (kind, our TrackingStatus value, text, index into the route's places)
_START = [
    ("label_created", "info_received", "Shipping label created", 0),
    ("picked_up", "in_transit", "Picked up", 0),
    ("departed", "in_transit", "Departed facility", 1),
    ("arrived", "in_transit", "Arrived at facility", 2),
]
SCENARIOS = {
    "delivered": [
        ("out_for_delivery", "out_for_delivery", "Out for delivery", 3),
        ("delivered", "delivered", "Delivered", 3),
    ],
    "failed_attempt": [
        ("out_for_delivery", "out_for_delivery", "Out for delivery", 3),
        ("attempt_failed", "failed_attempt", "Delivery attempted, no access to delivery location", 3),
        ("out_for_delivery", "out_for_delivery", "Out for delivery", 3),
        ("delivered", "delivered", "Delivered", 3),
    ],
    "pickup": [
        ("out_for_delivery", "out_for_delivery", "Out for delivery", 3),
        ("held_at_pickup", "available_for_pickup", "Available for pickup at access point", 3),
    ],
    "exception": [
        ("exception", "exception", "Delay: severe weather conditions", 2),
        ("departed", "in_transit", "Departed facility", 2),
        ("out_for_delivery", "out_for_delivery", "Out for delivery", 3),
        ("delivered", "delivered", "Delivered", 3),
    ],
}
PICKUP_HOLD = timedelta(days=7)  # how long the sandbox's pickup points keep a parcel
_SCENARIO_BY_SEED = ["delivered"] * 6 + ["failed_attempt", "pickup", "exception", "delivered"]


def number_seed(number: str) -> int:
    """A stable small integer per number, so each parcel's route is the same on every run."""
    return int.from_bytes(hashlib.sha256(number.encode()).digest()[:4], "big")


def scenario_for(number: str) -> str:
    return _SCENARIO_BY_SEED[number_seed(number) % len(_SCENARIO_BY_SEED)]


@dataclass(frozen=True)
class SandboxEvent:
    kind: str
    status: str  # our TrackingStatus value
    description: str
    occurred_at: datetime  # aware UTC
    place: Place

    @property
    def local_time(self) -> datetime:
        """Wall-clock time at the scan's place (aware, with the place's offset)."""
        return self.occurred_at.astimezone(self.place.tz)


@dataclass(frozen=True)
class SandboxShipment:
    carrier: str
    tracking_number: str
    scenario: str
    events: tuple[SandboxEvent, ...]  # the scans that have happened by now, newest first
    estimated_delivery: date | None  # local date at the destination; None once delivered
    destination: Place

    @property
    def latest(self) -> SandboxEvent | None:
        return self.events[0] if self.events else None

    @property
    def delivered(self) -> SandboxEvent | None:
        return next((e for e in self.events if e.kind == "delivered"), None)

    @property
    def pickup_deadline(self) -> date | None:
        """Held at a pickup point: the last day to collect it (local date), else None."""
        latest = self.latest
        if latest is None or latest.kind != "held_at_pickup":
            return None
        return latest.local_time.date() + PICKUP_HOLD


def shipment_for(
    carrier: str, number: str, *, started: datetime, now: datetime, step: timedelta
) -> SandboxShipment:
    places = DE_ROUTE if carrier == "dhl" else US_ROUTE
    scenario = scenario_for(number)
    plan = _START + SCENARIOS[scenario]
    events = []
    for index, (kind, status, text, place) in enumerate(plan):
        at = started + step * index
        if at > now:
            break
        events.append(SandboxEvent(kind, status, text, at.replace(microsecond=0), places[place]))
    delivered = any(e.kind == "delivered" for e in events)
    planned_end = started + step * (len(plan) - 1)
    eta = None if delivered or scenario == "pickup" else planned_end.astimezone(places[-1].tz).date()
    return SandboxShipment(carrier, number, scenario, tuple(reversed(events)), eta, places[-1])
