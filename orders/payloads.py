"""The order JSON (camelCase, as the order system's docs show), shared by everything that reads or
writes it: the orders API, the inbound webhooks and the outgoing merchant webhooks.

Input models validate an address or ZIP code the same way whichever way it arrives; ``order_out``
is the one JSON representation of an order. Nothing here imports the API or the webhooks.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from iso3166 import countries
from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from orders.carriers import normalize_tracking_number
from orders.models import Order, OrderStatus, Tracking
from orders.orders_service import ItemData, as_datetime

US_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI UM AA AE AP"
)
US_STATES = frozenset(_STATES.split())
LANGUAGE_CODES = tuple(code for code, _name in settings.LANGUAGES)
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _plain_text(value: str, *, multiline: bool = False) -> str:
    """Refuse control characters and lone surrogates (PostgreSQL cannot store NUL or surrogates)."""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs" or (category == "Cc" and not (multiline and char in "\n\r\t")):
            raise ValueError("Control characters are not allowed.")
    return value


def _line(value: str) -> str:
    return _plain_text(value)


def _multiline(value: str) -> str:
    return _plain_text(value, multiline=True)


def _email(value: str) -> str:
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("Enter a valid email address.") from None
    return value


def _url(value: str) -> str:
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except DjangoValidationError:
            raise ValueError("Enter a valid http(s) URL.") from None
    return value


def _in_range(value: date | None) -> date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValueError("Enter a date between 2000 and 2100.")
    return value


def _moment(value: datetime | None) -> datetime | None:
    value = as_datetime(value)
    if value is not None:
        _in_range(value.date())
    return value


def _tracking_number(value: str) -> str:
    number = normalize_tracking_number(value)
    if not number or not number.isascii() or not number.isalnum():
        raise ValueError("Enter a tracking number of letters and digits.")
    if len(number) > 64:
        raise ValueError("A tracking number has at most 64 characters.")
    return number


def _country(value: str) -> str:
    code = value.upper()
    if code not in countries:
        raise ValueError("Enter an ISO 3166-1 alpha-2 country code, e.g. US.")
    return code


Line = Annotated[str, AfterValidator(_line)]
Text = Annotated[str, AfterValidator(_multiline)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_line), AfterValidator(_email)]
Day = Annotated[date, AfterValidator(_in_range)]
Moment = Annotated[datetime, AfterValidator(_moment)]
TrackingNumber = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_tracking_number)]
Identifier = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_line)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Lenient(Schema):
    """Webhook payloads: unknown fields are the sender's business, not an error."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class RecipientIn(Strict):
    name: Annotated[Line, Field(max_length=200)] = ""
    email: Email = ""
    phone: Annotated[Line, Field(max_length=40)] = ""


class AddressIn(Strict):
    street1: Annotated[Line, Field(min_length=1, max_length=200)]
    street2: Annotated[Line, Field(max_length=200)] = ""
    city: Annotated[Line, Field(min_length=1, max_length=100)]
    state: Annotated[Line, Field(max_length=100)] = ""
    zip: Annotated[Line, Field(min_length=1, max_length=20)]
    country: Annotated[Line, Field(min_length=2, max_length=2), AfterValidator(_country)]

    @model_validator(mode="after")
    def _us_rules(self):
        if self.country == "US":
            if not US_ZIP.match(self.zip):
                raise _field_error("zip", "Invalid ZIP code format (use 12345 or 12345-6789).")
            if self.state.upper() not in US_STATES:
                raise _field_error("state", "Use the two-letter USPS state code, e.g. TX.")
            self.state = self.state.upper()
        return self


class ItemIn(Strict):
    name: Annotated[Line, Field(min_length=1, max_length=300)]
    sku: Annotated[Line, Field(max_length=100)] = ""
    quantity: int = Field(1, ge=1, le=100_000)
    unitPrice: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    imageUrl: Annotated[Line, Field(max_length=500), AfterValidator(_url)] = ""


def _field_error(name: str, reason: str) -> PydanticCustomError:
    # pydantic reports a model-level error at the model's location; `field` in its context lets
    # the error envelope point at the field itself (e.g. "shippingAddress.zip").
    return PydanticCustomError("field_error", "{reason}", {"field": name, "reason": reason})


