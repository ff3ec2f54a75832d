"""Rendered answers cached per request, valid exactly as long as the order's state is.

A storefront polls the info API with the same parameters over and over. Each answer is kept
under a hash of its query string (plus today's date, since an ETA passing makes an order
"Delayed" without a state change, and whatever else the answer depends on, e.g. the API key),
together with the state version of the order it was built from. It is served again only while
`orders.state_cache` still publishes that version: any lifecycle change, a revocation included,
retires it on the next request. Only answers that the parameters alone grant are cached
(`LookupResult.shareable`: never "not found", never one opened by a guessable second factor,
never a staff session's), so serving one skips the resolver but no access check.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from orders import state_cache
from orders.models import Order

TIMEOUT = 300


@dataclass(frozen=True)
class Answer:
    order_id: int
    state_version: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...]
    expires_at: float  # unix time
    exp: int | None = None  # a signed link's expiry, checked on every hit

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, content_type=self.content_type)
        for name, value in self.headers:
            response[name] = value
        return response


def request_key(scope: str, request: HttpRequest, *context: str) -> str | None:
    """The cache key of this request, or None when its answer must not be shared.

    A request carrying a session cookie may be staff, whose answers differ (hidden events).
    """
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None
    material = "\x1f".join(
        (scope, timezone.localdate().isoformat(), request.META.get("QUERY_STRING", ""), *context)
    )
    return f"answer:{scope}:" + hashlib.sha256(material.encode()).hexdigest()[:40]  # no personal data


def fresh(key: str | None) -> Answer | None:
    """The cached answer if the order has not changed since it was built: no database."""
    if key is None:
        return None
    answer = cache.get(key)
    if answer is None or state_cache.current(answer.order_id) != answer.state_version:
        return None
    now = time.time()
    if answer.expires_at <= now or (answer.exp is not None and answer.exp <= now):
        return None
    return answer


def remember(key: str | None, response: HttpResponse, *, order: Order, exp: int | None = None) -> None:
    """Keep `response` for later requests with the same key (only 200s are worth it)."""
    if key is None or response.status_code != 200:
        return
    state_cache.remember(order.pk, order.state_version)
    headers = tuple((name, value) for name, value in response.items() if name != "Content-Type")
    answer = Answer(
        order_id=order.pk,
        state_version=order.state_version,
        body=response.content,
        content_type=response["Content-Type"],
        headers=headers,
        expires_at=time.time() + TIMEOUT,
        exp=exp,
    )
    cache.set(key, answer, TIMEOUT)
