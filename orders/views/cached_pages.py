"""Shopper pages answered again from the answer cache (orders.cache.answers), byte for byte.

A page is kept only when the request alone decides it: a signed link (which opens past any
lockout), a tracking number alone (the limited view, nothing personal), or the lookup form. Never
a page opened by an email address or postal code (a cached answer would skip the failed-guess
lockout), never one a session may have changed (staff), never a "not found" or an error. A kept
page is served while its order's state version is the published one, so a change, a revocation
or an erasure retires it; a signed link's expiry is checked on every hit.

What differs per request stays out of the kept copy: the CSRF token of the page's form (the copy
holds a placeholder, replaced by this visitor's token on the way out), and the headers the view's
decorators and the middleware add (never_cache, CSP, cookies).
"""

from __future__ import annotations

import functools
import os
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from http.cookies import Morsel

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date

from orders.cache import answers as answer_cache
from orders.cache.answers import PageAnswer
from orders.http_headers import store, vary_on

# Rendered where {% csrf_token %} puts the token in a page that may be kept.
CSRF_PLACEHOLDER = "csrf-token-of-this-request"
_PLACEHOLDER = CSRF_PLACEHOLDER.encode()


@dataclass(frozen=True)
class Origin:
    """What a keepable page was built from: it lives while these hold."""

    order_id: int = 0  # 0: no order (the lookup form)
    state_version: int = 0
    exp: int | None = None  # a signed link's expiry
    zone: str = ""  # the shop's time zone: the page's words about "today" end at its midnight


def cached_page(scope: str, *, params):
    """Serve the view's page from the cache when an identical request was answered before, and
    keep the page the view marks as keepable (see `keepable`)."""
    known = frozenset(params)

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            key = answer_cache.page_key(scope, request, params=known)
            if (answer := answer_cache.fresh_page(key)) is not None:
                return with_csrf_token(request, answer.response(), answer.body)
            if settings.SESSION_COOKIE_NAME not in request.COOKIES:
                # Nobody is signed in: skip loading a session (and the `Vary: Cookie` it adds), so
                # a fresh page answers with the same headers as a kept one.
                request.user = AnonymousUser()
            response = view(request, *args, **kwargs)
            kept = getattr(response, "kept_body", None)
            if kept is None:
                return response
            origin: Origin = response.origin
            answer = PageAnswer.of(
                kept,
                response,
                order_id=origin.order_id,
                state_version=origin.state_version,
                exp=origin.exp,
                expires_at=_expiry(origin.zone),
            )
            answer_cache.remember_page(key, answer)
            return response

        return wrapper

    return decorate


NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def never_cache(view):
    """Django's `never_cache` (personal data: no browser or proxy keeps it), with the headers set
    at once when the view set none, which is every page here (patching costs as much as serving
    a kept page)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        headers = store(response)
        if "cache-control" in headers or "expires" in headers:
            add_never_cache_headers(response)
        else:
            headers["expires"] = ("Expires", _http_date(int(time.time())))
            headers["cache-control"] = ("Cache-Control", NEVER_CACHE)
        return response

    return wrapper


@functools.lru_cache(maxsize=2)
def _http_date(second: int) -> str:
    """The HTTP date of a second, formatted once for all the pages answered within it (two kept:
    a page's Expires, now, and its CSRF cookie's, a year on)."""
    return http_date(second)


def keepable(response: HttpResponse, request: HttpRequest, origin: Origin) -> HttpResponse:
    """Mark a page rendered with CSRF_PLACEHOLDER as keepable, and give it this request's token."""
    response.kept_body = response.content
    response.origin = origin
    return with_csrf_token(request, response, response.content)


def with_csrf_token(request: HttpRequest, response: HttpResponse, body: bytes) -> HttpResponse:
    if _PLACEHOLDER in body:  # the page has a form: this visitor's token (and cookie)
        response.content = body.replace(_PLACEHOLDER, csrf_token(request).encode())
        if send_csrf_cookie(request, response):
            request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False  # CsrfViewMiddleware need not send it again
    return response


def send_csrf_cookie(request: HttpRequest, response: HttpResponse) -> bool:
    """Set the CSRF cookie as CsrfViewMiddleware would (its `_set_csrf_cookie`: the same name,
    value and attributes, and `Vary: Cookie`), from a cookie prepared once per process for the
    settings in force instead of built attribute by attribute, which cost a tenth of serving a
    kept page. False, and nothing set, where Django's way differs (CSRF_USE_SESSIONS, or a cookie
    that ends with the browser session): the middleware sets it then."""
    prepared = _prepared_csrf_cookie()
    if prepared is None:
        return False
    template, age = prepared
    cookie = _CsrfCookie.__new__(_CsrfCookie)  # a copy of the template, without Morsel's __init__
    dict.update(cookie, template)
    dict.__setitem__(cookie, "expires", _http_date(int(time.time()) + age))
    secret = request.META["CSRF_COOKIE"]  # CSRF_ALLOWED_CHARS need no quoting
    cookie.__dict__.update(_key=template.key, _value=secret, _coded_value=secret)
    response.cookies[template.key] = cookie
    vary_on(response, "Cookie")
    return True


