"""One error envelope for every JSON endpoint, as the order system's docs show it:

    {"error": {"code": "validation_error", "message": "The request body is invalid",
               "requestId": "req_…", "details": {"field": "shippingAddress.zip", "reason": "…"}}}

Every failure path (django-ninja's own validation, authentication and 404 errors, our domain
errors, oversized bodies, rate limits, and anything unexpected) ends here, so clients parse one
shape and support can find the log lines by `requestId`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from orders import outages, request_id
from orders.errors import RequestRefused
from orders.lifecycle import TransitionError
from orders.orders_service import IdempotencyConflict, IdempotentOrderGone, OrderExists
from orders.ratelimits import RateLimited
from orders.validation_errors import error_location, join_path, reason

logger = logging.getLogger("orders.api")


class ErrorDetails(Schema):
    field: str
    reason: str


class ErrorBody(Schema):
    code: str
    message: str
    requestId: str
    details: ErrorDetails | None = None


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    """A client error with its HTTP status and machine-readable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str = "",
        reason: str = "",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field, self.reason = field, reason
        self.headers = headers or {}


def validation_error(field: str, reason: str, message: str = "The request is invalid") -> ApiError:
    return ApiError(400, "validation_error", message, field=field, reason=reason)


def not_found(message: str = "No such resource") -> ApiError:
    return ApiError(404, "not_found", message)


def error_payload(request: HttpRequest | None, code: str, message: str, field: str = "", reason: str = ""):
    body: dict[str, Any] = {"code": code, "message": message, "requestId": request_id.for_request(request)}
    if field or reason:
        body["details"] = {"field": field, "reason": reason}
    return {"error": body}


def error_response(request: HttpRequest | None, error: ApiError) -> HttpResponse:
    response = JsonResponse(
        error_payload(request, error.code, error.message, error.field, error.reason), status=error.status
    )
    for name, value in error.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    level = logging.WARNING if error.status >= 500 else logging.INFO
    logger.log(level, "%s %s -> %s %s: %s", getattr(request, "method", "-"), getattr(request, "path", "-"),
               error.status, error.code, error.reason or error.message)  # fmt: skip
    return response


# --- translating django-ninja's validation errors ----------------------------------------------

_SOURCE_MESSAGES = {
    "body": "The request body is invalid",
    "query": "The query parameters are invalid",
    "path": "The URL is invalid",
    "header": "A request header is invalid",
}


def field_path(loc: tuple | list) -> str:
    """("body", "payload", "shippingAddress", "zip") → "shippingAddress.zip"; list items as [0]."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]  # "body" and the view's parameter name
    elif parts and parts[0] in _SOURCE_MESSAGES:
        parts = parts[1:]
    return join_path(parts)


def from_validation_errors(errors: list[dict]) -> ApiError:
    first = errors[0] if errors else {"loc": ("body",), "msg": "Invalid request"}
    loc = error_location(first)
    source = loc[0] if loc else "body"
    field = field_path(loc)
    if source == "body" and not field:
        return validation_error("body", "A JSON object is required.", _SOURCE_MESSAGES["body"])
    return validation_error(field, reason(first), _SOURCE_MESSAGES.get(source, "The request is invalid"))


def install(api: NinjaAPI) -> None:
    """Route every exception django-ninja sees through the envelope."""

    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        return error_response(request, exc)

    @api.exception_handler(ValidationError)
    def _validation(request, exc: ValidationError):
        return error_response(request, from_validation_errors(exc.errors))

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request, exc):
        return error_response(request, unauthorized())

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        if exc.status_code == 400:  # django-ninja's "Cannot parse request body"
            error = validation_error("body", "The body is not valid JSON.", "The request body is invalid")
        elif exc.status_code == 404:
            error = not_found()
        else:
            error = ApiError(exc.status_code, "error", str(exc))
        return error_response(request, error)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return error_response(request, not_found())

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        return error_response(request, payload_too_large())

    @api.exception_handler(RateLimited)
    def _rate_limited(request, exc: RateLimited):
        if exc.status == 503:  # the failed-guess counters cannot be reached: a guess must wait
            return outages.unavailable_json(request, exc.retry_after)
        return error_response(request, rate_limited(exc.retry_after))

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def _database_unavailable(request, exc):
        outages.log_database_unavailable(request, exc)
        return outages.unavailable_json(request, settings.DATABASE_UNAVAILABLE_RETRY)

    @api.exception_handler(RequestRefused)
    def _refused(request, exc: RequestRefused):
        return error_response(
            request, ApiError(exc.status, exc.code, exc.message, field=exc.field, reason=exc.reason)
        )

    @api.exception_handler(TransitionError)
    def _transition(request, exc: TransitionError):
        reason = f"{exc.current} → {exc.requested}" if exc.current and exc.requested else ""
        return error_response(
            request, ApiError(409, "invalid_transition", str(exc), field="status", reason=reason)
        )

    @api.exception_handler(IdempotencyConflict)
    def _idempotency(request, exc):
        return error_response(
            request,
            ApiError(
                409,
                "idempotency_key_conflict",
                "An order with this idempotency key already exists",
                field="Idempotency-Key",
                reason="This key was used with a different request body.",
            ),
        )

    @api.exception_handler(IdempotentOrderGone)
    def _gone(request, exc):
        return error_response(
            request,
            ApiError(
                410,
                "gone",
                "The order created with this idempotency key no longer exists",
                field="Idempotency-Key",
                reason="It was deleted or its personal data erased; use a new key to create an order.",
            ),
        )

    @api.exception_handler(OrderExists)
    def _exists(request, exc: OrderExists):
        return error_response(
            request,
            ApiError(
                409,
                "order_exists",
                str(exc),
                field=exc.field,
                reason=f"Existing order: {exc.order.public_id}",
            ),
        )

    @api.exception_handler(Exception)
    def _unexpected(request, exc):
        logger.exception("Unexpected error in %s %s", request.method, request.path)
        return error_response(
            request, ApiError(500, "internal_error", "Something went wrong on our side; it was logged.")
        )


def unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "A valid API key is required",
        reason="Send the key as `X-API-Key: <key>` or `Authorization: Bearer <key>`.",
        field="X-API-Key",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def payload_too_large() -> ApiError:
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return ApiError(
        413, "payload_too_large", "The request body is too large", field="body",
        reason=f"The body may be at most {limit} bytes.",
    )  # fmt: skip


def rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        "Too many requests",
        reason=f"Retry in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def json_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    """For plain Django views outside django-ninja (e.g. unknown /v1/ paths)."""
    return error_response(request, error)
