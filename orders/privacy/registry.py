"""Everywhere personal data lives, as a small registry: each place exports, erases and (optionally)
purges what it holds about one person.

The built-in places (the orders themselves, webhook payloads, idempotency records) are registered
by orders.privacy.holders. A module that adds another (say, a log of sent notifications) registers
it once at import time, from a module that orders.apps loads, and `erase_customer`,
`export_customer`, the admin's erase action and `purge_expired` include it from then on:

    from orders.privacy import registry

    registry.register(
        "notification_logs",
        export=lambda subject: [...],          # JSON-able data about subject.orders / subject.email
        erase=lambda subject: count,           # records changed or deleted
        purge=lambda cutoff: count,            # optional: records older than `cutoff` removed
    )
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orders.models import Account, Order


@dataclass(frozen=True)
class Subject:
    """Whose data: their orders, and the email address they gave (empty when staff picked orders
    in the admin rather than a person by address)."""

    orders: tuple[Order, ...]
    email: str = ""
    account: Account | None = None


@dataclass(frozen=True)
class Holder:
    name: str
    export: Callable[[Subject], Any]
    erase: Callable[[Subject], int]
    purge: Callable[[datetime], int] | None = field(default=None)


_holders: dict[str, Holder] = {}


def register(
    name: str,
    *,
    export: Callable[[Subject], Any],
    erase: Callable[[Subject], int],
    purge: Callable[[datetime], int] | None = None,
) -> None:
    """Add (or replace, on a module reload) the place called `name`."""
    _holders[name] = Holder(name=name, export=export, erase=erase, purge=purge)


def holders() -> list[Holder]:
    """Every registered place, the built-in ones first."""
    from orders.privacy import holders as _builtin  # noqa: F401  (registers on import)

    return list(_holders.values())