class OrderFields(Strict):
    """The order fields common to the API body and the order system's webhook payloads."""

    customerId: Identifier | None = Field(None, description="The customer's number in the order system")
    externalReference: Identifier | None = Field(
        None, description="The order system's own reference; when it is a UUID, also the external order id"
    )
    externalOrderId: uuid.UUID | None = None
    recipient: RecipientIn | None = None
    shippingAddress: AddressIn | None = None
    notes: Annotated[Text, Field(max_length=1000)] | None = None
    language: Literal[LANGUAGE_CODES] | None = None  # type: ignore[valid-type]
    orderDate: Moment | None = None
    estimatedDeliveryDate: Day | None = None
    items: list[ItemIn] | None = Field(None, max_length=200)
    patientId: Identifier | None = Field(None, description="Alias of customerId (the seed's order system)")
    prescriptionId: Identifier | None = Field(
        None, description="Alias of externalReference (the seed's order system)"
    )

    @model_validator(mode="after")
    def _one_customer(self):
        if self.patientId and self.customerId and self.patientId != self.customerId:
            raise _field_error("customerId", "patientId and customerId name different customers.")
        if self.prescriptionId and self.externalReference and self.prescriptionId != self.externalReference:
            raise _field_error(
                "externalReference", "prescriptionId and externalReference name different references."
            )
        return self

    @property
    def reference(self) -> str | None:
        return self.externalReference or self.prescriptionId

    def detail_fields(self, skip: frozenset[str] | set[str] = frozenset()) -> dict:
        """Model field → value for what the payload carries, leaving out the `skip` groups.

        Groups (see `detail_groups`): customer, external, recipient.name, recipient.email,
        recipient.phone, shippingAddress, notes, language, orderDate, estimatedDeliveryDate.
        """
        given = self.model_fields_set
        out: dict = {}
        customer = self.customerId or self.patientId
        if customer and "customer" not in skip:
            out["customer_number"] = customer
        external = self.externalOrderId or _uuid_or_none(self.reference)
        if external and "external" not in skip:
            out["external_order_id"] = external
        if self.reference and "external" not in skip:
            out["external_reference"] = self.reference
        if self.recipient is not None:
            for name in self.recipient.model_fields_set:
                if f"recipient.{name}" not in skip:
                    out[f"recipient_{name}"] = getattr(self.recipient, name)
        if self.shippingAddress is not None and "shippingAddress" not in skip:
            address = self.shippingAddress
            out.update(
                street1=address.street1,
                street2=address.street2,
                city=address.city,
                state=address.state,
                postal_code=address.zip,
                country=address.country,
            )
        for api_name, model_name in (
            ("notes", "notes"),
            ("language", "language"),
            ("orderDate", "order_date"),
            ("estimatedDeliveryDate", "estimated_delivery_date"),
        ):
            if api_name in given and getattr(self, api_name) is not None and api_name not in skip:
                out[model_name] = getattr(self, api_name)
        return out

    def item_data(self) -> list[ItemData] | None:
        if self.items is None:
            return None
        return [
            ItemData(
                name=item.name,
                sku=item.sku,
                quantity=item.quantity,
                unit_price=item.unitPrice,
                currency=item.currency,
                image_url=item.imageUrl,
            )
            for item in self.items
        ]


def detail_groups(data: dict) -> set[str]:
    """The detail groups a raw payload `data` object carries (see OrderFields.detail_fields)."""
    if not isinstance(data, dict):
        return set()
    present = {name for name, value in data.items() if value is not None}
    groups = present & {"shippingAddress", "notes", "language", "orderDate", "estimatedDeliveryDate"}
    if present & {"patientId", "customerId"}:
        groups.add("customer")
    if present & {"externalOrderId", "externalReference", "prescriptionId"}:
        groups.add("external")
    recipient = data.get("recipient")
    if isinstance(recipient, dict):
        groups |= {f"recipient.{name}" for name in recipient if name in ("name", "email", "phone")}
    return groups


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# --- responses ----------------------------------------------------------------------------------


class RecipientOut(Schema):
    name: str
    email: str
    phone: str


class AddressOut(Schema):
    street1: str
    street2: str
    city: str
    state: str
    zip: str
    country: str


class ItemOut(Schema):
    name: str
    sku: str
    quantity: int
    unitPrice: str | None
    currency: str
    imageUrl: str


