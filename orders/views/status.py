"""What the status block of the shopper page shows, built from a LookupResult.

Words and dates come from orders.presentation (shared with the widget and the API); this module
only arranges them into cards for the templates, so templates stay free of rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from orders import calendar, formatting, presentation, structured_data
from orders.lookup import LookupParams, LookupResult
from orders.models import PROGRESS_STEPS, Checkpoint, Tracking
from orders.presentation import ActionBox, order_headline, shipment_summary, shipment_tone

TIMELINE_PREVIEW = 3


@dataclass(frozen=True)
class TimelineEntry:
    """A carrier event, or the moment the estimate moved (marked in the timeline)."""

    when: datetime  # aware, for ordering
    status: str
    message: str = ""
    place: str = ""
    kind: str = "event"  # "event" or "estimate"
    shown_at: datetime | None = None  # a carrier's local time without a zone stays naive

    @property
    def shown(self) -> datetime:
        return self.shown_at or self.when


@dataclass
class ShipmentCard:
    index: int  # 1-based position on the page; URLs use it instead of database ids
    tracking: Tracking
    checkpoints: list[Checkpoint]
    expanded: bool = False
    tone: str = "normal"
    full: bool = False  # the pickup place near the shopper is personal: full access only
    status_text: str = ""
    eta: str = ""
    action: ActionBox | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)  # the updates shown, newest first
    update_count: int = 0  # all of them, shown or not
    return_steps: list[dict] = field(default_factory=list)

    calendar_url: str = ""

    @property
    def box_id(self) -> str:
        return f"action-{self.index}"

    @property
    def more_count(self) -> int:
        return self.update_count - len(self.timeline)


FACTORS = ("recipient_email", "recipient_postal_code")


def lookup_query(params, *, signed: bool = True) -> str:
    """The lookup parameters as given, for the partials' and "Show all" URLs.

    A second factor never travels on (it would land in URLs and logs, and a wrong one would count
    as a failed verification at every poll), nor does a signature that did not open the order.
    """
    dropped = FACTORS if signed else (*FACTORS, "s", "exp")
    names = [name for name in LookupParams.base_fields if name not in dropped]
    return urlencode([(name, params[name]) for name in names if params.get(name)])


def steps(current: int, labels=None) -> list[dict]:
    labels = labels or [label for _number, label in PROGRESS_STEPS]
    return [
        {"number": number, "label": label, "done": number < current, "current": number == current}
        for number, label in enumerate(labels, start=1)
    ]


def timeline(
    tracking: Tracking, checkpoints: list[Checkpoint], *, limit: int | None = None
) -> tuple[list[TimelineEntry], int]:
    """Newest first: the carrier's events with the estimate's moves in between; the first `limit`
    of them (None: all) as entries, worded, and how many there are in all."""
    moves = [change for change in presentation.estimate_changes(tracking) if change.new_date is not None]
    updates = [(c.occurred_at, False, c) for c in checkpoints] + [(m.changed_at, True, m) for m in moves]
    updates.sort(key=lambda update: update[:2], reverse=True)  # stable: events keep their order
    words: dict[str, str] = {}  # a shipment's events share a few statuses: each translated once
    entries = []
    for _when, is_move, update in updates[:limit]:
        if is_move:
            dates = {
                "before": presentation.short_date(update.previous_date),
                "after": presentation.short_date(update.new_date),
            }
            entries.append(
                TimelineEntry(
                    when=update.changed_at,
                    status=str(_("Estimated delivery changed")),
                    message=str(_("%(before)s → %(after)s")) % dates,
                    kind="estimate",
                )
            )
            continue
        status = words.get(update.status) or words.setdefault(
            update.status, presentation.status_text(update.status)
        )
        entries.append(
            TimelineEntry(
                when=update.occurred_at,
                shown_at=update.shown_at,
                status=status,
                message=update.message,
                place=presentation.checkpoint_place(update.location, update.country),
            )
        )
    return entries, len(updates)


def shipment_cards(result: LookupResult, expanded: set[int] | None, *, lang: str = "") -> list[ShipmentCard]:
    """One card per shipment; `expanded` is the set of card indexes showing every event (None: all)."""
    cards = []
    for index, tracking in enumerate(result.trackings, start=1):
        checkpoints = result.checkpoints(tracking)
        is_expanded = expanded is None or index in expanded
        entries, update_count = timeline(
            tracking, checkpoints, limit=None if is_expanded else TIMELINE_PREVIEW
        )
        cards.append(
            ShipmentCard(
                index=index,
                tracking=tracking,
                checkpoints=checkpoints,
                expanded=is_expanded,
                tone=shipment_tone(tracking),
                full=result.is_full,
                status_text=presentation.tracking_status_text(tracking),
                eta=presentation.eta_text(tracking),
                action=presentation.action_box(
                    tracking, checkpoints, account=result.account, full=result.is_full, lang=lang
                ),
                timeline=entries,
                update_count=update_count,
                return_steps=steps(presentation.return_step(tracking), presentation.return_step_labels())
                if tracking.is_return
                else [],
            )
        )
    return cards


def status_context(
    result: LookupResult, *, lang: str, query: str, expanded: set[int] | None = frozenset()
) -> dict:
    """Everything the status block shows; the words are chosen here, so in `lang`."""
    order = result.order
    current = result.progress_step
    with translation.override(lang), formatting.localized(result.account, lang, order.country):
        headline = order_headline(order, result.trackings, full=result.is_full)
        summary = shipment_summary(result.trackings)
        cards = shipment_cards(result, expanded, lang=lang)
        cancelled = presentation.cancelled_box(result.account, lang) if order.is_cancelled else None
        details = order_details(result) if result.is_full else None
        jsonld = structured_data.json_ld(result)
    urls = page_urls(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    for card in cards:
        if calendar.has_event(card.tracking):
            card.calendar_url = f"{urls['calendar']}?{query}&shipment={card.index}"
    return {
        "result": result,
        "order": order,
        "account": result.account,
        "headline": headline,
        "date_line": headline.subline,
        "summary": summary,
        "steps": steps(current),
        "current_step": current,
        "current_label": PROGRESS_STEPS[current - 1][1],
        "step_count": len(PROGRESS_STEPS),
        "show_progress": not order.is_cancelled,
        "shipments": cards,
        "cancelled_box": cancelled,
        "details": details,
        "jsonld": jsonld,
        "query": query,
        "polling": not order.is_final,
        "track_url": urls["track"],
        "status_url": urls["status"],
        "timeline_url": urls["timeline"],
    }


@lru_cache(maxsize=8)
def page_urls(script_prefix: str, urlconf: str) -> dict[str, str]:
    """The paths the status block links to, reversed once per process (script prefix, URLconf)."""
    names = {
        "track": "track",
        "status": "track-status",
        "timeline": "track-timeline",
        "calendar": "track-calendar",
    }
    return {key: reverse(f"orders:{name}", urlconf) for key, name in names.items()}


@dataclass(frozen=True)
class ItemLine:
    name: str
    quantity: int
    image_url: str
    unit_price: str
    line_total: str


@dataclass(frozen=True)
class Package:
    title: str
    items: list[ItemLine]


@dataclass(frozen=True)
class OrderDetails:
    ordered_on: str
    total: str
    packages: list[Package]


def order_details(result: LookupResult) -> OrderDetails:
    """Items under the package that carries them, with prices and the total in the shop's locale."""
    order = result.order
    items = list(order.items.all())
    lines = {
        item.pk: ItemLine(
            name=item.name,
            quantity=item.quantity,
            image_url=item.image_url if item.image_url.startswith("https://") else "",
            unit_price=formatting.money(item.unit_price, item.currency),
            line_total=formatting.money(item.unit_price * item.quantity, item.currency)
            if item.unit_price is not None
            else "",
        )
        for item in items
    }
    packages = []
    outbound = [t for t in result.trackings if not t.is_return]
    for index, tracking in enumerate(outbound, start=1):
        carried = [lines[i.pk] for i in items if i.tracking_id == tracking.pk]
        if carried:
            title = (
                _("Package %(n)d · %(carrier)s") % {"n": index, "carrier": tracking.carrier_info.name}
                if len(outbound) > 1
                else _("Your package · %(carrier)s") % {"carrier": tracking.carrier_info.name}
            )
            packages.append(Package(str(title), carried))
    shipped = {t.pk for t in outbound}
    rest = [lines[i.pk] for i in items if i.tracking_id not in shipped]
    if rest:  # items the shop did not assign to a package
        title = _("Other items") if packages else ""
        packages.append(Package(str(title), rest))
    currencies = {i.currency for i in items if i.unit_price is not None}
    priced = [i for i in items if i.unit_price is not None]
    total = ""
    if priced and len(currencies) == 1:
        total = formatting.money(sum(i.unit_price * i.quantity for i in priced), currencies.pop())
    return OrderDetails(ordered_on=formatting.long_date(order.order_date), total=total, packages=packages)
