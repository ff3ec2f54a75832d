"""Caching of rendered widget images, so that repeated opens of an email cost no drawing and,
on the hot path, no database query at all.

Two cache levels:

- by request: `Entry` (order id, state version, ETag, PNG) through `orders.cache.answers`, valid
  while the order's state version is unchanged, the signed link's `exp` has not passed and the
  entry is younger than `WIDGET_MAX_AGE`: no parsing, no database, no drawing.
- by ETag: the PNG bytes. The ETag hashes everything drawn (the localised `WidgetState`), the
  widget options and the order's state version, so a different URL for the same picture, or a
  new day with the same state, still costs no drawing.

Only results whose access follows from the parameters alone are cached by request (a signature
or a tracking number; see `LookupResult.shareable`); a staff session's result never is. Things
that change without a state change (an account's name, colour or logo) show after at most
`WIDGET_MAX_AGE` seconds, the time browsers and proxies keep the image anyway.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.cache import answers as answer_cache
from orders.lookup import LookupParams, LookupResult, supported_language
from orders.widget.render import DEFAULT_WIDTH, MAX_WIDTH, MIN_WIDTH, THEMES, render_message, render_widget
from orders.widget.state import build_state

# Bump when the renderer's output changes for the same state, to retire cached images.
RENDERER_VERSION = "2"  # 2: saved with optimize=True (same pixels, other bytes: other ETags)
SCALES = ("1", "2")
PNG_TIMEOUT = 24 * 3600  # by ETag; the content can never be stale, only evicted
_DIGITS = re.compile(r"[0-9]{1,6}")


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

    @property
    def tag(self) -> str:  # what orders.cache.answers compares
        return self.etag


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


WIDGET_PARAMS = (*LookupParams.base_fields, "width", "scale", "theme")


def request_key(request) -> str | None:
    """Cache key of a request: the parameters that shape the image, today's date and the renderer."""
    return answer_cache.request_key("widget", request, RENDERER_VERSION, params=WIDGET_PARAMS)


def fresh_entry(key: str | None) -> Entry | None:
    """The cached answer to this request if the order has not changed since: no database."""
    return answer_cache.fresh(key)


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
        if answer_cache.may_cache(order.pk):
            cache.set(_png_key(etag), png, PNG_TIMEOUT)
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


def remember(key: str | None, entry: Entry) -> None:
    if entry.shared:
        answer_cache.remember(key, entry, timeout=settings.WIDGET_MAX_AGE)


def not_modified(request, etag: str) -> bool:
    """If-None-Match per RFC 9110: weak comparison, lists and `*`."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    tags = parse_etags(header)
    return tags == ["*"] or etag in {tag.removeprefix("W/") for tag in tags}


def message_png(
    kind: str, options: WidgetOptions, lang: str, detail: str = "", *, shop: tuple[str, str] = ("", "")
) -> bytes:
    """A notice image ("Order status unavailable", …) in the widget's empty size: neutral, or with
    the shop's name and colour (`shop`) when the URL or host named the shop."""
    return _message_png(kind, options, lang, detail, shop)


MESSAGES = {
    "unavailable": (
        gettext_lazy("Order status unavailable"),
        gettext_lazy("This image cannot show the order. Open the order's status page from your email."),
    ),
    "invalid": (gettext_lazy("Invalid widget parameters"), ""),
    "rate_limited": (gettext_lazy("Too many attempts"), gettext_lazy("Please try again later.")),
    "error": (gettext_lazy("Order status unavailable"), gettext_lazy("Please try again later.")),
}


@lru_cache(maxsize=128)
def _message_png(kind: str, options: WidgetOptions, lang: str, detail: str, shop: tuple[str, str]) -> bytes:
    with translation.override(lang):
        title, body = MESSAGES[kind]
        return render_message(
            str(title),
            detail or str(body),
            width=options.width,
            scale=options.scale,
            theme=options.theme,
            shop_name=shop[0],
            brand_color=shop[1],
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
