"""Creating and updating orders from the outside (orders API and webhooks): one home for both.

- `create_order` creates an order with its line items, then replays webhook events that arrived
  for it before it existed (see orders.webhooks).
- `idempotent` wraps a write so the same `Idempotency-Key` never performs it twice: the record is
  inserted *first*, inside the transaction, and the unique constraint makes concurrent requests
  with one key wait for the first and then replay its response.
- `add_tracking` attaches a shipment through orders.lifecycle and replays the carrier events that
  were parked for its number.

Status changes always go through orders.lifecycle.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from orders import lifecycle
from orders.carriers import CARRIERS, normalize_tracking_number
from orders.models import (
    ORDER_DETAIL_FIELDS,
    PERSONAL_ORDER_FIELDS,
    Account,
    IdempotencyRecord,
    LineItem,
    Order,
    OrderStatus,
    Tracking,
)

# An order or shipment just appeared under `ref` (its order number or tracking ref). Inbound
# webhooks listen (orders.apps): events parked for it are applied in the same transaction.
# A signal, so this service does not import the webhooks that build on it.
ref_added = Signal()  # kwargs: account, ref

ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone

# Carrier names as order systems and vendors write them → our carrier codes.
CARRIER_ALIASES = {
    "ups": "ups",
    "unitedparcelservice": "ups",
    "upsground": "ups",
    "fedex": "fedex",
    "federalexpress": "fedex",
    "fedexground": "fedex",
    "fedexexpress": "fedex",
    "fedexsmartpost": "fedex",
    "usps": "usps",
    "unitedstatespostalservice": "usps",
    "uspostalservice": "usps",
    "dhl": "dhl",
    "dhlexpress": "dhl",
    "dhlecommerce": "dhl",
    "amazon": "amazon",
    "amazonlogistics": "amazon",
    "amazonshipping": "amazon",
    "amzl": "amazon",
}


class OrderExists(Exception):
    """The order number (or external order id) is already taken in this account."""

    def __init__(self, order: Order, field: str):
        super().__init__(f"An order with this {field} already exists.")
        self.order, self.field = order, field


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request body."""


class IdempotentOrderGone(Exception):
    """The order this Idempotency-Key created was deleted or its personal data erased since: the
    remembered response went with it, and a retry must not create the order again."""


@dataclass
class ItemData:
    name: str
    sku: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None
    currency: str = "USD"
    image_url: str = ""


@dataclass
class OrderData:
    """Source-agnostic order fields; only the keys present in `fields` are applied on an update."""

    order_number: str = ""
    fields: dict[str, Any] = field(default_factory=dict)  # a subset of ORDER_DETAIL_FIELDS
    items: list[ItemData] | None = None


def carrier_code(name: str | None) -> str | None:
    """ "UPS", "FedEx Ground", "DHL Express", "Amazon Logistics" → code; unknown → None (detect)."""
    if not name:
        return None
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    code = CARRIER_ALIASES.get(key) or key
    return code if code in CARRIERS and code != "other" else None


def lock_ref(account_id: int, ref: str) -> None:
    """Serialise all work on one order or tracking reference until the transaction ends.

    Without it, an event for an order that does not exist yet could be parked just as another
    worker creates the order and replays the parked events, and would then wait forever. On
    PostgreSQL this is a transaction-scoped advisory lock; SQLite serialises writers anyway.
    """
    if connection.vendor != "postgresql" or not ref:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(account_id, ref)])


def lock_refs(refs: Iterable[tuple[int, str]]) -> None:
    """`lock_ref` for many (account id, ref) pairs in one statement, always in the same order, so
    two transactions locking overlapping sets (webhook batches) queue instead of deadlocking."""
    keys = sorted({_lock_key(account_id, ref) for account_id, ref in refs if ref})
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(key) FROM unnest(%s::bigint[]) AS key", [keys])


def _lock_key(account_id: int, ref: str) -> int:
    digest = hashlib.blake2b(f"{account_id}:{ref}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def tracking_ref(number: str) -> str:
    return f"tracking:{normalize_tracking_number(number)}"


def _new_order_number(account: Account) -> str:
    for _attempt in range(10):
        token = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))
        number = f"{timezone.localdate():%y%m%d}-{token}"
        if not Order.objects.filter(account=account, order_number=number).exists():
            return number
    raise RuntimeError("Could not draw a free order number.")


def find_order(account: Account, order_number: str) -> Order | None:
    return Order.objects.filter(account=account, order_number=order_number).first()


