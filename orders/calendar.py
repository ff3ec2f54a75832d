"""An iCalendar file for a shipment: the expected delivery window, or the last day to pick it up.

Built with the `icalendar` library; all-day events (a delivery window has no hours). Nothing
personal leaves below full access: the pickup place is added only for full access.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import icalendar
from django.utils.translation import gettext as _

from orders.models import Tracking, TrackingStatus


def has_event(tracking: Tracking) -> bool:
    return bool(_pickup_deadline(tracking) or _window(tracking))


def _pickup_deadline(tracking: Tracking):
    return tracking.pickup_deadline if tracking.status == TrackingStatus.AVAILABLE_FOR_PICKUP else None


def _window(tracking: Tracking):
    if tracking.is_return or not tracking.expects_delivery or tracking.estimated_delivery_date is None:
        return None
    if tracking.order.is_cancelled:
        return None
    return (
        tracking.estimated_delivery_date,
        tracking.estimated_delivery_date_end or tracking.estimated_delivery_date,
    )


def shipment_calendar(tracking: Tracking, *, shop: str, full: bool) -> bytes:
    """The .ics bytes for one shipment (call inside translation.override)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//statuspage//order status//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    deadline = _pickup_deadline(tracking)
    carrier = tracking.carrier_info.name
    if deadline is not None:
        kind, start, end = "pickup", deadline, deadline
        event.add("summary", _("Last day to pick up your parcel from %(shop)s") % {"shop": shop})
        if full and tracking.has_pickup_location:
            where = ", ".join(
                p for p in (tracking.pickup_location_name, tracking.pickup_location_address) if p
            )
            event.add("location", where)
    else:
        kind, (start, end) = "delivery", _window(tracking)
        event.add("summary", _("Delivery from %(shop)s") % {"shop": shop})
    description = f"{carrier} {tracking.tracking_number}"
    if tracking.tracking_url:
        description += f"\n{tracking.tracking_url}"
    event.add("description", description)
    identity = f"{tracking.order.public_id}:{tracking.carrier}:{tracking.tracking_number}:{kind}"
    event.add("uid", hashlib.sha256(identity.encode()).hexdigest()[:32] + "@statuspage")
    event.add("dtstamp", tracking.updated_at)
    event.add("dtstart", start)
    event.add("dtend", end + timedelta(days=1))  # all-day events end the day after (RFC 5545)
    event.add("transp", "TRANSPARENT")
    calendar.add_component(event)
    return calendar.to_ical()
