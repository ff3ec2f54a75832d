"""API-key authentication: `X-API-Key: <key>` or `Authorization: Bearer <key>`.

A valid key binds the request to its account (`request.auth.account`); every query of the orders
API is scoped to that account, so a key never sees another account's orders. Each key is rate
limited (API_KEY_RATE).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from orders import apikeys
from orders.api.errors import unauthorized
from orders.models import ApiKey


def _accept(request: HttpRequest, raw: str | None) -> ApiKey | None:
    api_key = apikeys.verify(raw or "")
    if api_key is not None:
        admit(request, api_key)
    return api_key


def admit(request: HttpRequest, api_key: ApiKey) -> None:
    """Count the call against the key's rate (RateLimited past it) and bind the request to it."""
    apikeys.count_call(api_key)
    request.api_key = api_key


class ApiKeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return _accept(request, key)


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return _accept(request, token)


REQUIRED = [ApiKeyAuth(), BearerAuth()]


def presented_key(request: HttpRequest) -> str:
    # META rather than request.headers, which would copy every header of every polling request.
    raw = request.META.get("HTTP_X_API_KEY", "")
    if raw:
        return raw
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def optional_account(request: HttpRequest):
    """The key's account when a key is sent; None without one; 401 for a wrong key.

    A wrong key is refused rather than ignored, so a misconfigured storefront sees its mistake
    instead of silently getting the shopper-level view.
    """
    raw = presented_key(request)
    if not raw:
        return None
    api_key = _accept(request, raw)
    if api_key is None:
        raise unauthorized()
    return api_key.account
