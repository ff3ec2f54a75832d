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

from django.conf import settings

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