class TrackingOut(Schema):
    trackingNumber: str
    carrier: str
    carrierName: str
    status: str
    trackingUrl: str
    isReturn: bool
    announcedDeliveryDate: date | None
    estimatedDeliveryDate: date | None
    deliveredAt: datetime | None
    alsoInOpenOrders: list[str] = Field(
        description=(
            "Order numbers of the account's other open orders that hold the same tracking number "
            "(a mistake or a recycled number; empty normally)"
        )
    )


class OrderOut(Schema):
    id: str
    orderNumber: str
    status: Literal["pending", "processing", "shipped", "delivered", "cancelled"]
    customerId: str | None
    externalReference: str | None
    externalOrderId: str | None
    patientId: str | None = Field(description="Alias of customerId (the seed's order system)")
    prescriptionId: str | None = Field(description="Alias of externalReference (the seed's order system)")
    recipient: RecipientOut
    shippingAddress: AddressOut
    notes: str
    language: str
    items: list[ItemOut]
    trackingNumber: str | None
    trackings: list[TrackingOut]
    estimatedDeliveryDate: date | None
    statusUrl: str | None = Field(description="Signed link to the shopper's status page")
    orderDate: datetime
    createdAt: datetime
    updatedAt: datetime


def _status_url(order: Order) -> str | None:
    from django.urls import NoReverseMatch

    try:
        return order.status_url()
    except NoReverseMatch:  # the shopper pages are not installed
        return None


def _tracking_out(tracking: Tracking, also_in: dict[str, list[str]]) -> dict:
    return {
        "trackingNumber": tracking.tracking_number,
        "carrier": tracking.carrier,
        "carrierName": tracking.carrier_info.name,
        "status": tracking.status,
        "trackingUrl": tracking.tracking_url,
        "isReturn": tracking.is_return,
        "announcedDeliveryDate": tracking.announced_delivery_date,
        "estimatedDeliveryDate": tracking.estimated_delivery_date,
        "deliveredAt": tracking.delivered_at,
        "alsoInOpenOrders": also_in.get(tracking.tracking_number, []),
    }


def _also_in_open_orders(order: Order, trackings: list[Tracking]) -> dict[str, list[str]]:
    """Tracking number → the account's other open orders holding it (one query)."""
    if not trackings:
        return {}
    others = (
        Tracking.objects.filter(
            order__account_id=order.account_id, tracking_number__in={t.tracking_number for t in trackings}
        )
        .exclude(order_id=order.pk)
        .exclude(order__status__in=[OrderStatus.DELIVERED, OrderStatus.CANCELLED])
        .order_by("order__order_number")
        .values_list("tracking_number", "order__order_number")
    )
    found: dict[str, list[str]] = {}
    for number, order_number in others:
        if order_number not in found.setdefault(number, []):
            found[number].append(order_number)
    return found


def order_out(order: Order) -> dict:
    """The order as the API shows it; JSON-ready (dates as ISO strings) so it can be stored."""
    trackings = list(order.trackings.all())
    outbound = [t for t in trackings if not t.is_return]
    also_in = _also_in_open_orders(order, trackings)
    data = {
        "id": order.public_id,
        "orderNumber": order.order_number,
        "status": order.status,
        "customerId": order.customer_number or None,
        "externalReference": order.external_reference or None,
        "externalOrderId": str(order.external_order_id) if order.external_order_id else None,
        "patientId": order.customer_number or None,
        "prescriptionId": order.external_reference or None,
        "recipient": {
            "name": order.recipient_name,
            "email": order.recipient_email,
            "phone": order.recipient_phone,
        },
        "shippingAddress": {
            "street1": order.street1,
            "street2": order.street2,
            "city": order.city,
            "state": order.state,
            "zip": order.postal_code,
            "country": order.country,
        },
        "notes": order.notes,
        "language": order.language,
        "items": [
            {
                "name": item.name,
                "sku": item.sku,
                "quantity": item.quantity,
                "unitPrice": None if item.unit_price is None else str(item.unit_price),
                "currency": item.currency,
                "imageUrl": item.image_url,
            }
            for item in order.items.all()
        ],
        "trackingNumber": outbound[0].tracking_number if outbound else None,
        "trackings": [_tracking_out(t, also_in) for t in trackings],
        "estimatedDeliveryDate": order.current_eta,
        "statusUrl": _status_url(order),
        "orderDate": order.order_date,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
    }
    return OrderOut.model_validate(data).model_dump(mode="json")


ORDER_STATUSES = tuple(OrderStatus.values)
