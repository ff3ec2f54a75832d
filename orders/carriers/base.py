"""What every carrier adapter shares: the parsed answer, the errors, and a small HTTP client.

An adapter module (``ups``, ``fedex``, ``usps``, ``dhl``, ``aftership``) has two halves:

* ``parse(payload, tracking_number) -> TrackingUpdate`` -- pure, no I/O, tested on the carrier's
  documented example answers. "Not found" is a normal answer (``found=False``), not an error.
* ``Client(CarrierClient)`` -- fetches the payloads: OAuth token cached per process and refreshed
  once on a 401, timeouts, 429/5xx raised as errors that carry the carrier's ``Retry-After``.

Times: a ``CheckpointUpdate.occurred_at`` is aware (UTC) when the carrier gave an offset or a GMT
field. When the carrier gave only a local wall-clock time it stays naive and ``zone_known`` is
False -- a local time is never labelled UTC.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import httpx

logger = logging.getLogger("orders.carriers")

# Carriers print placeholders where a location would be; a shopper should see nothing instead.
PLACEHOLDER_LOCATIONS = frozenset({"FEDEX_FACILITY", "DELIVERY_LOCATION", "UNKNOWN", "N/A", "NA", "-"})


@dataclass(frozen=True)
class DeliveryWindow:
    """An estimate as the carrier gives it: a day or a range of days, optionally a time window."""

    start_date: date
    end_date: date | None = None
    start_time: dtime | None = None
    end_time: dtime | None = None


@dataclass(frozen=True)
class CheckpointUpdate:
    occurred_at: datetime  # aware UTC when zone_known, else the naive local wall-clock time
    status: str  # one of orders.models.TrackingStatus values
    status_code: str = ""  # the carrier's most specific code for the event
    message: str = ""
    location: str = ""  # "City, ST, Country" as the carrier names it; placeholders blanked
    country: str = ""  # ISO 3166-1 alpha-2 when known
    zone_known: bool = True


@dataclass(frozen=True)
class TrackingUpdate:
    tracking_number: str
    found: bool = True
    status: str | None = None  # the carrier's current status, mapped; None when it gave none
    estimated_delivery: DeliveryWindow | None = None
    delivered_at: datetime | None = None
    checkpoints: tuple[CheckpointUpdate, ...] = ()
    last_mile_carrier: str = ""  # e.g. "usps" when a FedEx SmartPost parcel is handed over
    last_mile_tracking_number: str = ""
    raw_status: str = ""  # the carrier's own status text, for the admin
    pickup_deadline: date | None = None  # held at a pickup point: the last day to collect it


NOT_FOUND = "not_found"


def not_found(tracking_number: str) -> TrackingUpdate:
    return TrackingUpdate(tracking_number=tracking_number, found=False)


# --- errors -------------------------------------------------------------------------------------


class CarrierError(Exception):
    """The carrier could not answer now. ``retry_after`` (seconds) is what it asked us to wait."""

    outcome = "error"

    def __init__(self, message: str, *, retry_after: float | None = None, status_code: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status_code = status_code


class RateLimited(CarrierError):
    outcome = "rate_limited"


class CarrierUnavailable(CarrierError):
    """5xx, timeout or a network failure."""

    outcome = "unavailable"


class AuthFailed(CarrierError):
    """Credentials refused even with a fresh token: nothing to do until staff fix them."""

    outcome = "auth_failed"


class BadResponse(CarrierError):
    """An answer we cannot read (not JSON, not the documented shape)."""

    outcome = "bad_response"


class NotConfigured(CarrierError):
    outcome = "not_configured"


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


# --- time helpers shared by the parsers ---------------------------------------------------------


def parse_instant(value: str | None) -> tuple[datetime | None, bool]:
    """An ISO 8601 timestamp as (datetime, zone_known): aware UTC with an offset or ``Z``,
    naive (local, zone unknown) without one. Unreadable or empty gives (None, False)."""
    if not value or not isinstance(value, str):
        return None, False
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None, False
    if parsed.tzinfo is None:
        return parsed, False
    return parsed.astimezone(UTC), True


def clean_location(*parts: str | None) -> str:
    """Join the non-empty, non-placeholder parts of a location with commas."""
    kept = []
    for part in parts:
        text = (part or "").strip()
        if text and text.upper() not in PLACEHOLDER_LOCATIONS and text not in kept:
            kept.append(text)
    return ", ".join(kept)


# --- HTTP client --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """What one carrier API needs; which fields matter depends on the carrier."""

    base_url: str
    client_id: str = ""
    client_secret: str = ""
    api_key: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.api_key or (self.client_id and self.client_secret))


@dataclass
class _Token:
    value: str
    expires_at: float


_tokens: dict[tuple[str, str, str], _Token] = {}
_tokens_lock = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached OAuth token (tests; a credential change in the admin)."""
    with _tokens_lock:
        _tokens.clear()


