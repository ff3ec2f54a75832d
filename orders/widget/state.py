"""What the PNG widget shows for a lookup result, as an already-localised `WidgetState`.

Every word comes from `orders.presentation` (shared with the status page and the info API), so
the widget never disagrees with the page. Nothing personal goes in: no recipient name, address,
email, phone or line items, whatever the access level, because shipping emails get forwarded.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache

from django.utils import translation
from django.utils.translation import gettext as _

from orders import formatting, presentation
from orders.lookup import Access, LookupResult
from orders.models import Order, Tracking
from orders.widget.render import LOGO_MAX_BYTES, ShipmentLine, WidgetState

logger = logging.getLogger(__name__)

DETAIL_SEPARATOR = " · "


def as_of(result: LookupResult) -> datetime:
    """When the shown state last changed: derived from the data, never the render time, so the
    same state always draws the same bytes (and keeps its ETag)."""
    moments = [result.order.updated_at]
    moments += [t.last_event_at for t in result.trackings if t.last_event_at]
    return max(moments)


def build_state(result: LookupResult, *, lang: str) -> WidgetState:
    """The widget's content for a FULL or LIMITED result, in `lang`.

    A return label's tracking number shows the return's own progress, not the order's.
    """
    order, account = result.order, result.account
    outbound = [t for t in result.trackings if not t.is_return]
    returning = (
        result.matched_tracking if result.matched_tracking and result.matched_tracking.is_return else None
    )
    with translation.override(lang), formatting.localized(account, lang, order.country):
        if returning is not None:
            headline = presentation.return_headline(returning)
            steps, current, shown = (
                presentation.return_step_labels(),
                presentation.return_step(returning),
                [returning],
            )
            short_steps = steps
        else:
            headline = presentation.order_headline(
                order, result.trackings, full=False
            )  # emails get forwarded
            steps, current, shown = presentation.step_labels(), result.progress_step, outbound
            short_steps = presentation.short_step_labels()
        subline = headline.subline
        if order.is_cancelled:
            steps, short_steps, current = [], [], 0
            subline = _("This order was cancelled. If you have been charged, you will be refunded.")
        return WidgetState(
            account_name=account.name,
            brand_color=account.brand_color,
            order_label=_order_label(result),
            headline=headline.short,
            tone=headline.tone,
            steps=tuple(steps),
            current_step=current,
            date_line=subline,
            shipments=tuple(_shipment_line(result, tracking) for tracking in shown),
            summary=presentation.shipment_summary(shown),
            as_of=_as_of_text(as_of(result)),
            more_text=_("+{n} more"),
            logo=_logo_bytes(account),
            short_steps=tuple(short_steps),
            step_of=_("Step {n} of {total}: {label}"),
        )


def alt_text(order: Order, *, lang: str) -> str:
    """ "Order 1001: out for delivery" — the image's `alt`, for mail clients that block images."""
    with translation.override(lang):
        short = presentation.order_headline(order, order.trackings.all()).short
        if not lang.startswith("de"):  # German nouns keep their capital
            short = short[:1].lower() + short[1:]
        label = _("Order %(number)s") % {"number": order.order_number}
        return _("%(order)s: %(status)s") % {"order": label, "status": short}


def _order_label(result: LookupResult) -> str:
    if result.access == Access.LIMITED and result.matched_tracking is not None:
        # Looked up by tracking number alone: show what the caller already knows, not the order
        # number (which, with an email or postal code, opens the whole order).
        return _("Shipment %(number)s") % {"number": result.matched_tracking.tracking_number}
    return _("Order %(number)s") % {"number": result.order.order_number}


def _shipment_line(result: LookupResult, tracking: Tracking) -> ShipmentLine:
    latest = next((c for c in result.checkpoints(tracking, personal=False) if not c.is_hidden), None)
    if latest is None:
        detail = tracking.tracking_number
    else:
        parts = (
            latest.message or presentation.status_text(latest.status),
            presentation.checkpoint_place(latest.location, latest.country),
            presentation.date_time(latest.shown_at),
        )
        detail = DETAIL_SEPARATOR.join(part for part in parts if part)
    return ShipmentLine(
        carrier_name=tracking.carrier_info.name,
        status_text=presentation.tracking_status_text(tracking),
        detail=detail,
        tone=presentation.shipment_tone(tracking),
    )


def _as_of_text(moment: datetime) -> str:
    return _("As of %(time)s") % {"time": presentation.date_time(moment, with_zone=True)}


def _logo_bytes(account) -> bytes | None:
    """The shop's logo file, or None when unset, missing or too large (the widget then shows the
    name alone rather than failing). Checked on every draw; read once per process and file."""
    if not account.logo:
        return None
    storage, name = account.logo.storage, account.logo.name
    try:
        size = storage.size(name)
        where = storage.path(name)
    except NotImplementedError:  # a remote storage: its names are unique enough
        where = name
    except (OSError, ValueError):
        logger.warning("widget: cannot read logo %s of account %s", name, account.pk)
        return None
    return _read_logo(storage, name, where, size) if size <= LOGO_MAX_BYTES else None


@lru_cache(maxsize=32)
def _read_logo(storage, name: str, where: str, size: int) -> bytes | None:
    try:
        with storage.open(name, "rb") as handle:
            return handle.read()
    except (OSError, ValueError):
        logger.warning("widget: cannot read logo %s", name)
        return None
