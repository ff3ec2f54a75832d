"""API keys: minted once, stored as a SHA-256 hash, looked up by that hash.

A key looks like `sk_1a2b3c4d_<43 random characters>`. The `sk_1a2b3c4d` part is the prefix the
admin shows so staff can tell keys apart; the random tail carries 256 bits, so a plain SHA-256 is
the right hash (no need for a slow password hash) and the lookup is a unique-index hit.

A verified key is remembered twice, so a storefront polling the info API costs no query and, most
of the time, no cache round trip for its key: in the shared cache for CACHE_SECONDS, and in each
process, which confirms its copy against the shared cache at most every CACHE_RECHECK_SECONDS
(the bound that revoked links and changed answers already have; default 1 s). Revoking or
deleting a key removes both, so it stops at once in the process that did it and within
CACHE_RECHECK_SECONDS in every other worker; only if the shared cache could not be told (Redis
away while the key was revoked) may it take up to CACHE_SECONDS. Without Redis (the per-process
local-memory cache) other workers learn it within CACHE_SECONDS.

Each call is counted against API_KEY_RATE (`count_call`), in blocks: see there.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import ratelimits
from orders.models import Account, ApiKey

KEY_PREFIX = "sk_"
MAX_KEY_LENGTH = 200
# last_used_at is informational: refresh it at most this often instead of writing on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A verified key is remembered in the shared cache this long, sparing a database query per request.
CACHE_SECONDS = 60
LOCAL_KEYS = 1024  # verified keys remembered per process (only real keys ever get in)
# API_KEY_RATE is reserved from the shared counters in blocks of this share of the limit.
BLOCK_SHARE = 100


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    secret: str  # the full key: shown once, never stored


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(*, account: Account, name: str) -> NewKey:
    """Mint a key for `account`; the returned `secret` is the only copy of the key."""
    for _attempt in range(5):
        prefix = KEY_PREFIX + secrets.token_hex(4)
        secret = f"{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    account=account, name=name, prefix=prefix, key_hash=hash_key(secret)
                )
        except IntegrityError:  # a prefix collision (1 in 4 billion): draw again
            continue
        return NewKey(api_key=api_key, secret=secret)
    raise RuntimeError("Could not draw a unique API key prefix.")


def verify(raw: str) -> ApiKey | None:
    """The active key matching `raw`, with its account loaded, or None."""
    if not raw or len(raw) > MAX_KEY_LENGTH or not raw.startswith(KEY_PREFIX):
        return None
    digest = hash_key(raw)
    now = time.monotonic()
    remembered = _local.get(digest)
    if remembered is not None and now - remembered[1] < settings.CACHE_RECHECK_SECONDS:
        return remembered[0]
    api_key = cache.get(_cache_key(digest))
    if api_key is not None:
        _remember_locally(digest, api_key, now)
        return api_key
    try:  # a unique-index hit; .get() spares the ORDER BY that .first() would add
        api_key = ApiKey.objects.select_related("account").get(key_hash=digest, revoked_at__isnull=True)
    except ApiKey.DoesNotExist:
        return None
    used_at = timezone.now()
    if api_key.last_used_at is None or used_at - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=used_at)
        api_key.last_used_at = used_at
    cache.set(_cache_key(digest), api_key, CACHE_SECONDS)
    _remember_locally(digest, api_key, now)
    return api_key


def _cache_key(digest: str) -> str:
    return f"apikey:{digest}"


# digest → (key, when this process last confirmed it against the shared cache or the database)
_local: dict[str, tuple[ApiKey, float]] = {}


def _remember_locally(digest: str, api_key: ApiKey, confirmed_at: float) -> None:
    if len(_local) >= LOCAL_KEYS and digest not in _local:
        _local.clear()  # more keys in use than expected: start over rather than grow
    _local[digest] = (api_key, confirmed_at)


def forget(api_key: ApiKey) -> None:
    """Stop accepting a deleted key at once (its account was deleted, say)."""
    _local.pop(api_key.key_hash, None)
    cache.delete(_cache_key(api_key.key_hash))


def revoke(api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    _local.pop(api_key.key_hash, None)
    cache.delete(_cache_key(api_key.key_hash))
    return api_key


# --- the per-key rate ----------------------------------------------------------------------------

# (key hash, rate) → calls this process reserved from the shared counters and has not used yet
_allowances: dict[tuple[str, str], int] = {}
_allowances_lock = threading.Lock()


def count_call(api_key: ApiKey) -> None:
    """Count one call against the key's API_KEY_RATE; ratelimits.RateLimited past it.

    Calls are reserved from the shared sliding-window counters in blocks of 1/BLOCK_SHARE of the
    limit (at least one call: a limit below BLOCK_SHARE is counted call by call), and a process
    serves the calls of its block without asking again. So a busy storefront costs one Redis round
    trip per block rather than per call, and each of W workers may hold part of a block when the
    key reaches its limit elsewhere: a key gets its limit per window to within W blocks, either
    way. Fails open, as before: a key is its own proof, and storefronts must keep working
    without Redis.
    """
    rate = settings.API_KEY_RATE
    slot = (api_key.key_hash, rate)
    with _allowances_lock:
        left = _allowances.get(slot, 0)
        if left > 0:
            _allowances[slot] = left - 1
            return
    parsed = ratelimits.Rate.parse(rate)
    block = max(1, parsed.limit // BLOCK_SHARE)
    blocks = f"{-(-parsed.limit // block)}/{int(parsed.period)}s"
    ratelimits.consume("api-key", [f"key:{api_key.pk}"], blocks, fail_open=True)
    with _allowances_lock:
        if len(_allowances) >= LOCAL_KEYS and slot not in _allowances:
            _allowances.clear()
        _allowances[slot] = _allowances.get(slot, 0) + block - 1
