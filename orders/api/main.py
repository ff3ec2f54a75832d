"""One django-ninja API for every JSON endpoint, so one OpenAPI document (/v1/openapi.json)
describes them all and one set of error handlers gives every error the same envelope."""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponseNotAllowed
from django.urls import URLPattern
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from orders.api import errors, info, openapi, orders, webhooks
from orders.middleware import LocaleMiddleware


class StatusApi(NinjaAPI):
    def get_root_path(self, path_params) -> str:
        # Our routes carry their full paths (/v1/…, /v4/…, /webhooks/…) from the site root; the
        # default implementation reverses django-ninja's "" root page, which we do not mount.
        return "/"

    def get_openapi_schema(self, *args, **kwargs):
        """django-ninja's document plus what it cannot know: headers and codes the middleware
        and the envelope add, and where the server lives."""
        return openapi.complete(super().get_openapi_schema(*args, **kwargs))


api = StatusApi(
    title="Order status API",
    version="1",
    description=(
        "Order status info for storefronts (parcelLab v4 shape), an orders API for order systems, "
        'and signed webhooks. Errors: `{"error": {"code", "message", "requestId", "details"}}`; '
        "every response carries `X-Request-Id`."
    ),
    openapi_url="/v1/openapi.json",
    docs_url="/v1/docs",
    urls_namespace="orders",
)
errors.install(api)
api.add_router("", info.router)
api.add_router("", orders.router)
api.add_router("", webhooks.router)


def _enveloped_405(view):
    """django-ninja answers a wrong method with a plain-text 405; give it the API's envelope."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            error = errors.ApiError(
                405, "method_not_allowed", f"{request.method} is not allowed here",
                reason=f"Allowed: {response['Allow']}.", headers={"Allow": response["Allow"]},
            )  # fmt: skip
            return errors.error_response(request, error)
        return response

    return wrapper


def _remembered_first(view):
    """The info API: a kept answer is served before django-ninja parses the request. Otherwise the
    view answers, in the browser's language (its error messages are translated) even when the
    fast lane (orders.fastlane) skipped LocaleMiddleware."""
    in_request_language = decorator_from_middleware(LocaleMiddleware)(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        remembered = info.remembered_answer(request)
        if remembered is not None:
            return remembered
        if hasattr(request, "LANGUAGE_CODE"):  # LocaleMiddleware has run
            return view(request, *args, **kwargs)
        return in_request_language(request, *args, **kwargs)

    return wrapper


def urlpatterns() -> list:
    """The API's URL patterns for orders/urls.py (without django-ninja's "" root page)."""
    patterns, _app_name, _namespace = api.urls
    return [
        URLPattern(p.pattern, _view(p.name, p.callback), p.default_args, p.name)
        for p in patterns
        if getattr(p, "name", None) != "api-root"
    ]


def _view(name: str | None, view):
    if name == "webhook":  # Django calls the webhook view itself: django-ninja only documents it
        return _in_request_language(_enveloped_405(_api_errors(webhooks.receive)))
    view = _enveloped_405(view)
    return _remembered_first(view) if name == "info" else view


def _api_errors(view):
    """A view outside django-ninja's dispatch, with its error handlers all the same: every
    exception gets the answer it would get from an operation (the envelope, 413, 503, …)."""

    @csrf_exempt  # signed machine-to-machine calls, as django-ninja's operations are exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Exception as exc:
            return api.on_exception(request, exc)

    return wrapper


def _in_request_language(view):
    """A webhook's errors (a 409's reason) in the sender's language, also in the fast lane. Only
    a synchronous application says anything translated (WEBHOOK_APPLY=async answers 202)."""
    in_request_language = decorator_from_middleware(LocaleMiddleware)(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if hasattr(request, "LANGUAGE_CODE") or settings.WEBHOOK_APPLY == "async":
            return view(request, *args, **kwargs)
        return in_request_language(request, *args, **kwargs)

    return wrapper


def not_found(request: HttpRequest, path: str = ""):
    """Unknown paths under /v1/ answer in the API's envelope, not with an HTML page."""
    return errors.json_error(request, errors.not_found("No such endpoint"))