@transaction.atomic
def create_order(*, account: Account, data: OrderData, status: str = OrderStatus.PENDING) -> Order:
    """Create an order (number generated when absent) and apply events that waited for it."""
    number = data.order_number or _new_order_number(account)
    lock_ref(account.pk, number)
    existing = find_order(account, number)
    if existing is not None:
        raise OrderExists(existing, "orderNumber")
    external_id = data.fields.get("external_order_id")
    if external_id:
        clash = Order.objects.filter(account=account, external_order_id=external_id).first()
        if clash is not None:
            raise OrderExists(clash, "externalOrderId")
    fields = {name: value for name, value in data.fields.items() if value is not None}
    fields.setdefault("language", account.default_language)
    try:
        with transaction.atomic():
            order = Order.objects.create(account=account, order_number=number, **fields)
    except IntegrityError as exc:  # lost a race that the advisory lock does not cover (SQLite)
        existing = find_order(account, number)
        if existing is None:
            raise
        raise OrderExists(existing, "orderNumber") from exc
    LineItem.objects.bulk_create(
        [
            LineItem(
                order=order,
                name=item.name,
                sku=item.sku,
                quantity=item.quantity,
                unit_price=item.unit_price,
                currency=item.currency,
                image_url=item.image_url,
            )
            for item in data.items or []
        ]
    )
    if status != OrderStatus.PENDING:
        lifecycle.transition_order(order, status)
    ref_added.send(sender=Order, account=account, ref=number)
    order.refresh_from_db()
    return order


@transaction.atomic
def update_details(order: Order, fields: dict[str, Any]) -> bool:
    """Overwrite the given detail fields; a change bumps the state version (retiring cached answers).

    An erased order takes no personal details any more: an order system replaying the customer's
    data must not undo an erasure request.
    """
    if order.erased_at is not None:
        fields = {name: value for name, value in fields.items() if name not in PERSONAL_ORDER_FIELDS}
    changes = {
        name: value
        for name, value in fields.items()
        if name in ORDER_DETAIL_FIELDS and _normal(getattr(order, name)) != _normal(value)
    }
    if not changes:
        return False
    for name, value in changes.items():
        setattr(order, name, value)
    lifecycle.update_order_details(order, changes)
    order.refresh_from_db()
    return True


def _normal(value):
    if value is None:
        return ""
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


@transaction.atomic
def add_tracking(
    *,
    order: Order,
    tracking_number: str,
    carrier: str | None = None,
    estimated_delivery_date: date | None = None,
    is_return: bool = False,
) -> Tracking:
    """Attach a shipment (carrier by name, else detected) and replay events parked for it."""
    ref = tracking_ref(tracking_number)
    lock_ref(order.account_id, ref)
    tracking = lifecycle.attach_tracking(
        order=order,
        tracking_number=tracking_number,
        carrier=carrier_code(carrier),
        estimated_delivery_date=estimated_delivery_date,
        is_return=is_return,
    )
    ref_added.send(sender=Tracking, account=order.account, ref=ref)
    return tracking


@transaction.atomic
def order_added(order: Order) -> Order:
    """An order saved outside create_order (the admin): apply the events that waited for it."""
    lock_ref(order.account_id, order.order_number)
    ref_added.send(sender=Order, account=order.account, ref=order.order_number)
    order.refresh_from_db()
    return order


# --- idempotency --------------------------------------------------------------------------------


def request_hash(body: Any) -> str:
    """Hash of the parsed JSON body: key order and whitespace do not make a "different body"."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Replayable:
    status: int
    body: dict
    replayed: bool


def idempotent(
    *,
    account: Account,
    key: str,
    body_hash: str,
    perform: Callable[[], tuple[int, dict, Order | None]],
) -> Replayable:
    """Run `perform` once per (account, key); repeats with the same body get the stored response.

    Raises IdempotencyConflict for a different body. When `perform` raises, the record is
    rolled back with everything else, so a failed request can be retried with the same key.
    """
    if not key:
        status, body, _order = perform()
        return Replayable(status, body, False)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(account=account, key=key, request_hash=body_hash)
        except IntegrityError:
            # On PostgreSQL the insert waited for a concurrent holder of the key to commit.
            record = IdempotencyRecord.objects.get(account=account, key=key)
            if record.request_hash != body_hash:
                raise IdempotencyConflict() from None
            if record.response_body is None or record.order_id is None:
                raise IdempotentOrderGone() from None
            return Replayable(record.response_status or 200, record.response_body or {}, True)
        status, body, order = perform()
        record.response_status, record.response_body, record.order = status, body, order
        record.save(update_fields=["response_status", "response_body", "order"])
    return Replayable(status, body, False)


def as_datetime(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value
