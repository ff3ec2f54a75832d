"""The account's brand colour as a stylesheet.

The CSP forbids inline styles, so the colour reaches the page as CSS custom properties served
from here. Text on the brand colour is black or white, whichever contrasts more, and a darkened
variant (`--brand-ink`) is dark enough for text on the page and its white panels (WCAG AA, 4.5:1).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from orders import colors
from orders.models import Account

AA_TEXT = 4.5
PAGE_BACKGROUND = "#f4f5f7"  # static/css/status.css --page: the darkest background text sits on


def contrast(a: str, b: str) -> float:
    return colors.contrast(colors.rgb(a), colors.rgb(b))


def text_on(color: str) -> str:
    return "#000000" if contrast(color, "#000000") >= contrast(color, "#ffffff") else "#ffffff"


def ink(color: str, background: str = PAGE_BACKGROUND) -> str:
    """`color`, darkened just enough to be readable as text on `background`."""
    r, g, b = colors.rgb(color)
    for step in range(101):
        f = 1 - step / 100
        candidate = f"#{round(r * f):02x}{round(g * f):02x}{round(b * f):02x}"
        if contrast(candidate, background) >= AA_TEXT:
            return candidate
    return "#000000"


def stylesheet(color: str) -> str:
    return f":root {{ --brand: {color}; --brand-text: {text_on(color)}; --brand-ink: {ink(color)}; }}\n"


@require_GET
@cache_control(public=True, max_age=86400)
def brand_css(request, account_id: int):
    """Cached for a day; page links carry the colour as `?v=` so a new colour shows at once."""
    account = get_object_or_404(Account, pk=account_id)
    return HttpResponse(stylesheet(account.brand_color), content_type="text/css; charset=utf-8")
