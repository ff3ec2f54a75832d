"""Polling carriers: when each shipment is due, who polls it, and what a poll changes.

Durable state lives on the tracking row (``next_poll_at``, ``poll_failures``, ``last_poll_*``):

1. ``dispatch`` claims due rows per carrier API within that API's calls-per-minute budget (shared
   by every worker through the cache), with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, and
   leases them by moving ``next_poll_at`` a few minutes ahead: two dispatchers never claim one
   tracking in the same cycle, and a job lost with its worker comes due again by itself.
2. ``poll`` asks the carrier for one job's numbers (batched where the API allows) and applies the
   answers through the lifecycle, so a checkpoint is stored once whichever way it arrives.
3. The next poll follows the status (out for delivery soon, label created seldom) with jitter;
   failures back off exponentially and honour ``Retry-After``; polling stops when the parcel is
   delivered or returned, or 90 days after its last event.

``refresh_live`` is the same poll, inline and bounded, for ``live_refresh=true``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from orders import lifecycle
from orders.cache import counters
from orders.carriers import registry
from orders.carriers.base import (
    CarrierError,
    CarrierUnavailable,
    CheckpointUpdate,
    Credentials,
    TrackingUpdate,
)
from orders.models import (
    FINAL_TRACKING_STATUSES,
    CarrierCredential,
    Checkpoint,
    Order,
    PollOutcome,
    Tracking,
    TrackingStatus,
)

logger = logging.getLogger("orders.carriers")

# How long after a poll the next one is due, by the shipment's status (before jitter and scale).
INTERVALS = {
    TrackingStatus.PENDING: timedelta(hours=4),
    TrackingStatus.INFO_RECEIVED: timedelta(hours=6),
    TrackingStatus.IN_TRANSIT: timedelta(hours=2),
    TrackingStatus.OUT_FOR_DELIVERY: timedelta(minutes=20),
    TrackingStatus.AVAILABLE_FOR_PICKUP: timedelta(hours=4),
    TrackingStatus.FAILED_ATTEMPT: timedelta(hours=1),
    TrackingStatus.EXCEPTION: timedelta(hours=1),
}
NOT_FOUND_INTERVAL = timedelta(hours=6)  # carriers often know a number only after the first scan
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=12)
JITTER = 0.1  # ±10 %, so trackings added together do not stay in lockstep
QUIET_LIMIT = timedelta(days=90)  # no event for this long: stop polling
LEASE = timedelta(minutes=10)  # a claimed job must be polled within this, or it is due again
# Events this much older than the tracking belong to an earlier parcel with a recycled number.
RECYCLED_MARGIN = timedelta(days=30)


def _scaled(delay: timedelta, rng: random.Random | None = None) -> timedelta:
    factor = settings.CARRIER_POLL_INTERVAL_SCALE * (1 + (rng or random).uniform(-JITTER, JITTER))
    return delay * factor


def next_poll_after_success(tracking: Tracking, now: datetime, *, found: bool = True) -> datetime | None:
    """When to ask again after an answer; None once there is nothing more to learn."""
    if tracking.status in FINAL_TRACKING_STATUSES:
        return None
    quiet_since = tracking.last_event_at or tracking.created_at or now
    if now - quiet_since > QUIET_LIMIT:
        return None
    delay = (
        INTERVALS.get(tracking.status, INTERVALS[TrackingStatus.IN_TRANSIT]) if found else NOT_FOUND_INTERVAL
    )
    return now + _scaled(delay)


def backoff(failures: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff after ``failures`` failed polls in a row, never sooner than the
    carrier's Retry-After."""
    exponent = min(max(failures, 1) - 1, 16)
    delay = min(BACKOFF_BASE * 2**exponent, BACKOFF_MAX)
    delay = _scaled(delay)
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


# --- budget ---------------------------------------------------------------------------------------