@dataclass
class CarrierClient:
    """Base for the carrier clients. Subclasses set ``code``, ``batch_size`` and implement
    ``fetch_token`` (OAuth carriers) and ``track``.

    ``request`` adds the bearer token, refreshes it once on a 401, and turns 429, 5xx, timeouts
    and network errors into ``RateLimited``/``CarrierUnavailable`` with the carrier's
    ``Retry-After``. It never sleeps: the poller decides when to try again.
    """

    credentials: Credentials
    transport: httpx.BaseTransport | None = None
    timeout: float = 10.0
    _http: httpx.Client | None = field(default=None, init=False, repr=False)

    code = ""
    batch_size = 1  # numbers per request where the carrier allows several
    uses_oauth = True

    # -- to implement --
    def fetch_token(self) -> tuple[str, float]:
        """Ask the carrier for a token: (access_token, lifetime in seconds)."""
        raise NotImplementedError

    def track(self, numbers: list[str]) -> dict[str, TrackingUpdate]:
        """Fetch and parse ``numbers`` (at most ``batch_size``), keyed by the number as given."""
        raise NotImplementedError

    # -- shared --
    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.credentials.base_url.rstrip("/"),
                transport=self.transport,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                follow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": "statuspage-carrier-client/1"},
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _token_key(self) -> tuple[str, str, str]:
        return (self.code, self.credentials.base_url, self.credentials.client_id)

    def token(self, *, fresh: bool = False) -> str:
        key = self._token_key()
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and not fresh and cached.expires_at > time.monotonic():
                return cached.value
        value, lifetime = self.fetch_token()
        # Renew a minute early so a token never expires between our check and the carrier's.
        expires_at = time.monotonic() + max(0.0, float(lifetime) - 60)
        with _tokens_lock:
            _tokens[key] = _Token(value, expires_at)
        return value

    def send(self, method: str, url: str, **kwargs) -> httpx.Response:
        """One HTTP exchange with errors translated (no auth). Token requests use this too."""
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(f"{self.code}: timed out") from exc
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"{self.code}: {type(exc).__name__}") from exc
        if response.status_code == 429:
            raise RateLimited(
                f"{self.code}: rate limited", retry_after=self.retry_after(response), status_code=429
            )
        if response.status_code >= 500:
            raise CarrierUnavailable(
                f"{self.code}: HTTP {response.status_code}",
                retry_after=self.retry_after(response),
                status_code=response.status_code,
            )
        return response

    def retry_after(self, response: httpx.Response) -> float | None:
        """How long the carrier asked us to wait; carriers with their own header override this."""
        return retry_after_seconds(response.headers.get("Retry-After"))

    def request(self, method: str, url: str, *, headers: dict | None = None, **kwargs) -> httpx.Response:
        headers = dict(headers or {})
        if self.uses_oauth:
            headers["Authorization"] = f"Bearer {self.token()}"
        response = self.send(method, url, headers=headers, **kwargs)
        if response.status_code == 401 and self.uses_oauth:
            headers["Authorization"] = f"Bearer {self.token(fresh=True)}"
            response = self.send(method, url, headers=headers, **kwargs)
        if response.status_code in (401, 403):
            raise AuthFailed(f"{self.code}: HTTP {response.status_code}", status_code=response.status_code)
        return response

    @staticmethod
    def json(response: httpx.Response):
        try:
            return response.json()
        except ValueError as exc:
            raise BadResponse(f"HTTP {response.status_code}: not JSON") from exc


def utc_from_offset(local: datetime, offset: str | None) -> tuple[datetime, bool]:
    """A naive local time plus an offset like ``-05:00``/``-0500``/``-5`` as (aware UTC, True);
    without a readable offset the local time stays naive: (local, False)."""
    text = (offset or "").strip()
    if not text:
        return local, False
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-").replace(":", "")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 4:
        return local, False
    hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
    if hours > 14 or minutes >= 60:
        return local, False
    delta = timedelta(hours=hours, minutes=minutes) * sign
    return (local - delta).replace(tzinfo=UTC), True
