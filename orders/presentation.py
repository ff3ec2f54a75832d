"""What the shopper is told, in words: shared by the status page, the PNG widget and the info API.

Call these inside `translation.override(lang)` and, for the shop's formats and time zone,
`orders.formatting.localized(account, lang)`; dates come out in that language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from urllib.parse import quote

from babel.dates import format_time
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from orders import formatting
from orders.models import PROGRESS_STEPS, EstimateChange, Order, OrderStatus, Tracking, TrackingStatus

TONE_FOR_STATUS = {
    TrackingStatus.DELIVERED: "success",
    TrackingStatus.FAILED_ATTEMPT: "warning",
    TrackingStatus.AVAILABLE_FOR_PICKUP: "warning",
    TrackingStatus.EXCEPTION: "danger",
    TrackingStatus.RETURNED: "danger",
}


@dataclass(frozen=True)
class Headline:
    key: str  # stable machine name: "arriving", "out_for_delivery", "delivered", …
    short: str  # "Delivered" — for tight spaces (the widget)
    text: str  # "Delivered" — for the page
    tone: str  # one of orders.widget.render.TONES: normal, success, warning, danger, muted
    # The line under the headline: what the headline does not already say (never its words).
    subline: str = ""


def short_date(value: date | datetime | None) -> str:
    """ "Tue 24 Nov" in the active language and the shop's locale (see orders.formatting)."""
    return formatting.short_date(value)


def date_time(value: datetime | None, *, with_zone: bool | None = None) -> str:
    """ "Tue 24 Nov, 14:05" in the active language, the shop's locale and time zone; a naive
    value (a carrier's local time without a zone) is shown as given."""
    return formatting.date_time(value, with_zone=with_zone)


def step_labels() -> list[str]:
    return [str(label) for _step, label in PROGRESS_STEPS]


# Short step labels for narrow widgets; the widget measures which set fits.
SHORT_STEP_LABELS = (
    pgettext_lazy("short progress step", "Ordered"),
    pgettext_lazy("short progress step", "Label"),
    pgettext_lazy("short progress step", "On way"),
    pgettext_lazy("short progress step", "Out"),
    pgettext_lazy("short progress step", "Done"),
)


def short_step_labels() -> list[str]:
    return [str(label) for label in SHORT_STEP_LABELS]


_TRACKING_STATUSES = frozenset(TrackingStatus.values)


def status_text(status: str) -> str:
    return str(TrackingStatus(status).label) if status in _TRACKING_STATUSES else status


def tracking_status_text(tracking: Tracking) -> str:
    """A shipment without scans has a label, not a "pending" status: it reads "Label created"."""
    if tracking.status == TrackingStatus.PENDING:
        return str(TrackingStatus.INFO_RECEIVED.label)
    return status_text(tracking.status)


def shipment_tone(tracking: Tracking) -> str:
    if tracking.is_delayed or is_postponed(tracking):
        return "warning"
    return TONE_FOR_STATUS.get(tracking.status, "normal")


def _with_status(trackings: Sequence[Tracking], status: str) -> list[Tracking]:
    return [t for t in trackings if t.status == status]


# --- ETA history ------------------------------------------------------------------------------


def estimate_changes(tracking: Tracking) -> list[EstimateChange]:
    """Oldest first; uses the lookup's prefetch when there is one."""
    return sorted(tracking.estimate_changes.all(), key=lambda c: (c.changed_at, c.pk))


def latest_estimate_change(tracking: Tracking) -> EstimateChange | None:
    """The change that led to the current estimate, if the estimate ever moved."""
    changes = estimate_changes(tracking)
    if not changes or changes[-1].new_date != tracking.estimated_delivery_date:
        return None
    return changes[-1]


def is_postponed(tracking: Tracking) -> bool:
    """The carrier moved the date later: the shopper hears "Delayed", with the new date."""
    change = latest_estimate_change(tracking)
    return bool(
        tracking.expects_delivery and change and change.new_date and change.new_date > change.previous_date
    )


def _window(tracking: Tracking) -> str:
    start, end = tracking.estimated_delivery_date, tracking.estimated_delivery_date_end
    if end and end != start:
        return _("%(start)s – %(end)s") % {"start": short_date(start), "end": short_date(end)}
    return short_date(start)


def eta_text(tracking: Tracking) -> str:
    """ "Expected Thu 26 Nov", or after a change "Expected Tue 24 Nov, now Thu 26 Nov"; a past
    date without a new one: "Was expected Tue 24 Nov · new date not yet known". "" when the
    shipment is no longer coming (delivered, going back) or has no estimate."""
    if not tracking.expects_delivery or tracking.estimated_delivery_date is None:
        return ""
    if tracking.is_delayed:
        return _("Was expected %(date)s · new date not yet known") % {"date": _window(tracking)}
    change = latest_estimate_change(tracking)
    if change is not None:
        return _("Expected %(before)s, now %(after)s") % {
            "before": short_date(change.previous_date),
            "after": _window(tracking),
        }
    return _("Expected %(date)s") % {"date": _window(tracking)}