class _CsrfCookie(Morsel):
    """The CSRF cookie, written out as Morsel.OutputString writes it but with its attributes'
    text worked out once per set of attributes (per second: the expiry) rather than per answer."""

    def OutputString(self, attrs=None):
        if attrs is not None:
            return super().OutputString(attrs)
        return f"{self.key}={self.coded_value}{_attributes_text(tuple(dict.items(self)))}"


@functools.lru_cache(maxsize=8)
def _attributes_text(attributes: tuple[tuple[str, str], ...]) -> str:
    """What Morsel.OutputString writes after "name=value" for these attributes."""
    morsel = Morsel()
    dict.update(morsel, attributes)
    morsel.set("n", "", "")
    return morsel.OutputString()[len("n=") :]


@functools.cache
def _prepared_csrf_cookie() -> tuple[Morsel, int] | None:
    """The CSRF cookie's attributes as HttpResponse.set_cookie writes them (the expiry is set per
    answer) and its age; None where CsrfViewMiddleware must set the cookie itself. Prepared again
    when a CSRF setting changes."""
    age = settings.CSRF_COOKIE_AGE
    if settings.CSRF_USE_SESSIONS or age is None:
        return None
    response, name = HttpResponse(), settings.CSRF_COOKIE_NAME
    response.set_cookie(
        name,
        "",
        max_age=int(age),
        domain=settings.CSRF_COOKIE_DOMAIN,
        path=settings.CSRF_COOKIE_PATH,
        secure=settings.CSRF_COOKIE_SECURE,
        httponly=settings.CSRF_COOKIE_HTTPONLY,
        samesite=settings.CSRF_COOKIE_SAMESITE,
    )
    return response.cookies[name], int(age)


@receiver(setting_changed)
def _csrf_settings_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith("CSRF_"):
        _prepared_csrf_cookie.cache_clear()


def csrf_token(request: HttpRequest) -> str:
    """What `django.middleware.csrf.get_token` returns and arranges (this visitor's secret, a new
    one in the CSRF cookie for a first visit, masked afresh for every page), with its random
    characters drawn from one `os.urandom` read instead of a system call per character (Django's
    way cost a first visit's page ~0.1 ms, about as much as serving it)."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:  # a new secret, which CsrfViewMiddleware sends as the cookie, and its mask
        drawn = _random_chars(2 * CSRF_SECRET_LENGTH)
        secret, mask = drawn[:CSRF_SECRET_LENGTH], drawn[CSRF_SECRET_LENGTH:]
        request.META["CSRF_COOKIE"] = secret
    else:
        mask = _random_chars(CSRF_SECRET_LENGTH)
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # (re)sent, renewing its expiry, as get_token does
    return mask + "".join(map(_MASKED.__getitem__, zip(secret, mask, strict=True)))


# Django's masking of one secret character by one mask character (csrf._mask_cipher_secret), as a
# table: the sum of their positions in CSRF_ALLOWED_CHARS, modulo its length.
_MASKED = {
    (x, y): CSRF_ALLOWED_CHARS[(i + j) % len(CSRF_ALLOWED_CHARS)]
    for i, x in enumerate(CSRF_ALLOWED_CHARS)
    for j, y in enumerate(CSRF_ALLOWED_CHARS)
}
# Random bytes as CSRF_ALLOWED_CHARS: each byte below the largest multiple of the alphabet's length
# maps evenly onto a character; the few above it are dropped.
_UNBIASED = 256 - 256 % len(CSRF_ALLOWED_CHARS)
_AS_CHARS = (CSRF_ALLOWED_CHARS * (256 // len(CSRF_ALLOWED_CHARS)))[:_UNBIASED].encode().ljust(256)
_BIASED = bytes(range(_UNBIASED, 256))


def _random_chars(length: int) -> str:
    """`length` characters drawn uniformly from CSRF_ALLOWED_CHARS by the system's CSPRNG."""
    drawn = b""
    while len(drawn) < length:
        drawn += os.urandom(length + 8).translate(_AS_CHARS, _BIASED)
    return drawn[:length].decode()


def _expiry(zone_name: str) -> float:
    """Unix time the page stops being served: PAGE_CACHE_SECONDS from now, or the next midnight
    of the shop's time zone if sooner."""
    now = time.time()
    try:
        zone = zoneinfo.ZoneInfo(zone_name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    local = datetime.fromtimestamp(now, zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return min(now + settings.PAGE_CACHE_SECONDS, midnight.timestamp())
