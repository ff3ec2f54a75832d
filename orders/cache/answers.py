"""Answers cached per request, valid exactly as long as the order's state is.

Email clients reopen the same widget image, storefronts poll the info API with the same
parameters. Each answer is kept under a hash of its query string (plus today's date, since an
ETA passing makes an order "Delayed" without a state change, and whatever else the answer
depends on, e.g. an API key), together with the state version of the order it was built from.
It is served again only while `orders.cache.versions` still publishes that version: any lifecycle
change, a revocation included, retires it. Only answers the parameters alone grant are cached
(`LookupResult.shareable`: never "not found", never one opened by a guessable second factor,
never a staff session's), so serving one skips the resolver but no access check.

Each process also keeps its recent answers in memory. A local copy is served after one cache
round trip that reads the answer's tag and the order's state version together, or with none at
all while it was confirmed less than `CACHE_RECHECK_SECONDS` ago (default 1 s: a change shows
within that second, far inside the time browsers and mail proxies keep an image anyway).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from orders import http_headers
from orders.cache import counters
from orders.cache import versions as state_cache
from orders.lookup import supported_language

LOCAL_ANSWERS = 256  # per process; a widget image is at most ~40 KB

logger = logging.getLogger(__name__)


class Cacheable(Protocol):
    order_id: int
    state_version: int
    tag: str  # names the content: the widget's ETag, a digest of a JSON body
    expires_at: float  # unix time; never served after it
    exp: int | None  # a signed link's expiry, checked on every hit


@dataclass(frozen=True)
class Answer:
    """A rendered HTTP answer (the info API's JSON)."""

    order_id: int
    state_version: int
    tag: str
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...]
    expires_at: float
    exp: int | None = None

    @classmethod
    def of(cls, response: HttpResponse, *, order, exp: int | None, timeout: int) -> Answer:
        return cls(
            order_id=order.pk,
            state_version=order.state_version,
            tag=hashlib.sha256(response.content).hexdigest()[:32],
            body=response.content,
            content_type=response["Content-Type"],
            headers=tuple((name, value) for name, value in response.items() if name != "Content-Type"),
            expires_at=time.time() + timeout,
            exp=exp,
        )

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, content_type=self.content_type)
        for name, value in self.headers:
            response[name] = value
        return response


def request_key(scope: str, request: HttpRequest, *context: str, params: Iterable[str]) -> str | None:
    """The cache key of this request, or None when its answer must not be shared.

    Only the parameters the answer depends on (`params`) make the key, `lang` as the language it
    selects: a stranger adding `&x=1`, `&x=2`, … or `lang=zz1`, `lang=zz2`, … gets the one cached
    answer, and creates no new entry. A request carrying a session cookie may be staff's, whose
    answers differ (hidden events).
    """
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None
    if request.GET.get("live_refresh", "").strip().lower() in ("true", "1", "yes"):
        return None  # it asks the carrier (at most every few minutes), not an answer kept from before
    query = request.GET
    known = [
        (name, [_canonical(name, value) for value in query.getlist(name)])
        for name in sorted(params)
        if name in query
    ]
    material = "\x1f".join((scope, _today(), repr(known), *context))
    return f"answer:{scope}:" + hashlib.sha256(material.encode()).hexdigest()[:40]  # no personal data


def _canonical(name: str, value: str) -> str:
    return supported_language(value) if name == "lang" else value


def fresh(key: str | None):
    """The cached answer if its order has not changed since it was built: no database (but one
    primary-key query per order every CACHE_STATE_SECONDS, see orders.cache.versions).

    A cache that is down must not take the answer down: the caller builds it afresh instead.
    """
    if key is None:
        return None
    now = time.time()
    try:
        answer, checked_at = _local.get(key)
        if answer is not None and now - checked_at >= settings.CACHE_RECHECK_SECONDS:
            state = state_cache.state_key(answer.order_id)
            shared = cache.get_many([_tag_key(key), state])
            if shared.get(_tag_key(key)) != answer.tag:
                return None
            version = shared.get(state) or state_cache.current(answer.order_id)
            if version != answer.state_version:
                return None
            _local.put(key, answer, checked_at=now)
        elif answer is None:
            answer = cache.get(key)
            if answer is None or state_cache.current(answer.order_id) != answer.state_version:
                return None
            _local.put(key, answer, checked_at=now)
    except Exception as exc:  # the cache, or the database re-read of a version
        logger.warning("cached answer not checked (%s): building it afresh", type(exc).__name__)
        return None
    if answer.expires_at <= now or (answer.exp is not None and answer.exp <= now):
        return None
    return answer