def _eta_tracking(order: Order, outbound: Sequence[Tracking]) -> Tracking | None:
    """The shipment whose estimate the order's date line shows: the latest still coming."""
    coming = [t for t in outbound if t.expects_delivery and t.estimated_delivery_date]
    return max(coming, key=lambda t: t.estimated_delivery_date) if coming else None


def _order_eta_line(order: Order, outbound: Sequence[Tracking]) -> str:
    tracking = _eta_tracking(order, outbound)
    if tracking is not None:
        return eta_text(tracking)
    if not outbound and order.estimated_delivery_date and not order.is_final:
        if order.estimated_delivery_date < timezone.localdate():
            return _("Was expected %(date)s · new date not yet known") % {
                "date": short_date(order.estimated_delivery_date)
            }
        return _("Expected %(date)s") % {"date": short_date(order.estimated_delivery_date)}
    return ""


# --- Headline -----------------------------------------------------------------------------------


def order_headline(order: Order, trackings: Sequence[Tracking], *, full: bool = True) -> Headline:
    """The one-line answer to "where is my order?", most urgent news first, and the line under it.

    Below full access it leaves out the pickup place: a shop near the shopper is personal.
    """
    outbound = [t for t in trackings if not t.is_return]
    if order.status == OrderStatus.CANCELLED:
        return Headline("cancelled", _("Cancelled"), _("Order cancelled"), "muted")
    if order.status == OrderStatus.DELIVERED or (outbound and all(t.is_delivered for t in outbound)):
        return Headline("delivered", _("Delivered"), _("Delivered"), "success", date_time(order.delivered_at))
    if any(t.status == TrackingStatus.RETURNED for t in outbound):
        return Headline(
            "returned", _("Returned to sender"), _("Your parcel is going back to the shop"), "danger"
        )
    if any(t.status == TrackingStatus.EXCEPTION for t in outbound):
        return Headline(
            "exception", _("Delivery problem"), _("There is a problem with your delivery"), "danger"
        )
    # News about some of several packages says how many ("1 of 2 packages out for delivery"), so
    # it does not contradict the progress bar, which follows the least advanced package.
    failed = _with_status(outbound, TrackingStatus.FAILED_ATTEMPT)
    if failed:
        whole = _("Delivery attempt failed")
        part = {"count": len(failed), "total": len(outbound)}
        short, text = (
            (whole, whole)
            if len(failed) == len(outbound)
            else (
                _("%(count)d of %(total)d: attempt failed") % part,
                _("Delivery attempt failed for %(count)d of %(total)d packages") % part,
            )
        )
        return Headline("failed_attempt", short, text, "warning", _retry_line(failed[0]))
    pickups = _with_status(outbound, TrackingStatus.AVAILABLE_FOR_PICKUP)
    if pickups:
        place = pickups[0].pickup_location_name if full else ""
        part = {"count": len(pickups), "total": len(outbound), "place": place}
        if len(pickups) == len(outbound):
            short = _("Ready for pickup")
            text = _("Ready for pickup at %(place)s") % part if place else short
        else:
            short = _("%(count)d of %(total)d ready for pickup") % part
            text = (
                _("%(count)d of %(total)d packages ready for pickup at %(place)s") % part
                if place
                else _("%(count)d of %(total)d packages ready for pickup") % part
            )
        deadline = pickups[0].pickup_deadline
        subline = _("Collect by %(date)s") % {"date": short_date(deadline)} if deadline else ""
        return Headline("pickup", short, text, "warning", subline)
    delivering = _with_status(outbound, TrackingStatus.OUT_FOR_DELIVERY)
    if delivering:
        part = {"count": len(delivering), "total": len(outbound)}
        if len(delivering) == len(outbound):
            short = text = _("Out for delivery")
        else:
            short = _("%(count)d of %(total)d out for delivery") % part
            text = _("%(count)d of %(total)d packages out for delivery") % part
        return Headline("out_for_delivery", short, text, "normal", _("Arriving today"))
    eta_line = _order_eta_line(order, outbound)
    if order.is_delayed or any(is_postponed(t) for t in outbound):
        return Headline("delayed", _("Delayed"), _("Delayed"), "warning", eta_line)
    if outbound and all(t.shown_step <= 2 for t in outbound):
        subline = eta_line or _("Waiting for the carrier's first scan")
        return Headline("label_created", _("Label created"), _("Label created"), "normal", subline)
    if order.status == OrderStatus.SHIPPED:
        return Headline(
            "arriving" if eta_line else "shipped", _("On its way"), _("On its way"), "normal", eta_line
        )
    if order.status == OrderStatus.PROCESSING:
        return Headline(
            "processing", _("Being prepared"), _("Your order is being prepared"), "normal", eta_line
        )
    return Headline("received", _("Order received"), _("We have received your order"), "normal", eta_line)


