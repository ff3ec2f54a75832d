"""Caching of rendered widget images, so that repeated opens of an email cost no drawing and,
on the hot path, no database query at all.

Two cache levels:

- by request: a hash of the query string as given (plus today's date, since an ETA passing
  turns an order "Delayed" without any state change) → `Entry` (order id, state version, ETag,
  PNG). It is served only while the order's state version published by `orders.state_cache` is
  still the one the entry was drawn from, a signed link's `exp` has not passed and the entry is
  younger than `WIDGET_MAX_AGE`: no parsing, no database, no drawing. Any lifecycle change,
  revoking the links included, publishes a new version and so takes effect on the next request.
  Each process also keeps the most recent entries in memory, so a hit is a single cache round
  trip (the entry's ETag and the state version) when it is local, two when another worker drew
  the image; and none while the local entry was confirmed less than `WIDGET_STATE_RECHECK`
  seconds ago (default 1 s: a change, a revocation included, shows within that second, far
  inside the `max-age` browsers and mail proxies keep the image anyway).
- by ETag: the PNG bytes. The ETag hashes everything drawn (the localised `WidgetState`), the
  widget options and the order's state version, so a different URL for the same picture, or a
  new day with the same state, still costs no drawing.

Only results whose access follows from the parameters alone are cached by request (signature,
second factor, tracking number); a staff session's result never is. Things that change without
a state change (an account's name, colour or logo, a deleted order) show after at most
`WIDGET_MAX_AGE` seconds, the time browsers and proxies keep the image anyway.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders import state_cache
from orders.lookup import LookupResult, supported_language
from orders.widget import DEFAULT_WIDTH, MAX_WIDTH, MIN_WIDTH, THEMES, render_message, render_widget
from orders.widget_state import build_state

# Bump when the renderer's output changes for the same state, to retire cached images.
RENDERER_VERSION = "1"
SCALES = ("1", "2")
PNG_TIMEOUT = 24 * 3600  # by ETag; the content can never be stale, only evicted
LOCAL_ENTRIES = 256  # per process; at most ~40 KB each
_DIGITS = re.compile(r"[0-9]{1,6}")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WidgetOptions:
    width: int = DEFAULT_WIDTH
    scale: int = 1
    theme: str = "light"


class WidgetInvalid(Exception):
    """Bad `width`, `scale` or `theme` (a 400); `options` keeps whichever of them were valid."""

    def __init__(self, message: str, options: WidgetOptions):
        super().__init__(message)
        self.message = message
        self.options = options


@dataclass(frozen=True)
class Entry:
    order_id: int
    state_version: int
    etag: str  # quoted, strong
    png: bytes
    lang: str
    expires_at: float  # unix time; the entry is not served after it
    exp: int | None = None  # the signed link's expiry, checked on every cache hit
    shared: bool = True  # False unless LookupResult.shareable: never cached by request, private


def parse_options(params) -> WidgetOptions:
    """`width` 320–1200 (default 600), `scale` 1 or 2, `theme` light or dark; else WidgetInvalid."""
    errors: list[str] = []
    width_raw = params.get("width", "")
    width = int(width_raw) if _DIGITS.fullmatch(width_raw) else None
    if width_raw == "":
        width = DEFAULT_WIDTH
    elif width is None or not MIN_WIDTH <= width <= MAX_WIDTH:
        errors.append(
            _("width must be a whole number from %(min)d to %(max)d.") % {"min": MIN_WIDTH, "max": MAX_WIDTH}
        )
        width = None
    scale_raw = params.get("scale", "") or "1"
    if scale_raw not in SCALES:
        errors.append(_("scale must be 1 or 2."))
    theme = (params.get("theme", "") or "light").lower()
    if theme not in THEMES:
        errors.append(_("theme must be light or dark."))
    options = WidgetOptions(
        width=width or DEFAULT_WIDTH,
        scale=int(scale_raw) if scale_raw in SCALES else 1,
        theme=theme if theme in THEMES else "light",
    )
    if errors:
        raise WidgetInvalid(" ".join(errors), options)
    return options


def requested_language(params) -> str:
    """The `lang` parameter if we speak it, else the site default (for notices without an order)."""
    return supported_language(params.get("lang"), default=settings.LANGUAGE_CODE)


def request_key(request) -> str:
    """Cache key of a request: its query string as given, and today's date."""
    query = request.META.get("QUERY_STRING", "")
    material = f"{RENDERER_VERSION}\x1f{timezone.localdate().isoformat()}\x1f{query}"
    return "widget-req:" + hashlib.sha256(material.encode()).hexdigest()[:40]  # no personal data in keys


