"""Answers for when a backing service is briefly away: 503 with Retry-After, never a 500.

PostgreSQL restarting (or refusing connections) raises OperationalError / InterfaceError in
whatever view was running. `DatabaseUnavailableMiddleware` turns that into a 503 with
Retry-After: a friendly page for people, the API's JSON envelope under /v1/, /v4/ and
/webhooks/. It logs one line, not a traceback. Django discards the broken connection at the end
of the request (CONN_HEALTH_CHECKS), so the next request reconnects: no worker restart.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger(__name__)

CONNECTION_ERRORS = (OperationalError, InterfaceError)
JSON_PREFIXES = ("/v1/", "/v4/track/orders/info/", "/webhooks/")


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, CONNECTION_ERRORS)


def log_database_unavailable(request: HttpRequest | None, exc: BaseException) -> None:
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    logger.warning(
        "database unavailable for %s %s: %s: %s",
        getattr(request, "method", "-"), getattr(request, "path", "-"), type(exc).__name__, first_line,
    )  # fmt: skip


def unavailable_page(request: HttpRequest, retry_after: int, *, lang: str = "") -> HttpResponse:
    """The friendly 503 page (an htmx request gets its partial)."""
    template = (
        "orders/partials/_unavailable.html" if getattr(request, "htmx", False) else "orders/unavailable.html"
    )
    with translation.override(lang or getattr(request, "LANGUAGE_CODE", "") or settings.LANGUAGE_CODE):
        body = render_to_string(template, {}, request=request)
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def unavailable_json(request: HttpRequest, retry_after: int) -> HttpResponse:
    from orders.api.errors import error_payload

    payload = error_payload(
        request,
        "service_unavailable",
        "The service is briefly unavailable",
        reason=f"Retry in {retry_after} seconds.",
    )
    response = JsonResponse(payload, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Innermost middleware: a lost database connection in a view becomes a 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_connection_error(exception):
            return None
        log_database_unavailable(request, exception)
        retry_after = settings.DATABASE_UNAVAILABLE_RETRY
        if request.path.startswith(JSON_PREFIXES):
            return unavailable_json(request, retry_after)
        return unavailable_page(request, retry_after)
