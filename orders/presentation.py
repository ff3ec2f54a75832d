"""What the shopper is told, in words: shared by the status page, the PNG widget and the info API.

Call these inside `translation.override(lang)`; dates come out in that language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import formats, timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from orders.models import PROGRESS_STEPS, Order, OrderStatus, Tracking, TrackingStatus

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
    text: str  # "Delivered Mon 15 Jan" — for the page
    tone: str  # one of orders.widget.render.TONES: normal, success, warning, danger, muted


# Short formats per language ("Thu 18 Jan", "Do, 18. Jan"); Django's locale formats are longer.
SHORT_DATE_FORMATS = {"de": "D, j. M"}
DATE_TIME_FORMATS = {"de": "j. M, H:i"}


def short_date(value: date | datetime | None) -> str:
    """ "Thu 18 Jan" in the active language."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return formats.date_format(value, SHORT_DATE_FORMATS.get(get_language(), "D j M"))


def date_time(value: datetime | None) -> str:
    """ "18 Jan, 14:05" in the active language and the site's time zone."""
    if value is None:
        return ""
    local = value if timezone.is_naive(value) else timezone.localtime(value)  # naive: a carrier's local time
    return formats.date_format(local, DATE_TIME_FORMATS.get(get_language(), "j M, H:i"))


def step_labels() -> list[str]:
    return [str(label) for _step, label in PROGRESS_STEPS]


def status_text(status: str) -> str:
    return str(TrackingStatus(status).label) if status in TrackingStatus.values else status


def shipment_tone(tracking: Tracking) -> str:
    if tracking.is_delayed:
        return "warning"
    return TONE_FOR_STATUS.get(tracking.status, "normal")


def _with_status(trackings: Sequence[Tracking], status: str) -> list[Tracking]:
    return [t for t in trackings if t.status == status]


def order_headline(order: Order, trackings: Sequence[Tracking], *, full: bool = True) -> Headline:
    """The one-line answer to "where is my order?", most urgent news first.

    Below full access it leaves out the pickup place: a shop near the shopper is personal.
    """
    outbound = [t for t in trackings if not t.is_return]
    if order.status == OrderStatus.CANCELLED:
        return Headline("cancelled", _("Cancelled"), _("Order cancelled"), "muted")
    if order.status == OrderStatus.DELIVERED or (outbound and all(t.is_delivered for t in outbound)):
        when = short_date(order.delivered_at)
        text = _("Delivered %(date)s") % {"date": when} if when else _("Delivered")
        return Headline("delivered", _("Delivered"), text, "success")
    if any(t.status in (TrackingStatus.EXCEPTION, TrackingStatus.RETURNED) for t in outbound):
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
        return Headline("failed_attempt", short, text, "warning")
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
        return Headline("pickup", short, text, "warning")
    delivering = _with_status(outbound, TrackingStatus.OUT_FOR_DELIVERY)
    if delivering:
        part = {"count": len(delivering), "total": len(outbound)}
        if len(delivering) == len(outbound):
            short = text = _("Out for delivery")
        else:
            short = _("%(count)d of %(total)d out for delivery") % part
            text = _("%(count)d of %(total)d packages out for delivery") % part
        return Headline("out_for_delivery", short, text, "normal")
    if order.is_delayed:
        return Headline("delayed", _("Delayed"), _("Delayed"), "warning")
    eta = order.current_eta
    if eta and order.status == OrderStatus.SHIPPED:
        text = _("Arriving %(date)s") % {"date": short_date(eta)}
        return Headline("arriving", text, text, "normal")
    if order.status == OrderStatus.SHIPPED:
        return Headline("shipped", _("On its way"), _("On its way"), "normal")
    if order.status == OrderStatus.PROCESSING:
        return Headline("processing", _("Being prepared"), _("Your order is being prepared"), "normal")
    return Headline("received", _("Order received"), _("We have received your order"), "normal")


def date_line(order: Order) -> str:
    """ETA or delivery date, for under the headline."""
    if order.status == OrderStatus.CANCELLED:
        return ""
    if order.status == OrderStatus.DELIVERED and order.delivered_at:
        return _("Delivered on %(date)s") % {"date": short_date(order.delivered_at)}
    eta = order.current_eta
    return _("Estimated delivery: %(date)s") % {"date": short_date(eta)} if eta else ""


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
