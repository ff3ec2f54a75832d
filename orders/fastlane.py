"""Fast lanes: the answers asked for most often skip the middleware they do not use.

Storefronts poll the info API and email clients reopen the widget image, many times a second,
and neither uses sessions, users, messages, CSRF tokens, htmx or the browser's language (their
answers say which language they are in; see `orders.middleware.language_independent`). Behind
the full MIDDLEWARE those cost about as much as the cached answer itself, so `FastLaneMiddleware`
(outermost) sends such requests through the shorter FAST_LANE_MIDDLEWARE instead, which keeps
what they do need: the request id, the security headers, host validation and Content-Length,
the 400 for unreadable input and the 503 while the database is away.

Shoppers' pages (the lookup form, the status page and its htmx partials) do use the language,
CSRF tokens (their forms) and htmx, but a shopper without a session cookie has no session, is
nobody, and is never shown messages, and a page's exact path is never a static file: their GETs
take PAGE_LANE_MIDDLEWARE, the full list without static files, sessions, auth and messages.

Only requests whose answer cannot depend on the skipped middleware take a lane: a GET or HEAD
of exactly one of `ANSWERS` or `PAGES`, or a POST to one of the inbound webhooks (signed
machine-to-machine calls; their view is exempt from CSRF and reads no session or user), without a
session cookie. A request carrying a session cookie may be staff's (who see hidden events), any
other POST would meet the CSRF check: both take the full chain, as does every other path (so
404s, slash redirects and translated error pages stay as they were).
The info API's and the webhooks' own errors speak the caller's language: those views apply the
locale middleware themselves when the lane skipped it (`orders.api.main`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.urls import reverse
from django.utils.module_loading import import_string

# URL names of the answers that take the lane, and of the webhooks (by source) for POSTs.
ANSWERS = ("orders:info", "orders:info-widget")
PAGES = ("orders:home", "orders:track", "orders:track-status", "orders:track-timeline")
WEBHOOK = "orders:webhook"
SAFE_METHODS = frozenset({"GET", "HEAD"})
NOBODY = AnonymousUser()  # stateless: one instance serves every request


class FastLaneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.answers = Lane(settings.FAST_LANE_MIDDLEWARE)
        self.pages = Lane(settings.PAGE_LANE_MIDDLEWARE)
        self.lanes: dict[tuple[str, str], Lane] | None = None  # reversed on the first request

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            lane = self.lane_of(request)
            if lane is not None:
                request.user = NOBODY
                return lane.chain(request)
        return self.get_response(request)

    def lane_of(self, request) -> Lane | None:
        """The lane for the request's method and path (reverse() includes the script prefix, as
        does request.path), None for the full chain."""
        if self.lanes is None:  # the URLconf is loaded by the first request
            from orders.webhooks import SOURCES  # the sources, not a pattern: the lane keeps each path

            lanes = {}
            for method in SAFE_METHODS:
                lanes |= {(method, reverse(name)): self.answers for name in ANSWERS}
                lanes |= {(method, reverse(name)): self.pages for name in PAGES}
            webhooks = (reverse(WEBHOOK, kwargs={"source": source}) for source in SOURCES)
            lanes |= {("POST", path): self.answers for path in webhooks}
            self.lanes = lanes
        return self.lanes.get((request.method, request.path))


class Lane(BaseHandler):
    """Django's own request handling (view, process_view and process_exception hooks, template
    responses) behind another middleware list, with each path's URL resolved once per process:
    the lane takes a few exact paths only, so their matches never change."""

    def __init__(self, middleware: list[str]):
        super().__init__()
        self.middleware = list(middleware)
        self.matches: dict[tuple[str, str], object] = {}
        self.load_middleware()

    def load_middleware(self, is_async: bool = False) -> None:
        """BaseHandler.load_middleware for `self.middleware` (synchronous middleware only)."""
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(self.middleware):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler

    def chain(self, request):
        """The response, from inside the outer handler (which sets the URLconf, logs errors and
        closes the request)."""
        return self._middleware_chain(request)

    def resolve_request(self, request):
        key = (settings.ROOT_URLCONF, request.path_info)  # no lane middleware sets request.urlconf
        match = self.matches.get(key)
        if match is None:
            match = self.matches[key] = super().resolve_request(request)
        request.resolver_match = match
        return match
