"""The orders API (`/v1/orders…`): an order system pushes orders and their shipments in."""

from __future__ import annotations

import json
import re

from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from ninja import Header, Router, Status

from orders import lifecycle, orders_service
from orders.api import auth
from orders.api.errors import ErrorOut, not_found, validation_error
from orders.api.schemas import OrderIn, OrderOut, StatusIn, TrackingIn, order_out
from orders.models import Account, Order, Tracking

router = Router(tags=["Orders"], auth=auth.REQUIRED)

# 1–255 printable ASCII characters, no surrounding spaces. Sent but empty is an error, not "no key".
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    description="1–255 printable ASCII characters; a retry with the same key and body replays the answer",
    pattern=IDEMPOTENCY_KEY_PATTERN,
    min_length=1,
    max_length=255,
)
ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut}  # what every operation may answer
WRITE_ERRORS = {**ERRORS, 409: ErrorOut, 413: ErrorOut}  # bodies can be too large or conflict


def _order(account: Account, order_id: str) -> Order:
    """By public id ("ord_…"), or by order number; only within the key's account."""
    if not order_id or len(order_id) > 100 or not order_id.isprintable():
        raise not_found("No such order")
    orders = Order.objects.filter(account=account).prefetch_related(
        Prefetch("trackings", queryset=Tracking.objects.order_by("created_at", "id")), "items"
    )
    found = sorted(
        orders.filter(Q(public_id=order_id) | Q(order_number=order_id)),
        key=lambda order: order.public_id != order_id,
    )
    if not found:
        raise not_found("No such order")
    return found[0]


def _idempotency_key(value: str | None) -> str:
    """The key, or "" when the header was not sent at all."""
    if value is None:
        return ""
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, value):
        reason = (
            "The key is empty; send a key or leave the header out."
            if not value.strip()
            else "Use 1–255 printable ASCII characters, without surrounding spaces."
        )
        raise validation_error("Idempotency-Key", reason, "A header is invalid")
    return value


@router.post(
    "/v1/orders",
    operation_id="create_order",
    summary="Create an order",
    description=(
        "Send an `Idempotency-Key` header: a retry with the same key and the same body returns the "
        "original 201 response (with `Idempotent-Replayed: true`); the same key with a different "
        "body is a 409 `idempotency_key_conflict`; a key whose order was deleted or erased since is a "
        "410 `gone`. Keys are remembered RETENTION_DAYS (default 90). Without the header nothing is "
        "replayed."
    ),
    response={201: OrderOut, 410: ErrorOut, **WRITE_ERRORS},
)
def create_order(
    request: HttpRequest,
    response: HttpResponse,
    payload: OrderIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
):
    account = request.auth.account
    key = _idempotency_key(idempotency_key)

    def perform():
        order = orders_service.create_order(account=account, data=payload.to_data())
        return 201, order_out(order), order

    body_hash = orders_service.request_hash(json.loads(request.body))
    result = orders_service.idempotent(account=account, key=key, body_hash=body_hash, perform=perform)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(result.status, result.body)


@router.get(
    "/v1/orders/{order_id}",
    operation_id="get_order",
    summary="Get an order",
    description="`order_id` is the order's `id` (ord_…) or its order number.",
    response={200: OrderOut, **ERRORS},
)
def get_order(request: HttpRequest, order_id: str):
    return order_out(_order(request.auth.account, order_id))


@router.post(
    "/v1/orders/{order_id}/status",
    operation_id="set_order_status",
    summary="Change an order's status",
    description=(
        "pending → processing → shipped → delivered (forward skips allowed); pending or processing "
        "→ cancelled. Any other move is a 409 `invalid_transition`."
    ),
    response={200: OrderOut, **WRITE_ERRORS},
)
def set_status(request: HttpRequest, order_id: str, payload: StatusIn):
    order = _order(request.auth.account, order_id)
    lifecycle.transition_order(order, payload.status)
    return order_out(_order(request.auth.account, order.public_id))


@router.post(
    "/v1/orders/{order_id}/trackings",
    operation_id="add_tracking",
    summary="Add a shipment",
    description=(
        "The carrier is detected from the number when not given. A pending or processing order "
        "becomes shipped. Adding the same number again changes nothing (200)."
    ),
    response={200: OrderOut, 201: OrderOut, **WRITE_ERRORS},
)
def add_tracking(request: HttpRequest, order_id: str, payload: TrackingIn):
    order = _order(request.auth.account, order_id)
    before = {(t.carrier, t.tracking_number) for t in order.trackings.all()}
    tracking = orders_service.add_tracking(
        order=order,
        tracking_number=payload.trackingNumber,
        carrier=payload.carrier,
        estimated_delivery_date=payload.estimatedDeliveryDate,
    )
    created = (tracking.carrier, tracking.tracking_number) not in before
    return Status(201 if created else 200, order_out(_order(request.auth.account, order.public_id)))
