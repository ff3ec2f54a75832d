"""Security headers for the shopper pages.

Shopper pages carry a signature in their URL and personal data in their body, so every HTML
response gets a strict Content-Security-Policy (no inline script or style: htmx is served from
static/ and the brand colour comes from a stylesheet), and is kept out of search engines. The
admin keeps Django's own defaults.

Referrer-Policy stays the site-wide "same-origin" (settings): a page under "no-referrer" makes
browsers send `Origin: null` with its form posts, which the CSRF check refuses. The status page
opened by a signed link, which has no form, sends "no-referrer" itself (orders.views.pages).
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

from orders.http_headers import set_default, vary_on

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: https:",  # product images come from the shop's own servers
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    )
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt_prefixes = tuple(getattr(settings, "SECURITY_HEADERS_EXEMPT_PREFIXES", ("/admin/",)))

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(self.exempt_prefixes):
            return response
        if response.get("Content-Type", "").startswith("text/html"):
            set_default(response, "Content-Security-Policy", CONTENT_SECURITY_POLICY)
        set_default(response, "X-Robots-Tag", "noindex, nofollow")
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's, except for answers marked `language_independent` (the widget's images, the info
    API): they never depend on Accept-Language, and a `Vary` on it would split shared caches.

    Without i18n_patterns in the URLconf (ours has none) no language comes from the path, so the
    path is not searched for one on every request and response: the language comes from the
    cookie or Accept-Language as Django decides, and the response says which one and that it
    varies with Accept-Language, as Django's does."""

    def process_request(self, request):
        if _language_prefixed(request):
            return super().process_request(request)
        language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.to_language(language)  # what get_language() now says

    def process_response(self, request, response):
        if getattr(response, "language_independent", False):
            return response
        if _language_prefixed(request):
            return super().process_response(request, response)
        vary_on(response, "Accept-Language")
        if "Content-Language" not in response:  # pages say which language they are in themselves
            response["Content-Language"] = translation.get_language()
        return response


def _language_prefixed(request) -> bool:
    """Whether the request's URLconf has i18n_patterns (cached per URLconf by Django)."""
    return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]


def language_independent(view):
    """Mark the view's responses as the same whatever language the browser asks for."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        response.language_independent = True
        return response

    return wrapper


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL_REASON = "NUL characters are not allowed."
CHARSET_REASON = "Send forms encoded as UTF-8."


class RefuseUnreadableInputMiddleware:
    """A 400 for a NUL character in any query or form parameter (name or value), and for a form
    posted in a charset other than UTF-8, before any view, form or database sees them.

    PostgreSQL refuses NUL in text, so a NUL reaching a query is a 500; rather than trusting every
    view and library (the admin's search included) to validate first, the request stops here.
    The 400 has the shape of the endpoint's other errors: JSON for the APIs, a PNG for the widget,
    the "please check the link" page elsewhere.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reason, name = self.problem(request)
        if reason:
            return bad_request(request, name, reason)
        return self.get_response(request)

    @staticmethod
    def problem(request) -> tuple[str, str]:
        """(reason, parameter name) of what is wrong with the request, or ("", "")."""
        name = _nul_parameter(request.GET)
        if name is not None:
            return NUL_REASON, name
        if request.method == "POST" and request.content_type in FORM_TYPES:
            charset = request.content_params.get("charset", "utf-8")
            if charset.strip().lower() != "utf-8":
                return CHARSET_REASON, "body"
            try:
                name = _nul_parameter(request.POST)
            except UnicodeDecodeError:
                return CHARSET_REASON, "body"
            if name is not None:
                return NUL_REASON, name
        return "", ""


def _nul_parameter(params) -> str | None:
    for name, values in params.lists():
        if "\x00" in name:
            return "query"
        if any("\x00" in value for value in values if isinstance(value, str)):
            return name
    return None


def bad_request(request, name: str, reason: str):
    """A 400 in the endpoint's own shape (imports here: views build on this module)."""
    from django.urls import reverse

    path = request.path
    if path == reverse("orders:info-widget"):
        from orders.views import widget

        return widget.invalid_png(request, f"{name}: {reason}")
    if path.startswith(("/v1/", "/v4/", "/webhooks/")):
        from orders.api import errors

        return errors.json_error(request, errors.validation_error(name, reason, "The request is invalid"))
    from orders.views import pages

    return pages.bad_request(request, {name: [reason]})
