"""What the status block of the shopper page shows, built from a LookupResult.

Words and dates come from orders.presentation (shared with the widget and the API); this module
only arranges them into cards for the templates, so templates stay free of rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from orders.lookup import LookupParams, LookupResult
from orders.models import PROGRESS_STEPS, Checkpoint, Tracking
from orders.presentation import date_line, order_headline, shipment_summary, shipment_tone

TIMELINE_PREVIEW = 3
DAY_NAMES = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}


@dataclass
class ShipmentCard:
    index: int  # 1-based position on the page; URLs use it instead of database ids
    tracking: Tracking
    checkpoints: list[Checkpoint]
    expanded: bool = False
    tone: str = "normal"
    opening_hours: list[dict] = field(default_factory=list)
    full: bool = False  # the pickup place near the shopper is personal: full access only

    @property
    def shown_checkpoints(self) -> list[Checkpoint]:
        return self.checkpoints if self.expanded else self.checkpoints[:TIMELINE_PREVIEW]

    @property
    def more_count(self) -> int:
        return 0 if self.expanded else max(0, len(self.checkpoints) - TIMELINE_PREVIEW)

    @property
    def show_pickup(self) -> bool:
        return self.full and self.tracking.has_pickup_location and not self.tracking.is_delivered


FACTORS = ("recipient_email", "recipient_postal_code")


def lookup_query(params, *, signed: bool = True) -> str:
    """The lookup parameters as given, for the partials' and "Show all" URLs.

    A second factor never travels on (it would land in URLs and logs, and a wrong one would count
    as a failed verification at every poll), nor does a signature that did not open the order.
    """
    dropped = FACTORS if signed else (*FACTORS, "s", "exp")
    names = [name for name in LookupParams.base_fields if name not in dropped]
    return urlencode([(name, params[name]) for name in names if params.get(name)])


def opening_hours(tracking: Tracking) -> list[dict]:
    rows = []
    for entry in tracking.opening_hours:
        if entry["day"] in DAY_NAMES:
            rows.append(
                {
                    "day": DAY_NAMES[entry["day"]],
                    "open": entry["open"],
                    "close": entry["close"],
                }
            )
    return rows


def steps(current: int) -> list[dict]:
    return [
        {"number": number, "label": label, "done": number < current, "current": number == current}
        for number, label in PROGRESS_STEPS
    ]


def shipment_cards(result: LookupResult, expanded: set[int] | None) -> list[ShipmentCard]:
    """One card per shipment; `expanded` is the set of card indexes showing every event (None: all)."""
    return [
        ShipmentCard(
            index=index,
            tracking=tracking,
            checkpoints=result.checkpoints(tracking),
            expanded=expanded is None or index in expanded,
            tone=shipment_tone(tracking),
            opening_hours=opening_hours(tracking),
            full=result.is_full,
        )
        for index, tracking in enumerate(result.trackings, start=1)
    ]


def status_context(
    result: LookupResult, *, lang: str, query: str, expanded: set[int] | None = frozenset()
) -> dict:
    """Everything the status block shows; the words are chosen here, so in `lang`."""
    order = result.order
    current = result.progress_step
    with translation.override(lang):
        headline = order_headline(order, result.trackings, full=result.is_full)
        when, summary = date_line(order), shipment_summary(result.trackings)
    return {
        "result": result,
        "order": order,
        "account": result.account,
        "headline": headline,
        "date_line": when,
        "summary": summary,
        "steps": steps(current),
        "current_step": current,
        "current_label": PROGRESS_STEPS[current - 1][1],
        "step_count": len(PROGRESS_STEPS),
        "show_progress": not order.is_cancelled,
        "shipments": shipment_cards(result, expanded),
        "query": query,
        "polling": not order.is_final,
    }
