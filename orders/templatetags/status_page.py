"""Template helpers for the shopper pages; the wording itself lives in orders.presentation.

Loaded after `i18n` (`{% load i18n status_page %}`), this library's `{% translate %}` is Django's
with one difference: a constant message's output is kept per language (see KeptTranslateNode).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Variable
from django.templatetags import i18n
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.text import capfirst

from orders import formatting, presentation

register = template.Library()

_catalogues = 0  # counts the changes of the settings translations are read from (tests)


class KeptTranslateNode(i18n.TranslateNode):
    """`{% translate "literal" %}`: rendered once per language (and autoescaping) for the life
    of the compiled template, instead of on every page, where Django makes the message lazy,
    translates and escapes it again each time (a status page has a dozen and a half). Messages
    from variables, with filters, a variable context or `as` are rendered as Django does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        expression = self.filter_expression
        self.constant = (
            isinstance(expression.var, Variable)
            and expression.var.lookups is None
            and not expression.filters
            and self.message_context is None
            and self.asvar is None
        )
        self.kept: dict[tuple, str] = {}

    def render(self, context) -> str:
        if not self.constant:
            return super().render(context)
        key = (_catalogues, translation.get_language(), context.autoescape)
        value = self.kept.get(key)
        if value is None:
            value = self.kept[key] = super().render(context)
        return value


@register.tag("translate")
@register.tag("trans")
def translate(parser, token) -> KeptTranslateNode:
    node = i18n.do_translate(parser, token)
    return KeptTranslateNode(node.filter_expression, node.noop, node.asvar, node.message_context)


@receiver(setting_changed)
def _forget_translations(*, setting: str, **kwargs) -> None:
    global _catalogues
    if setting in ("LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"):
        _catalogues += 1


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
