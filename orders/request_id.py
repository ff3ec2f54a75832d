"""A request id on every response (`X-Request-Id`) and on every log line written while serving it.

An id sent by a trusted caller or proxy (`X-Request-Id`, letters, digits and `-_.:`, at most 100
characters) is kept so one id follows a request through several systems; anything else gets a
fresh `req_…` id. API errors quote the same id as `requestId`, so a support request that quotes it
finds the matching log lines.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets

HEADER = "X-Request-Id"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,100}")  # the whole value (fullmatch)
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


def current() -> str:
    """The id of the request being served on this thread, or "-" outside a request."""
    return _current.get()


def for_request(request) -> str:
    return getattr(request, "request_id", None) or current()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _ACCEPTED.fullmatch(incoming) else new_request_id()
        # Not reset afterwards: Django logs 4xx/5xx responses ("django.request") after the
        # middleware chain returns; the next request on this thread sets its own id.
        _current.set(request.request_id)
        response = self.get_response(request)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record so the log format can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or _current.get()
        return True
