"""How a merchant embeds the widget: the HTML snippet for shipping emails (shown in the admin).

A signed status-page link around a signed widget image, with `width`/`height` so the email's
layout is reserved before the image loads, and an `alt` that states the status for mail clients
that block images. The image is requested at scale 2 for sharp text on high-density screens.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString

from orders.models import Order
from orders.widget.render import DEFAULT_WIDTH, widget_height
from orders.widget.state import alt_text

EMAIL_SCALE = 2
IMG_STYLE = "display:block;border:0;max-width:100%;height:auto"


def link_expiry() -> int | None:
    """`exp` for links handed out now: SIGNED_LINK_DAYS from now, or None (never expires)."""
    days = settings.SIGNED_LINK_DAYS
    return int(time.time()) + days * 86400 if days else None


def order_language(order: Order) -> str:
    return order.language or order.account.default_language or settings.LANGUAGE_CODE


def image_size(order: Order, width: int = DEFAULT_WIDTH) -> tuple[int, int]:
    """The widget's size in CSS pixels with the order's current number of shipments."""
    return width, widget_height(width, len(order.shipments))


def email_snippet(order: Order, *, exp: int | None = None) -> SafeString:
    width, height = image_size(order)
    page = order.status_url(kind="page", exp=exp)
    image = order.status_url(kind="widget", exp=exp, width=width, scale=EMAIL_SCALE)
    return format_html(
        '<a href="{}"><img src="{}" width="{}" height="{}" alt="{}" style="{}"></a>',
        page,
        image,
        width,
        height,
        alt_text(order, lang=order_language(order)),
        IMG_STYLE,
    )