def may_cache(order_id: int) -> bool:
    """Whether one more answer (or image) of this order may be cached: at most
    CACHE_ANSWERS_PER_ORDER per CACHE_BUDGET_SECONDS, however many URLs a stranger invents."""
    key = f"answer-budget:{order_id}"
    try:
        return counters.count(key, window=settings.CACHE_BUDGET_SECONDS) <= settings.CACHE_ANSWERS_PER_ORDER
    except Exception:  # no budget to be had (cache down, or the counter just expired): do not cache
        return False


def remember(key: str | None, answer: Cacheable, *, timeout: int) -> None:
    """Keep `answer` for later requests with the same key (within the order's budget)."""
    if key is None or not may_cache(answer.order_id):
        return
    state_cache.remember(answer.order_id, answer.state_version)
    try:
        cache.set_many({key: answer, _tag_key(key): answer.tag}, timeout)
    except Exception as exc:
        logger.warning("answer not cached (%s)", type(exc).__name__)
        return
    _local.put(key, answer, checked_at=time.time())


def _tag_key(key: str) -> str:
    return f"{key}:tag"


class _LocalAnswers:
    """A small per-process LRU; a copy is only served while the shared cache agrees with it."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[str, tuple[Cacheable, float]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> tuple[Cacheable | None, float]:
        """The answer and when it was last confirmed against the shared cache."""
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None, 0.0
            self.entries.move_to_end(key)
            return found

    def put(self, key: str, answer: Cacheable, checked_at: float) -> None:
        with self.lock:
            self.entries[key] = (answer, checked_at)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_local = _LocalAnswers(LOCAL_ANSWERS)


# --- shopper pages ------------------------------------------------------------------------------
# The status page, its htmx partials and the lookup form, kept like the answers above, with what
# a page depends on beyond its query string in its key (path, host, browser language, htmx, the
# accounts' token, the deployed templates and code) and a life that ends at the shop's midnight
# ("Arriving today", "Delayed" follow the calendar). See orders.views.cached_pages.

LOCAL_PAGES = 256  # per process; a page is 10–30 KB


@dataclass(frozen=True)
class PageAnswer:
    """A rendered shopper page; `order_id` 0 for a page about no order (the lookup form)."""

    order_id: int
    state_version: int
    tag: str
    body: bytes
    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    expires_at: float
    exp: int | None = None

    @classmethod
    def of(
        cls,
        body: bytes,
        response: HttpResponse,
        *,
        order_id: int,
        state_version: int,
        exp: int | None,
        expires_at: float,
    ) -> PageAnswer:
        return cls(
            order_id=order_id,
            state_version=state_version,
            tag=hashlib.sha256(body).hexdigest()[:32],
            body=body,
            status=response.status_code,
            content_type=response["Content-Type"],
            headers=tuple((name, value) for name, value in response.items() if name != "Content-Type"),
            expires_at=expires_at,
            exp=exp,
        )

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, content_type=self.content_type, status=self.status)
        http_headers.store(response).update(self._stored_headers)
        return response

    @functools.cached_property
    def _stored_headers(self) -> dict[str, tuple[str, str]]:
        """The headers as Django's ResponseHeaders keeps them: checked and encoded once, when the
        page was built, rather than again for every copy of it."""
        return {name.lower(): (name, value) for name, value in self.headers}


def page_key(scope: str, request: HttpRequest, *, params: frozenset[str]) -> str | None:
    """The cache key of this page request, or None when its page must be built afresh.

    Afresh: anything but GET/HEAD; a session cookie (staff may be signed in, and see more); a
    live refresh; a parameter outside `params` (pages repeat their query in their links, so an
    unknown one would change the page: it is answered, never cached); and whenever the accounts'
    token cannot be read (Redis away). The query is keyed as given, since pages repeat it too;
    the per-order budget (`may_cache`) bounds how many variants a stranger can add.
    """
    if request.method not in ("GET", "HEAD") or settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None
    query = request.GET
    if not params.issuperset(query) or query.get("live_refresh", "").lower() in ("true", "1", "yes"):
        return None
    accounts = state_cache.accounts_version()
    if accounts is None:
        return None
    meta = request.META
    material = "\x1f".join(
        (
            scope,
            request.path,
            meta.get("QUERY_STRING", ""),
            meta.get("HTTP_HOST", ""),
            getattr(request, "LANGUAGE_CODE", ""),
            meta.get("HTTP_HX_REQUEST", ""),
            _today(),
            accounts,
            deployment(),
        )
    )
    return f"page:{scope}:" + hashlib.sha256(material.encode()).hexdigest()[:40]


class _Today:
    """The server's date (pages say "today"), worked out once a day rather than per request."""

    def __init__(self):
        self.date, self.until = "", 0.0

    def __call__(self) -> str:
        now = time.time()
        if now >= self.until:
            local = timezone.localtime()
            midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            self.date, self.until = local.date().isoformat(), min(midnight.timestamp(), now + 3600)
        return self.date


