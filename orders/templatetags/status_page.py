"""Template helpers for the shopper pages; the wording itself lives in orders.presentation."""

from __future__ import annotations

from urllib.parse import urlencode

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
    path, query, at = _lang_url_parts(request)
    return f"{path}?{urlencode([*query[:at], ('lang', code), *query[at:]])}"


def _lang_url_parts(request) -> tuple[str, list[tuple[str, str]], int]:
    """The page's path, its query without what opens a card or carries a second factor, and
    where `lang` goes in it (where it was, else at the end): worked out once per page, not once
    per language link."""
    parts = getattr(request, "_lang_url_parts", None)
    if parts is None:
        dropped = ("all", "open", "shipment", "recipient_email", "recipient_postal_code")
        names = [name for name in request.GET if name not in dropped]
        at = names.index("lang") if "lang" in names else len(names)
        query = [(name, value) for name in names if name != "lang" for value in request.GET.getlist(name)]
        at = sum(len(request.GET.getlist(name)) for name in names[:at] if name != "lang")
        parts = request._lang_url_parts = (request.path, query, at)
    return parts
