"""Template helpers for the shopper pages; the wording itself lives in orders.presentation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.text import capfirst

from orders import formatting, presentation

register = template.Library()

register.filter("short_date", presentation.short_date)
register.filter("date_time", presentation.date_time)
register.filter("status_text", presentation.status_text)


@register.filter
def place(checkpoint) -> str:
    return presentation.checkpoint_place(checkpoint.location, checkpoint.country)


register.filter("iso", formatting.iso)  # machine-readable time for <time datetime="…">


@register.simple_tag(takes_context=True)
def lang_url(context, code: str) -> str:
    """The current page in another language (the signature does not cover `lang`)."""
    path, before, after = _lang_url_parts(context["request"])
    return f"{path}?{'&'.join(part for part in (before, urlencode([('lang', code)]), after) if part)}"


def _lang_url_parts(request) -> tuple[str, str, str]:
    """The page's path and its query without what opens a card or carries a second factor,
    encoded in two parts: before and after where `lang` goes (where it was, else at the end).
    Worked out once per page, not once per language link."""
    parts = getattr(request, "_lang_url_parts", None)
    if parts is None:
        dropped = ("all", "open", "shipment", "recipient_email", "recipient_postal_code")
        names = [name for name in request.GET if name not in dropped]
        at = names.index("lang") if "lang" in names else len(names)
        query = [(name, value) for name in names if name != "lang" for value in request.GET.getlist(name)]
        at = sum(len(request.GET.getlist(name)) for name in names[:at] if name != "lang")
        parts = request._lang_url_parts = (request.path, urlencode(query[:at]), urlencode(query[at:]))
    return parts


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str  # in its own language: "Deutsch"
    url: str
    current: bool


@register.simple_tag(takes_context=True)
def language_links(context) -> list[LanguageLink]:
    """The footer's links to the current page in each of our languages."""
    current = translation.get_language()
    return [
        LanguageLink(code, _name_local(code), lang_url(context, code), code == current)
        for code, _name in settings.LANGUAGES
    ]


@lru_cache(maxsize=16)
def _name_local(code: str) -> str:
    return capfirst(translation.get_language_info(code)["name_local"])


@register.simple_tag
def brand_stylesheet_url(account) -> str:
    """The shop's brand stylesheet, versioned by its colour: reversed once per process and shop."""
    return _brand_stylesheet_url(account.pk, account.brand_color, get_script_prefix(), get_urlconf())


@lru_cache(maxsize=64)
def _brand_stylesheet_url(pk: int, color: str, script_prefix: str, urlconf: str | None) -> str:
    return f"{reverse('orders:brand-css', urlconf, args=[pk])}?v={color.replace('#', '')}"


@register.simple_tag
def static_url(path: str) -> str:
    """`{% static %}`, looked up once per process (the manifest does not change while it runs)."""
    return _static_url(path)


@lru_cache(maxsize=64)
def _static_url(path: str) -> str:
    return static(path)


@receiver(setting_changed)
def _forget_static_urls(*, setting: str, **kwargs) -> None:
    if setting in ("STATIC_URL", "STORAGES", "STATIC_ROOT"):
        _static_url.cache_clear()
