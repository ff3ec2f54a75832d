"""The few accounts (shops), kept in each process while the accounts' published token is unchanged.

Every shopper request names its shop before anything else (host name, `?account=`, or the only
shop of a single-shop deployment), and every page shows its brand and problem texts. A deployment
has a handful of shops and changes them rarely, so each process loads them all once, with their
problem texts, and asks the database again only after an account changed (see
`orders.cache.versions.accounts_changed`, wired to saves and deletions in orders.apps). Without a
cache to hold the token (Redis away), or with more than MAX_ACCOUNTS shops, every call asks the
database, as before.

The instances handed out are shared by every request of the process: read them, never change or
save them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from orders.cache import versions
from orders.models import ACCOUNT_ID, Account

MAX_ACCOUNTS = 100


@dataclass(frozen=True)
class Directory:
    token: str
    by_pk: dict[int, Account]
    by_slug: dict[str, Account]

    @property
    def the_only_one(self) -> Account | None:
        return next(iter(self.by_pk.values())) if len(self.by_pk) == 1 else None


_lock = threading.Lock()
_directory: Directory | None = None


def directory() -> Directory | None:
    """All accounts as of the current token, or None when they cannot be kept."""
    global _directory
    token = versions.accounts_version()
    if token is None:
        return None
    current = _directory
    if current is not None and current.token == token:
        return current
    accounts = list(Account.objects.order_by("pk").prefetch_related("state_messages")[: MAX_ACCOUNTS + 1])
    if len(accounts) > MAX_ACCOUNTS:
        return None
    built = Directory(
        token=token,
        by_pk={account.pk: account for account in accounts},
        by_slug={account.slug: account for account in accounts},
    )
    with _lock:
        _directory = built
    return built


def forget() -> None:
    """Drop this process's copy and its token (tests, whose database and cache start empty)."""
    global _directory
    versions.forget_accounts_version()
    with _lock:
        _directory = None


def identified_by(value: str | None) -> Account | None:
    """The account named by its id ("3") or slug ("northwind"), like Account.objects.identified_by."""
    found = directory()
    if found is None:
        return Account.objects.identified_by(value)
    value = (value or "").strip()
    if not value:
        return None
    if ACCOUNT_ID.fullmatch(value):
        return found.by_pk.get(int(value))
    return found.by_slug.get(value[:100])


def kept(pk: int) -> Account | None:
    """The process's copy of the account, with its problem texts; None when there is none (then
    load it from the database)."""
    found = directory()
    return None if found is None else found.by_pk.get(pk)


def with_slug(slug: str) -> Account | None:
    found = directory()
    if found is None:
        return Account.objects.filter(slug=slug[:100]).first()
    return found.by_slug.get(slug[:100])


def the_only_one() -> Account | None:
    """The account of a single-account deployment, else None (no COUNT(*) per request)."""
    found = directory()
    return Account.objects.the_only_one() if found is None else found.the_only_one


def several() -> bool:
    found = directory()
    return Account.objects.count() > 1 if found is None else len(found.by_pk) > 1
