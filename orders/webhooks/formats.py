"""The inbound event payloads, per source: what each event type must carry (pydantic)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from orders.models import OrderStatus, TrackingStatus
from orders.payloads import (
    AddressIn,
    Day,
    Identifier,
    ItemIn,
    Lenient,
    Line,
    Moment,
    OrderFields,
    RecipientIn,
    TrackingNumber,
)

# --- payloads -----------------------------------------------------------------------------------


class Event(BaseModel):
    """The webhooks' own models, validated from parsed JSON by pydantic alone: django-ninja's
    Schema (the orders API's base) reads its input through a Django-aware getter per field, which
    took a third of validating a carrier update. Unknown fields are the sender's business."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Envelope(Event):
    id: Annotated[Line, Field(min_length=1, max_length=200)]
    type: Annotated[Line, Field(min_length=1, max_length=100)]
    createdAt: Moment | None = None
    data: dict[str, Any]


class LenientAddress(AddressIn):
    model_config = Lenient.model_config


class LenientRecipient(RecipientIn):
    model_config = Lenient.model_config


class LenientItem(ItemIn):
    model_config = Lenient.model_config


class NimbusOrder(OrderFields):
    """order.created / order.updated: the order JSON of the order system."""

    model_config = Lenient.model_config
    recipient: LenientRecipient | None = None
    shippingAddress: LenientAddress | None = None
    items: list[LenientItem] | None = Field(None, max_length=200)
    orderId: Identifier | None = None
    id: Identifier | None = None
    status: OrderStatus | None = None
    trackingNumber: TrackingNumber | None = None
    carrier: Annotated[Line, Field(max_length=50)] | None = None

    @model_validator(mode="after")
    def _needs_id(self):
        if not (self.orderId or self.id):
            raise ValueError("data.orderId is required.")
        return self

    @property
    def ref(self) -> str:
        return self.orderId or self.id or ""


class OrderRef(Event):
    orderId: Identifier


class Shipment(OrderRef):
    """order.fulfilled (order system) and TRACKING_OBTAINED (vendor)."""

    trackingNumber: TrackingNumber
    carrier: Annotated[Line, Field(max_length=50)] | None = None
    estimatedDeliveryDate: Day | None = None
    status: OrderStatus | None = None


class FeedCheckpoint(Event):
    timestamp: Moment
    status: str = Field(min_length=1, max_length=40)
    statusCode: Annotated[Line, Field(max_length=64)] = ""
    message: Annotated[Line, Field(max_length=500)] = ""
    location: Annotated[Line, Field(max_length=200)] = ""
    country: Annotated[Line, Field(max_length=2)] = ""

    @model_validator(mode="after")
    def _known_status(self):
        self.status = tracking_status(self.status)
        self.country = self.country.upper()
        if self.country and not (
            self.country.isascii() and self.country.isalpha() and len(self.country) == 2
        ):
            raise PydanticCustomError(
                "field_error", "{reason}", {"field": "country", "reason": "Use a two-letter country code."}
            )
        return self


class TrackingUpdate(Event):
    """tracking.updated: our documented carrier checkpoint feed."""

    trackingNumber: TrackingNumber
    courier: Annotated[Line, Field(max_length=50)] | None = None
    status: str | None = Field(None, max_length=40)
    estimatedDeliveryDate: Day | None = None
    checkpoints: list[FeedCheckpoint] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _something_to_say(self):
        if self.status:
            self.status = tracking_status(self.status)
        if not self.checkpoints and not self.status:
            raise ValueError("Send checkpoints, a status, or both.")
        return self


def tracking_status(value: str) -> str:
    """ "in_transit", "InTransit", "in-transit" → "in_transit"; unknown → error."""
    status = _STATUSES.get("".join(c for c in value if c.isalnum()).lower())
    if status is None:
        raise ValueError(f"Unknown status. Use one of: {', '.join(TrackingStatus.values)}.")
    return status


_STATUSES = {status.replace("_", ""): status for status in TrackingStatus.values}