def _retry_line(tracking: Tracking) -> str:
    eta = tracking.estimated_delivery_date
    if eta and eta >= timezone.localdate():
        return _("The carrier will try again %(date)s") % {"date": short_date(eta)}
    return ""


def date_line(order: Order, trackings: Sequence[Tracking] | None = None) -> str:
    """The line under the headline (kept for callers that show it apart from the headline)."""
    trackings = list(order.trackings.all()) if trackings is None else trackings
    return order_headline(order, trackings).subline


def shipment_summary(trackings: Sequence[Tracking]) -> str:
    """ "2 packages · 1 delivered" — only meaningful with more than one shipment."""
    outbound = [t for t in trackings if not t.is_return]
    if len(outbound) < 2:
        return ""
    delivered = sum(t.is_delivered for t in outbound)
    packages = ngettext("%(count)d package", "%(count)d packages", len(outbound)) % {"count": len(outbound)}
    return _("%(packages)s · %(delivered)d delivered") % {"packages": packages, "delivered": delivered}


def checkpoint_place(location: str, country: str) -> str:
    return ", ".join(part for part in (location, country) if part)


# --- Action boxes: what the shopper can do about a problem ------------------------------------

DAY_NAMES = {
    "mon": pgettext_lazy("weekday", "Monday"),
    "tue": pgettext_lazy("weekday", "Tuesday"),
    "wed": pgettext_lazy("weekday", "Wednesday"),
    "thu": pgettext_lazy("weekday", "Thursday"),
    "fri": pgettext_lazy("weekday", "Friday"),
    "sat": pgettext_lazy("weekday", "Saturday"),
    "sun": pgettext_lazy("weekday", "Sunday"),
}
# Carriers whose own page lets the recipient pick a new day after a missed delivery.
RESCHEDULE_URLS = {"usps": "https://tools.usps.com/redelivery.htm"}
RESCHEDULE_ON_TRACKING_PAGE = frozenset({"ups", "fedex", "dhl"})
MAP_SEARCH_URL = "https://www.openstreetmap.org/search?query={query}"


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class PickupPlace:
    name: str
    address: str
    hours: tuple[tuple[str, str], ...]  # (day, "08:00–20:00" or "Closed"), Monday first
    deadline: str
    map_url: str


@dataclass(frozen=True)
class ActionBox:
    """parcelLab's `action_box`: the state explained, and the next step."""

    key: str  # a ProblemState value
    title: str
    lines: tuple[str, ...]
    links: tuple[Link, ...] = ()
    merchant_text: str = ""
    pickup: PickupPlace | None = None


def reschedule_url(tracking: Tracking) -> str:
    if tracking.carrier in RESCHEDULE_URLS:
        return RESCHEDULE_URLS[tracking.carrier]
    return tracking.tracking_url if tracking.carrier in RESCHEDULE_ON_TRACKING_PAGE else ""


def map_url(address: str) -> str:
    """A plain link to a map search: nothing is loaded from a map service until it is followed."""
    return MAP_SEARCH_URL.format(query=quote(address, safe="")) if address else ""


def _clock(value: str) -> str:
    try:
        hours, minutes = (int(part) for part in value.split(":"))
        return format_time(time(hours, minutes), "short", locale=formatting.current().locale)
    except (ValueError, TypeError):
        return value


def opening_hours(tracking: Tracking) -> tuple[tuple[str, str], ...]:
    """Every day of the week, Monday first; days without hours are shown as closed."""
    by_day: dict[str, list[str]] = {}
    for entry in tracking.opening_hours:
        by_day.setdefault(entry["day"], []).append(f"{_clock(entry['open'])}–{_clock(entry['close'])}")
    if not by_day:
        return ()
    return tuple(
        (str(name), ", ".join(by_day[day]) if day in by_day else _("Closed"))
        for day, name in DAY_NAMES.items()
    )


def _carrier_said(tracking: Tracking, checkpoints: Sequence) -> tuple[str, ...]:
    latest = next((c for c in checkpoints if c.message), None)
    if latest is None:
        return ()
    return (
        _("%(carrier)s said: “%(message)s”")
        % {"carrier": tracking.carrier_info.name, "message": latest.message},
    )


def _pickup_place(tracking: Tracking) -> PickupPlace:
    deadline = tracking.pickup_deadline
    return PickupPlace(
        name=tracking.pickup_location_name,
        address=tracking.pickup_location_address,
        hours=opening_hours(tracking),
        deadline=_("Pick up by %(date)s") % {"date": short_date(deadline)} if deadline else "",
        map_url=map_url(
            ", ".join(p for p in (tracking.pickup_location_name, tracking.pickup_location_address) if p)
        ),
    )


