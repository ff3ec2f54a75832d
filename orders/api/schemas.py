"""Request bodies only the orders API takes; the shared order JSON lives in orders.payloads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from orders.orders_service import OrderData
from orders.payloads import (
    AddressIn,
    Day,
    Identifier,
    Line,
    OrderFields,
    OrderOut,
    Strict,
    TrackingNumber,
    order_out,
)

__all__ = ["OrderIn", "OrderOut", "StatusIn", "TrackingIn", "order_out"]


class OrderIn(OrderFields):
    orderNumber: Identifier | None = Field(None, description="Generated when absent")
    shippingAddress: AddressIn

    def to_data(self) -> OrderData:
        return OrderData(
            order_number=self.orderNumber or "", fields=self.detail_fields(), items=self.item_data() or []
        )


class StatusIn(Strict):
    status: Literal["pending", "processing", "shipped", "delivered", "cancelled"]


class TrackingIn(Strict):
    trackingNumber: TrackingNumber
    carrier: Annotated[Line, Field(max_length=50)] | None = Field(
        None, description="UPS, FedEx, USPS, DHL, Amazon…; detected from the number when absent"
    )
    estimatedDeliveryDate: Day | None = None
