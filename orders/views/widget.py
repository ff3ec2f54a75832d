"""GET /v4/track/orders/info-widget/: the order's status as a PNG image for shipping emails.

Always answers an image, never a broken one: a neutral notice with status 400 (bad parameters),
404 (unknown order, not enough to open it, expired or revoked link), 429 (too many failed
attempts) or 503 (our fault: logged, retried by the next open). See docs/widget.md.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import translation
from django.views.decorators.http import require_safe

from orders import branding, lookup, outages
from orders.lookup import Access, LookupInvalid
from orders.middleware import language_independent
from orders.ratelimits import RateLimited
from orders.widget import cache as widget_cache
from orders.widget.cache import Entry, WidgetInvalid

logger = logging.getLogger(__name__)


class Unavailable(Exception):
    """Nothing to show: the same answer for unknown, unverified, expired and revoked."""


def png_errors(view):
    """Turn every failure into a notice image in the widget's size and the requested language."""

    @wraps(view)
    def wrapper(request):
        lang = widget_cache.requested_language(request.GET)
        with translation.override(lang):
            try:
                return view(request)
            except WidgetInvalid as exc:
                return _notice(request, 400, "invalid", lang, exc.message, options=exc.options)
            except LookupInvalid as exc:
                return _notice(request, 400, "invalid", lang, ": ".join(exc.first))
            except Unavailable:
                return _notice(request, 404, "unavailable", lang)
            except RateLimited as exc:  # 503 when the failed-guess counters cannot be reached
                kind = "rate_limited" if exc.status == 429 else "error"
                response = _notice(request, exc.status, kind, lang)
                response["Retry-After"] = str(exc.retry_after)
                return response
            except outages.CONNECTION_ERRORS as exc:
                outages.log_database_unavailable(request, exc)
                response = _notice(request, 503, "error", lang)
                response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY)
                return response
            except Exception:
                logger.exception("widget: cannot answer %s", request.path)
                response = _notice(request, 503, "error", lang)
                response["Retry-After"] = "60"
                return response

    return wrapper


@require_safe
@language_independent
def info_widget(request):
    entry = widget_cache.fresh_entry(widget_cache.request_key(request))  # no parsing, no database
    return _png(request, entry) if entry else _draw(request)


@png_errors
def _draw(request):
    options = widget_cache.parse_options(request.GET)
    params = branding.scoped_params(request)
    result = lookup.resolve(params, request=_anonymous_unless_cookie(request), for_widget=True)
    if result.access == Access.NONE:
        raise Unavailable
    entry = widget_cache.entry_for(result, options)
    widget_cache.remember(widget_cache.request_key(request), entry)
    return _png(request, entry)


def _png(request, entry: Entry) -> HttpResponse:
    max_age = settings.WIDGET_MAX_AGE
    headers = {
        "ETag": entry.etag,
        "Cache-Control": f"public, max-age={max_age}" if entry.shared else "private, no-cache",
        "Content-Language": entry.lang,
    }
    if widget_cache.not_modified(request, entry.etag):
        return HttpResponseNotModified(headers=headers)
    return HttpResponse(entry.png, content_type="image/png", headers=headers)


def _notice(request, status: int, kind: str, lang: str, detail: str = "", options=None) -> HttpResponse:
    if options is None:
        try:
            options = widget_cache.parse_options(request.GET)
        except WidgetInvalid as exc:
            options = exc.options
    # Branded only once the parameters were read (never for a request refused as malformed).
    shop = _named_shop(request) if kind in ("unavailable", "rate_limited") else ("", "")
    png = widget_cache.message_png(kind, options, lang, detail, shop=shop)
    headers = {"Cache-Control": "no-store", "Content-Language": lang}
    return HttpResponse(png, content_type="image/png", status=status, headers=headers)


def invalid_png(request, detail: str) -> HttpResponse:
    """The "invalid parameters" notice (400) for a request refused before the view."""
    return _notice(request, 400, "invalid", settings.LANGUAGE_CODE, detail)


def _named_shop(request) -> tuple[str, str]:
    """The shop the URL or host names, for a branded notice: the same for every order of that
    shop, so it tells nothing about whether an order exists."""
    try:
        account = branding.named_account(request)
    except LookupInvalid:
        account = None
    return (account.name, account.brand_color) if account else ("", "")


def _anonymous_unless_cookie(request):
    """Without a session cookie nobody is signed in: skip loading the session (and the `Vary:
    Cookie` it adds), so the slow path answers with the same headers as the cached one."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        request.user = AnonymousUser()
    return request
