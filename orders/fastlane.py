"""A fast lane for the `/v4/track/` answers: the info API and the PNG widget.

Storefronts poll the info API and email clients reopen the widget image, many times a second,
and neither uses sessions, users, messages, CSRF tokens, htmx or the browser's language (their
answers say which language they are in; see `orders.middleware.language_independent`). Behind
the full MIDDLEWARE those cost about as much as the cached answer itself, so `FastLaneMiddleware`
(outermost) sends such requests through the shorter FAST_LANE_MIDDLEWARE instead, which keeps
what they do need: the request id, the security headers, host validation and Content-Length,
the 400 for unreadable input and the 503 while the database is away.

Only requests whose answer cannot depend on the skipped middleware take the lane: a GET or HEAD
of exactly one of `ANSWERS`, or a POST to one of the inbound webhooks (signed machine-to-machine
calls; their view is exempt from CSRF and reads no session or user), without a session cookie.
A request carrying a session cookie may be staff's (who see hidden events), any other POST would
meet the CSRF check: both take the full chain, as does every other path (so 404s, slash
redirects and translated error pages stay as they were).
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
WEBHOOK = "orders:webhook"
SAFE_METHODS = frozenset({"GET", "HEAD"})
NOBODY = AnonymousUser()  # stateless: one instance serves every request


class FastLaneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.lane = Lane(settings.FAST_LANE_MIDDLEWARE)
        self.paths: frozenset[str] | None = None  # reversed on the first request (URLconf loaded)
        self.posts: frozenset[str] = frozenset()

    def __call__(self, request):
        if self.takes_lane(request):
            request.user = NOBODY
            return self.lane.chain(request)
        return self.get_response(request)

    def takes_lane(self, request) -> bool:
        if self.paths is None:
            from orders.webhooks import SOURCES  # the sources, not a pattern: the lane keeps each path

            self.posts = frozenset(reverse(WEBHOOK, kwargs={"source": source}) for source in SOURCES)
            self.paths = frozenset(reverse(name) for name in ANSWERS)
        if request.method in SAFE_METHODS:
            paths = self.paths
        elif request.method == "POST":
            paths = self.posts
        else:
            return False
        # reverse() includes the script prefix, as does request.path
        return request.path in paths and settings.SESSION_COOKIE_NAME not in request.COOKIES


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