def action_box(
    tracking: Tracking, checkpoints: Sequence, *, account, full: bool, lang: str
) -> ActionBox | None:
    """The action box of a shipment in a problem state, else None.

    Below full access it names no pickup place (a shop near the shopper is personal).
    """
    shop = account.name if account else _("the shop")
    # The carrier's words may name people or places: quoted at full access only.
    said = _carrier_said(tracking, checkpoints) if full else ()
    status = tracking.status
    if tracking.is_return:
        return None
    if status == TrackingStatus.FAILED_ATTEMPT:
        lines = list(said)
        pickup = None
        if tracking.has_pickup_location and full:
            lines.append(_("Your parcel is waiting for you at the place below."))
            pickup = _pickup_place(tracking)
        elif tracking.has_pickup_location:
            lines.append(_("Your parcel is waiting at a pickup point. Confirm it's your order to see where."))
        elif (retry := _retry_line(tracking)) != "":
            lines.append(retry + ".")
        else:
            lines.append(_("The carrier has not said yet when it will try again."))
        url = reschedule_url(tracking)
        links = (
            (
                Link(
                    _("Choose a new delivery day with %(carrier)s") % {"carrier": tracking.carrier_info.name},
                    url,
                ),
            )
            if url
            else ()
        )
        return _box("failed_attempt", _("We missed you"), lines, links, account, lang, pickup)
    if status == TrackingStatus.EXCEPTION:
        lines = [*said, _("We will show the carrier's next update here as soon as it arrives.")]
        return _box("exception", _("What happens now"), lines, (), account, lang)
    if status == TrackingStatus.RETURNED:
        lines = [_("Your parcel is on its way back to %(shop)s.") % {"shop": shop}]
        if not account or not account.message_for("returned", lang):
            lines.append(
                _("%(shop)s will let you know whether you get a refund or a new delivery.") % {"shop": shop}
            )
        return _box("returned", _("What happens next"), lines, (), account, lang)
    if status == TrackingStatus.AVAILABLE_FOR_PICKUP:
        if full and tracking.has_pickup_location:
            return _box("pickup", _("Pick up your parcel"), [], (), account, lang, _pickup_place(tracking))
        lines = [_("Your parcel is waiting at a pickup point. Confirm it's your order to see where.")]
        if tracking.pickup_deadline:
            lines.append(_("Pick up by %(date)s") % {"date": short_date(tracking.pickup_deadline)})
        return _box("pickup", _("Pick up your parcel"), lines, (), account, lang)
    if tracking.is_delayed:
        lines = [_("The carrier has not given a new date yet. We will show it here as soon as it does.")]
        return _box("delayed", _("Your parcel is late"), lines, (), account, lang)
    if is_postponed(tracking):
        lines = [_("The carrier now expects to deliver %(date)s.") % {"date": _window(tracking)}]
        return _box("delayed", _("Your parcel is late"), lines, (), account, lang)
    return None


def cancelled_box(account, lang: str) -> ActionBox:
    lines = (
        []
        if account and account.message_for("cancelled", lang)
        else [_("This order was cancelled. If you have been charged, you will be refunded.")]
    )
    return _box("cancelled", _("Order cancelled"), lines, (), account, lang)


def _box(key, title, lines, links, account, lang, pickup=None) -> ActionBox:
    merchant = account.message_for(key, lang) if account else ""
    return ActionBox(key, title, tuple(lines), tuple(links), merchant, pickup)


# --- Returns: the return's own progress (the shopper sends the parcel back) -------------------

RETURN_STEPS = (
    pgettext_lazy("return progress", "Return label created"),
    pgettext_lazy("return progress", "On its way back"),
    pgettext_lazy("return progress", "Received by the shop"),
)


def return_step_labels() -> list[str]:
    return [str(label) for label in RETURN_STEPS]


def return_step(tracking: Tracking) -> int:
    if tracking.status == TrackingStatus.DELIVERED:
        return 3
    if tracking.status in (TrackingStatus.PENDING, TrackingStatus.INFO_RECEIVED):
        return 1
    return 2


def return_headline(tracking: Tracking) -> Headline:
    """A return label's own news, for the widget of a return tracking number."""
    step = return_step(tracking)
    if step == 3:
        return Headline("return_received", _("Return received"), _("Return received"), "success")
    if step == 2:
        return Headline("return_in_transit", _("Return on its way"), _("Return on its way"), "normal")
    return Headline(
        "return_label",
        _("Return label ready"),
        _("Return label ready"),
        "normal",
        _("Hand the parcel to the carrier"),
    )
