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
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
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
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's, except for answers marked `language_independent` (the widget's images, the info
    API): they never depend on Accept-Language, and a `Vary` on it would split shared caches."""

    def process_response(self, request, response):
        if getattr(response, "language_independent", False):
            return response
        return super().process_response(request, response)


def language_independent(view):
    """Mark the view's responses as the same whatever language the browser asks for."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = view(*args, **kwargs)
        response.language_independent = True
        return response

    return wrapper
