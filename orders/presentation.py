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
    tone: str  # one of orders.widget.TONES: normal, success, warning, danger, muted


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
    return formats.date_format(timezone.localtime(value), DATE_TIME_FORMATS.get(get_language(), "j M, H:i"))


def step_labels() -> list[str]:
    return [str(label) for _step, label in PROGRESS_STEPS]


def status_text(status: str) -> str:
    return str(TrackingStatus(status).label) if status in TrackingStatus.values else status


def shipment_tone(tracking: Tracking) -> str:
    if tracking.is_delayed:
        return "warning"
    return TONE_FOR_STATUS.get(tracking.status, "normal")


def _first(trackings: Sequence[Tracking], status: str) -> Tracking | None:
    return next((t for t in trackings if t.status == status), None)


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
    if _first(outbound, TrackingStatus.FAILED_ATTEMPT):
        return Headline(
            "failed_attempt", _("Delivery attempt failed"), _("Delivery attempt failed"), "warning"
        )
    pickup = _first(outbound, TrackingStatus.AVAILABLE_FOR_PICKUP)
    if pickup:
        place = pickup.pickup_location_name if full else ""
        text = _("Ready for pickup at %(place)s") % {"place": place} if place else _("Ready for pickup")
        return Headline("pickup", _("Ready for pickup"), text, "warning")
    if _first(outbound, TrackingStatus.OUT_FOR_DELIVERY):
        return Headline("out_for_delivery", _("Out for delivery"), _("Out for delivery"), "normal")
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