def fresh_entry(key: str) -> Entry | None:
    """The cached answer to this request if the order has not changed since: no database.

    A process's own copy is served only while the shared cache still names the same image for
    this request (its ETag, read together with the state version in one round trip), so the two
    levels can never disagree.
    """
    now = time.time()
    try:
        entry, checked_at = _local.get(key)
        if entry is not None and now - checked_at < settings.WIDGET_STATE_RECHECK:
            pass  # confirmed against the shared cache a moment ago
        elif entry is not None:
            state = state_cache.state_key(entry.order_id)
            shared = cache.get_many([_etag_key(key), state])
            current = (shared.get(_etag_key(key)), shared.get(state))
            if current != (entry.etag, entry.state_version):
                return None
            _local.put(key, entry, checked_at=now)
        else:
            entry = cache.get(key)
            if entry is None or state_cache.current(entry.order_id) != entry.state_version:
                return None
            _local.put(key, entry, checked_at=now)
    except Exception:  # the cache being down must not take the widget down: draw it instead
        logger.warning("widget: cache unavailable", exc_info=True)
        return None
    if entry.expires_at <= now or (entry.exp is not None and entry.exp <= now):
        return None
    return entry


def entry_for(result: LookupResult, options: WidgetOptions) -> Entry:
    """Build (or fetch by ETag) the image for a FULL or LIMITED result."""
    order = result.order
    # Not Accept-Language: mail image proxies send none or their own, and a URL that always
    # draws the same picture caches well.
    lang = result.display_language
    state = build_state(result, lang=lang)
    etag = _etag(order.pk, order.state_version, options, state)
    png = cache.get(_png_key(etag))
    if png is None:
        png = render_widget(state, width=options.width, scale=options.scale, theme=options.theme)
        cache.set(_png_key(etag), png, PNG_TIMEOUT)
    state_cache.remember(order.pk, order.state_version)  # for orders no change has published yet
    return Entry(
        order_id=order.pk,
        state_version=order.state_version,
        etag=etag,
        png=png,
        lang=lang,
        expires_at=time.time() + settings.WIDGET_MAX_AGE,
        exp=result.params.get("exp"),
        shared=result.shareable,
    )


def remember(key: str, entry: Entry) -> None:
    if entry.shared:
        cache.set_many({key: entry, _etag_key(key): entry.etag}, settings.WIDGET_MAX_AGE)
        _local.put(key, entry, checked_at=time.time())


def _etag_key(key: str) -> str:
    return f"{key}:etag"


class _LocalEntries:
    """A small per-process LRU of entries; only ever served after checking the shared cache."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[str, tuple[Entry, float]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> tuple[Entry | None, float]:
        """The entry and when it was last confirmed against the shared cache."""
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None, 0.0
            self.entries.move_to_end(key)
            return found

    def put(self, key: str, entry: Entry, checked_at: float = 0.0) -> None:
        with self.lock:
            self.entries[key] = (entry, checked_at)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_local = _LocalEntries(LOCAL_ENTRIES)


def not_modified(request, etag: str) -> bool:
    """If-None-Match per RFC 9110: weak comparison, lists and `*`."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    tags = parse_etags(header)
    return tags == ["*"] or etag in {tag.removeprefix("W/") for tag in tags}


def message_png(kind: str, options: WidgetOptions, lang: str, detail: str = "") -> bytes:
    """A neutral notice image ("Order status unavailable", …) in the widget's empty size."""
    return _message_png(kind, options, lang, detail)


MESSAGES = {
    "unavailable": (gettext_lazy("Order status unavailable"), ""),
    "invalid": (gettext_lazy("Invalid widget parameters"), ""),
    "rate_limited": (gettext_lazy("Too many attempts"), gettext_lazy("Please try again later.")),
    "error": (gettext_lazy("Order status unavailable"), gettext_lazy("Please try again later.")),
}


@lru_cache(maxsize=128)
def _message_png(kind: str, options: WidgetOptions, lang: str, detail: str) -> bytes:
    with translation.override(lang):
        title, body = MESSAGES[kind]
        return render_message(
            str(title), detail or str(body), width=options.width, scale=options.scale, theme=options.theme
        )


def _etag(order_id: int, state_version: int, options: WidgetOptions, state) -> str:
    logo = hashlib.sha256(state.logo).hexdigest() if state.logo else ""
    drawn = repr(dataclasses.replace(state, logo=logo))
    material = "\x1f".join(
        (RENDERER_VERSION, str(order_id), str(state_version), repr(options), drawn)
    ).encode()
    return f'"{hashlib.sha256(material).hexdigest()[:32]}"'


def _png_key(etag: str) -> str:
    return f"widget-png:{etag.strip(chr(34))}"
