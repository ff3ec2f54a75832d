"""Template helpers for the shopper pages; the wording itself lives in orders.presentation."""

from __future__ import annotations

from django import template
from django.utils import timezone

from orders import presentation

register = template.Library()

register.filter("short_date", presentation.short_date)
register.filter("date_time", presentation.date_time)
register.filter("status_text", presentation.status_text)


@register.filter
def place(checkpoint) -> str:
    return presentation.checkpoint_place(checkpoint.location, checkpoint.country)


@register.filter
def iso(value) -> str:
    """Machine-readable time for <time datetime="…">."""
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = timezone.localtime(value)
    return value.isoformat()


@register.simple_tag(takes_context=True)
def lang_url(context, code: str) -> str:
    """The current page in another language (the signature does not cover `lang`)."""
    request = context["request"]
    query = request.GET.copy()
    query["lang"] = code
    for name in ("all", "open", "shipment", "recipient_email", "recipient_postal_code"):
        query.pop(name, None)
    return f"{request.path}?{query.urlencode()}"