def reserve_calls(api: str, wanted: int, now: datetime) -> int:
    """Take up to ``wanted`` calls from this minute's budget of ``api`` (shared through the cache).

    Increment first, then check: concurrent dispatchers never over-grant. With the cache away the
    budget cannot be shared, so each dispatcher keeps to a tenth of it rather than none.
    """
    limit = registry.calls_per_minute()[api]
    if wanted <= 0 or limit <= 0:
        return 0
    key = f"carrier-budget:{api}:{now:%Y%m%d%H%M}"
    try:
        used = counters.count(key, by=wanted, window=120)
    except Exception:
        logger.warning("carrier budget for %s unavailable; using a tenth of it", api)
        return min(wanted, max(1, limit // 10))
    granted = max(0, min(wanted, limit - (used - wanted)))
    if granted < wanted:
        release_calls(api, wanted - granted, now)
    return granted


def release_calls(api: str, unused: int, now: datetime) -> None:
    if unused <= 0:
        return
    # The key expired or the cache is away: nothing to give back.
    with contextlib.suppress(Exception):
        cache.decr(f"carrier-budget:{api}:{now:%Y%m%d%H%M}", unused)


# --- dispatching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollJob:
    """One carrier request's worth of trackings, polled with one set of credentials."""

    api: str
    tracking_ids: tuple[int, ...]
    account_id: int | None = None  # whose own credentials to use; None: the deployment's

    def as_dict(self) -> dict:
        return {"api": self.api, "tracking_ids": list(self.tracking_ids), "account_id": self.account_id}

    @classmethod
    def from_dict(cls, data: dict) -> PollJob:
        return cls(data["api"], tuple(int(i) for i in data["tracking_ids"]), data.get("account_id"))


def api_named(code: str) -> str | None:
    """``--carrier`` takes a carrier code (ups, amazon) or an API (aftership)."""
    code = (code or "").strip().lower()
    return code if code in registry.APIS else registry.api_for(code)


def carriers_of(api: str) -> list[str]:
    return [carrier for carrier, name in registry.API_FOR_CARRIER.items() if name == api]


def accounts_with_own_credentials(api: str) -> set[int]:
    return set(CarrierCredential.objects.filter(api=api).values_list("account_id", flat=True))


def configured(api: str, account_ids: set[int] | None = None) -> bool:
    """Can anyone poll this API: the deployment's credentials, or some account's own?"""
    if registry.default_credentials(api).configured:
        return True
    return bool(account_ids if account_ids is not None else accounts_with_own_credentials(api))


def dispatch(*, now: datetime | None = None, apis: Iterable[str] | None = None) -> list[PollJob]:
    """Claim the due trackings of each API within its budget; the claims are committed (and
    leased) when this returns, so the caller hands the jobs to workers."""
    now = now or timezone.now()
    return [job for api in (apis or registry.APIS) for job in _dispatch_api(api, now)]


def _dispatch_api(api: str, now: datetime) -> list[PollJob]:
    own = accounts_with_own_credentials(api)
    deployment = registry.default_credentials(api).configured
    if not deployment and not own:
        return []
    batch_size = registry.adapter(api).Client.batch_size
    due = Tracking.objects.filter(carrier__in=carriers_of(api), next_poll_at__lte=now)
    if not deployment:
        due = due.filter(order__account_id__in=own)
    calls = reserve_calls(api, max(1, _due_estimate(due, batch_size)), now)
    if not calls:
        return []
    with transaction.atomic():
        claimed = _claim(due, calls * batch_size)
        if claimed:
            Tracking.objects.filter(pk__in=[pk for pk, _ in claimed]).update(next_poll_at=now + LEASE)
    by_owner: dict[int | None, list[int]] = defaultdict(list)
    for pk, account_id in claimed:
        by_owner[account_id if account_id in own else None].append(pk)
    jobs = [
        PollJob(api, tuple(ids[i : i + batch_size]), owner)
        for owner, ids in by_owner.items()
        for i in range(0, len(ids), batch_size)
    ]
    release_calls(api, calls - len(jobs), now)
    return jobs


def _due_estimate(due, batch_size: int) -> int:
    """Calls worth reserving: enough for what is due, read cheaply (no full count)."""
    limit = registry.calls_per_minute()
    cap = max(limit.values()) * batch_size
    return math.ceil(due.values("pk")[:cap].count() / batch_size)


def _claim(due, limit: int) -> list[tuple[int, int]]:
    """(tracking id, account id) of up to ``limit`` due rows, locked so no other dispatcher takes them."""
    query = due.order_by("next_poll_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True, of=("self",))
    ids = list(query.values_list("pk", flat=True)[:limit])
    accounts = dict(Tracking.objects.filter(pk__in=ids).values_list("pk", "order__account_id"))
    return [(pk, accounts[pk]) for pk in ids]


# --- polling --------------------------------------------------------------------------------------


def credentials_for(api: str, account_id: int | None) -> Credentials:
    default = registry.default_credentials(api)
    if account_id is None:
        return default
    own = CarrierCredential.objects.filter(api=api, account_id=account_id).first()
    if own is None:
        return default
    return Credentials(
        base_url=own.api_url or default.base_url,
        client_id=own.client_id,
        client_secret=own.client_secret,
        api_key=own.api_key,
    )


def fetch(
    job: PollJob,
    trackings: list[Tracking],
    *,
    timeout: float | None = None,
    credentials: Credentials | None = None,
):
    """Ask the carrier. Returns updates or the CarrierError. With `credentials` read beforehand it
    does no database work, so it is safe in a thread (which would otherwise keep a connection of
    its own open for as long as it lives)."""
    if credentials is None:
        credentials = credentials_for(job.api, job.account_id)
    client = registry.client(job.api, credentials, timeout=timeout)
    try:
        return client.track(sorted({t.tracking_number for t in trackings}))
    except CarrierError as exc:
        return exc


def poll(job: PollJob, *, now: datetime | None = None) -> dict[str, int]:
    """Poll one job and record the outcome on each of its trackings. Never raises for carrier
    trouble: that is recorded and pushes the next poll back."""
    trackings = _open_trackings(job.tracking_ids)
    if not trackings:
        return {}
    result = fetch(job, trackings)
    return apply_result(trackings, result, now=now or timezone.now())


def _open_trackings(ids: Iterable[int]) -> list[Tracking]:
    # Delivered while queued: next_poll_at was cleared, so there is nothing left to ask.
    return list(Tracking.objects.filter(pk__in=list(ids), next_poll_at__isnull=False).select_related("order"))


def apply_result(
    trackings: list[Tracking],
    result: dict[str, TrackingUpdate] | CarrierError,
    *,
    now: datetime,
    reschedule: bool = True,
) -> dict[str, int]:
    outcomes: dict[str, int] = defaultdict(int)
    for tracking in trackings:
        if isinstance(result, CarrierError):
            outcome = _record_failure(tracking, result, now, reschedule=reschedule)
        else:
            update = result.get(tracking.tracking_number)
            if update is None:
                error = CarrierError(f"{tracking.tracking_number} missing from the answer")
                outcome = _record_failure(tracking, error, now, reschedule=reschedule)
            else:
                outcome = apply_update(tracking, update, now=now)
        outcomes[outcome] += 1
    return dict(outcomes)


def _record_failure(tracking: Tracking, error: CarrierError, now: datetime, *, reschedule: bool) -> str:
    logger.warning("poll of %s %s failed: %s", tracking.carrier, tracking.pk, error)
    outcome = error.outcome if error.outcome in PollOutcome.values else PollOutcome.ERROR
    fields = {"last_polled_at": now, "last_poll_outcome": outcome, "last_poll_error": str(error)[:300]}
    if reschedule:
        failures = tracking.poll_failures + 1
        fields |= {
            "poll_failures": min(failures, 32767),
            "next_poll_at": now + backoff(failures, error.retry_after),
        }
    # Only a row still open is rescheduled: one delivered meanwhile stays closed.
    Tracking.objects.filter(pk=tracking.pk, next_poll_at__isnull=False).update(**fields)
    return outcome


def _save_poll_state(tracking: Tracking, fields: dict) -> None:
    rows = Tracking.objects.filter(pk=tracking.pk)
    if fields.get("next_poll_at") is not None:
        rows = rows.filter(next_poll_at__isnull=False)  # never reopen a row closed meanwhile
    rows.update(**fields)


def apply_update(tracking: Tracking, update: TrackingUpdate, *, now: datetime) -> str:
    """Store what the carrier said about this one tracking row, through the lifecycle."""
    with transaction.atomic():
        if not update.found:
            outcome = PollOutcome.NOT_FOUND
        else:
            outcome = PollOutcome.OK
            _record_checkpoints(tracking, update)
            if update.pickup_deadline is not None and update.pickup_deadline != tracking.pickup_deadline:
                lifecycle.set_pickup_deadline(tracking, update.pickup_deadline)
        _save_poll_state(tracking, _poll_fields(tracking, update, outcome, now))
    return outcome


def _poll_fields(tracking: Tracking, update: TrackingUpdate, outcome: str, now: datetime) -> dict:
    fields = {
        "last_polled_at": now,
        "last_poll_outcome": outcome,
        "last_poll_error": "",
        "poll_failures": 0,
        "next_poll_at": next_poll_after_success(tracking, now, found=update.found),
    }
    if update.found and (update.last_mile_carrier or update.last_mile_tracking_number):
        fields["last_mile_carrier"] = update.last_mile_carrier[:50]
        fields["last_mile_tracking_number"] = update.last_mile_tracking_number[:64]
    return fields


def _instant(checkpoint: CheckpointUpdate) -> datetime:
    """Aware UTC; a local time of unknown zone is kept as its wall-clock reading (zone_known=False)."""
    moment = checkpoint.occurred_at
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _record_checkpoints(tracking: Tracking, update: TrackingUpdate) -> None:
    oldest_allowed = (tracking.created_at or timezone.now()) - RECYCLED_MARGIN
    events = sorted(
        (
            c
            for c in update.checkpoints
            if _instant(c) >= oldest_allowed and c.status in TrackingStatus.values
        ),
        key=_instant,
    )
    window = update.estimated_delivery
    # Most polls bring nothing new: skip the events already stored in one query instead of
    # letting each bounce off the unique constraint (which still decides under concurrency).
    known = {
        (moment, code, place): pk
        for pk, moment, code, place in Checkpoint.objects.filter(tracking=tracking).values_list(
            "pk", "occurred_at", "status_code", "location"
        )
    }
    for index, event in enumerate(events):
        newest = index == len(events) - 1
        identity = (_instant(event), event.status_code[:64] or event.status, event.location[:200])
        if identity in known:
            if newest and window is not None:
                checkpoint = Checkpoint.objects.select_related("tracking__order").get(pk=known[identity])
                lifecycle.update_checkpoint_estimate(checkpoint, **_estimate_fields(window))
            continue
        checkpoint, created = lifecycle.record_checkpoint(
            tracking=tracking,
            occurred_at=_instant(event),
            status=event.status,
            status_code=event.status_code[:64],
            message=event.message[:500],
            location=event.location[:200],
            country=_country(event.country),
            zone_known=event.zone_known and event.occurred_at.tzinfo is not None,
            **(_estimate_fields(window) if newest else {}),
        )
        if newest and not created and window is not None:
            lifecycle.update_checkpoint_estimate(checkpoint, **_estimate_fields(window))


def _estimate_fields(window) -> dict:
    if window is None:
        return {}
    return {
        "estimated_delivery_date": window.start_date,
        "estimated_delivery_end": window.end_date if window.end_date != window.start_date else None,
        "estimated_time_from": window.start_time,
        "estimated_time_to": window.end_time,
    }


def _country(value: str) -> str:
    value = (value or "").strip().upper()
    return value if len(value) == 2 and value.isascii() and value.isalpha() else ""


# --- live refresh ---------------------------------------------------------------------------------


def refreshable(tracking: Tracking, now: datetime) -> bool:
    """Open, trackable by an adapter, and not asked in the last LIVE_REFRESH_MIN_SECONDS."""
    if tracking.next_poll_at is None or registry.api_for(tracking.carrier) is None:
        return False
    recent = now - timedelta(seconds=settings.LIVE_REFRESH_MIN_SECONDS)
    return tracking.last_polled_at is None or tracking.last_polled_at <= recent


def _claim_live(tracking: Tracking) -> bool:
    """At most one live refresh per tracking per window, across workers (the cache decides; with
    the cache away, last_polled_at alone does)."""
    try:
        return bool(cache.add(f"live-refresh:{tracking.pk}", 1, timeout=settings.LIVE_REFRESH_MIN_SECONDS))
    except Exception:
        return True


_live_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="live-refresh")


def refresh_live(order: Order, *, now: datetime | None = None) -> bool:
    """Poll the order's open trackings inline, within LIVE_REFRESH_TIMEOUT seconds in total.

    The carrier requests run in threads and are abandoned at the deadline (their answers are
    dropped); answers that arrive in time are applied here. Returns True when something was asked.
    Carrier failures only fall back to what is stored.
    """
    now = now or timezone.now()
    deadline = time.monotonic() + settings.LIVE_REFRESH_TIMEOUT
    trackings = [t for t in order.trackings.all() if refreshable(t, now)]
    own = {}
    jobs: list[tuple[PollJob, list[Tracking]]] = []
    for tracking in trackings:
        api = registry.api_for(tracking.carrier)
        if api not in own:
            own[api] = accounts_with_own_credentials(api)
        if not configured(api, own[api]) or not _claim_live(tracking):
            continue
        owner = order.account_id if order.account_id in own[api] else None
        if owner is None and not registry.default_credentials(api).configured:
            continue
        jobs.append((PollJob(api, (tracking.pk,), owner), [tracking]))
    if not jobs:
        return False
    # Each request may take the whole bound; the deadline below is what holds the answer to it.
    timeout = settings.LIVE_REFRESH_TIMEOUT
    futures = []
    for job, group in jobs:
        credentials = credentials_for(job.api, job.account_id)  # read here: no database in the threads
        futures.append(
            (_live_pool.submit(fetch, job, group, timeout=timeout, credentials=credentials), group)
        )
    for future, group in futures:
        remaining = deadline - time.monotonic()
        try:
            result = future.result(timeout=max(0.0, remaining))
        except FutureTimeout:
            result = CarrierUnavailable("live refresh ran out of time")
        except Exception as exc:
            logger.exception("live refresh failed")
            result = CarrierError(type(exc).__name__)
        # A live refresh that fails leaves the schedule alone: the poller keeps its own rhythm.
        apply_result(group, result, now=now, reschedule=False)
    return True


# --- what staff see -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiStatus:
    api: str
    name: str
    credentials: str  # "deployment", "N accounts", or "" (not polled)
    due: int  # capped at DUE_CAP: a count over the whole table is not worth its time
    polled_last_hour: int
    errors_last_hour: int
    last_error: str


DUE_CAP = 10_000


def api_status(now: datetime | None = None) -> list[ApiStatus]:
    """Per carrier API: can it be polled, how much is due, and how the last hour went."""
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    healthy = (PollOutcome.OK, PollOutcome.NOT_FOUND)
    rows = []
    for api, name in registry.API_CHOICES:
        carriers = carriers_of(api)
        own = accounts_with_own_credentials(api)
        if registry.default_credentials(api).configured:
            credentials = "deployment"
        else:
            credentials = f"{len(own)} account(s)" if own else ""
        recent = Tracking.objects.filter(carrier__in=carriers, last_polled_at__gte=hour_ago)
        failed = recent.exclude(last_poll_outcome__in=healthy)
        due = Tracking.objects.filter(carrier__in=carriers, next_poll_at__lte=now)
        last_error = failed.order_by("-last_polled_at").values_list("last_poll_error", flat=True).first()
        rows.append(
            ApiStatus(
                api=api,
                name=name,
                credentials=credentials,
                due=due.values("pk")[:DUE_CAP].count(),
                polled_last_hour=recent.count(),
                errors_last_hour=failed.count(),
                last_error=last_error or "",
            )
        )
    return rows


def polling_note(tracking: Tracking) -> str:
    """One line for staff on why and when this shipment is (not) polled."""
    api = registry.api_for(tracking.carrier)
    if api is None:
        return "Not polled: no carrier API for this carrier (updates come from webhooks)."
    if tracking.next_poll_at is None:
        return "Not polled any more (delivered, returned, or quiet for 90 days)."
    if (
        not registry.default_credentials(api).configured
        and not CarrierCredential.objects.filter(api=api, account_id=tracking.order.account_id).exists()
    ):
        return f"Not polled: no {api.upper()} credentials (set them in the environment or on the account)."
    return f"Next poll due {tracking.next_poll_at:%Y-%m-%d %H:%M} UTC."


def poll_now(trackings: list[Tracking]) -> dict[str, int]:
    """Staff's "poll now": the selected open trackings, grouped into jobs as the dispatcher would."""
    now = timezone.now()
    groups: dict[tuple[str, int | None], list[Tracking]] = defaultdict(list)
    owners: dict[str, set[int]] = {}
    for tracking in trackings:
        api = registry.api_for(tracking.carrier)
        if api is None or tracking.next_poll_at is None:
            continue
        owners.setdefault(api, accounts_with_own_credentials(api))
        if not configured(api, owners[api]):
            continue
        owner = tracking.order.account_id if tracking.order.account_id in owners[api] else None
        groups[(api, owner)].append(tracking)
    outcomes: dict[str, int] = defaultdict(int)
    for (api, owner), group in groups.items():
        size = registry.adapter(api).Client.batch_size
        for i in range(0, len(group), size):
            batch = group[i : i + size]
            result = fetch(PollJob(api, tuple(t.pk for t in batch), owner), batch)
            for name, count in apply_result(batch, result, now=now).items():
                outcomes[name] += count
    return dict(outcomes)
