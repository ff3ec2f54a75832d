"""Erase or export everything we hold on one person, across every registered place
(orders.privacy.registry): `manage.py erase_customer` / `export_customer` and the admin's
"Erase personal data" action call these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.utils import timezone

from orders.models import Account, Checkpoint, Order, Tracking
from orders.privacy.registry import Subject, holders


def orders_of(email: str, account: Account | None = None) -> list[Order]:
    """The orders placed with `email` (any case), in one account or all of them."""
    email = (email or "").strip().lower()
    if not email:
        return []
    orders = Order.objects.annotate(email_ci=Lower("recipient_email")).filter(email_ci=email)
    if account is not None:
        orders = orders.filter(account=account)
    return list(_with_everything(orders).order_by("order_date", "id"))


def _with_everything(orders):
    return orders.select_related("account").prefetch_related(
        "items",
        Prefetch("trackings", queryset=Tracking.objects.order_by("created_at", "id")),
        Prefetch("trackings__checkpoints", queryset=Checkpoint.objects.order_by("occurred_at", "id")),
    )


def erase(subject: Subject) -> dict[str, int]:
    """Erase `subject` everywhere, in one transaction: records changed per place."""
    with transaction.atomic():
        return {holder.name: holder.erase(subject) for holder in holders()}


def erase_customer(email: str, account: Account | None = None) -> dict[str, int]:
    subject = Subject(orders=tuple(orders_of(email, account)), email=email.strip(), account=account)
    return erase(subject)


def erase_orders(orders: Iterable[Order]) -> dict[str, int]:
    """Erase the given orders (picked by staff): their personal data, wherever it lives."""
    subject = Subject(orders=tuple(_with_everything(Order.objects.filter(pk__in=[o.pk for o in orders]))))
    return erase(subject)


def order_deleted(order: Order) -> None:
    """Before an order row goes (the admin, a cascade from its account, the shell): erase what
    every other place holds about it, so deleting never leaves personal data behind."""
    subject = Subject(orders=(order,))
    for holder in holders():
        if holder.name != "orders":  # the row itself is being deleted
            holder.erase(subject)


def export_customer(email: str, account: Account | None = None, *, now: datetime | None = None) -> dict:
    """Everything we hold on the person with `email`, as JSON-able data (dates as datetimes)."""
    subject = Subject(orders=tuple(orders_of(email, account)), email=email.strip(), account=account)
    data = {
        "subject": {"email": subject.email, "account": account.slug if account else None},
        "exported_at": now or timezone.now(),
    }
    for holder in holders():
        data[holder.name] = holder.export(subject)
    return data