_today = _Today()


def fresh_page(key: str | None) -> PageAnswer | None:
    """The cached page if neither it nor its order changed since it was built (see `fresh`).

    A local copy is confirmed with one cache round trip (its tag and its order's state version
    together), or none while it was confirmed less than CACHE_RECHECK_SECONDS ago.
    """
    if key is None:
        return None
    now = time.time()
    try:
        answer, checked_at = _local_pages.get(key)
        if answer is not None and now - checked_at >= settings.CACHE_RECHECK_SECONDS:
            state = state_cache.state_key(answer.order_id)
            shared = cache.get_many([_tag_key(key), state] if answer.order_id else [_tag_key(key)])
            if shared.get(_tag_key(key)) != answer.tag:
                return None
            if answer.order_id and (shared.get(state) or state_cache.current(answer.order_id)) != (
                answer.state_version
            ):
                return None
            _local_pages.put(key, answer, checked_at=now)
        elif answer is None:
            answer = cache.get(key)
            if answer is None:
                return None
            if answer.order_id and state_cache.current(answer.order_id) != answer.state_version:
                return None
            _local_pages.put(key, answer, checked_at=now)
    except Exception as exc:  # the cache, or the database re-read of a version
        logger.warning("cached page not checked (%s): building it afresh", type(exc).__name__)
        return None
    if answer.expires_at <= now or (answer.exp is not None and answer.exp <= now):
        return None
    return answer


def remember_page(key: str | None, answer: PageAnswer) -> None:
    """Keep `answer` for later requests with the same key (an order's page within its budget)."""
    timeout = int(answer.expires_at - time.time())
    if key is None or timeout < 1 or (answer.order_id and not may_cache(answer.order_id)):
        return
    if answer.order_id:
        state_cache.remember(answer.order_id, answer.state_version)
    try:
        if cache.set_many({key: answer, _tag_key(key): answer.tag}, timeout):
            return  # not written: a local copy could never be confirmed
    except Exception as exc:
        logger.warning("page not cached (%s)", type(exc).__name__)
        return
    _local_pages.put(key, answer, checked_at=time.time())


@functools.cache
def deployment() -> str:
    """A digest of what renders pages (templates, translations, static manifest, our code), so a
    worker of another release never serves this one's pages from the shared cache, or the reverse."""
    root = Path(settings.BASE_DIR)
    files = [
        *sorted((root / "templates").rglob("*.html")),
        *sorted(path for base in settings.LOCALE_PATHS for path in Path(base).rglob("*.mo")),
        *sorted((root / "orders").rglob("*.py")),
    ]
    if settings.STATIC_ROOT:
        files.append(Path(settings.STATIC_ROOT) / "staticfiles.json")
    digest = hashlib.sha256()
    for path in files:
        with contextlib.suppress(OSError):
            digest.update(str(path.relative_to(root) if path.is_relative_to(root) else path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_local_pages = _LocalAnswers(LOCAL_PAGES)
