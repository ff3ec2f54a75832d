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
from orders.colors import ink, text_on
from orders.models import Account


def contrast(a: str, b: str) -> float:
    return colors.contrast(colors.rgb(a), colors.rgb(b))


def stylesheet(color: str) -> str:
    return f":root {{ --brand: {color}; --brand-text: {text_on(color)}; --brand-ink: {ink(color)}; }}\n"


@require_GET
@cache_control(public=True, max_age=86400)
def brand_css(request, account_id: int):
    """Cached for a day; page links carry the colour as `?v=` so a new colour shows at once."""
    account = get_object_or_404(Account, pk=account_id)
    return HttpResponse(stylesheet(account.brand_color), content_type="text/css; charset=utf-8")
