"""`GET /v4/track/orders/info/`: parcelLab's order status info, as far as our data goes.

The resolver decides the access level; this module only shapes it. `limited` (a tracking number
without a second factor) gets shipment progress and nothing about the recipient, the address or
what was bought; `none` is a 404 that reads the same for an unknown order and a wrong factor.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from iso3166 import countries
from ninja import Field, Query, Router, Schema
from ninja.renderers import JSONRenderer

from orders import apikeys, lookup, outages, presentation
from orders.api import auth
from orders.api.errors import ErrorOut, not_found, validation_error
from orders.cache import answers as answer_cache
from orders.carriers import CARRIERS, get_carrier, registry
from orders.lookup import Access, LookupResult
from orders.models import (
    EXCEPTION_STATUSES,
    OPENING_DAYS,
    STEP_FOR_STATUS,
    Checkpoint,
    LineItem,
    Order,
    Tracking,
    TrackingStatus,
)
from orders.ratelimits import RateLimited
from orders.signing import LinkState

logger = logging.getLogger(__name__)
router = Router(tags=["Order status info"])
ANSWER_TIMEOUT = 300  # seconds an unchanged answer is kept for polling storefronts
RENDERER = JSONRenderer()  # django-ninja's own, so cached and fresh answers are byte-identical

# parcelLab's lifecycle_status vocabulary for our tracking statuses.
LIFECYCLE_STATUS = {
    TrackingStatus.PENDING: "Pending",
    TrackingStatus.INFO_RECEIVED: "InfoReceived",
    TrackingStatus.IN_TRANSIT: "InTransit",
    TrackingStatus.OUT_FOR_DELIVERY: "OutForDelivery",
    TrackingStatus.AVAILABLE_FOR_PICKUP: "AvailableForPickup",
    TrackingStatus.FAILED_ATTEMPT: "FailedAttempt",
    TrackingStatus.EXCEPTION: "Exception",
    TrackingStatus.DELIVERED: "Delivered",
    TrackingStatus.RETURNED: "Returned",
}


class InfoParams(Schema):
    """parcelLab's v4 lookup parameters. Unknown parameters are ignored, as parcelLab does; an
    invalid value of a known one is a 400."""

    account: str | None = Field(None, description="Account id or slug (optional with a single account)")
    client_key: str | None = Field(None, description="Client (shop) key: an account's slug")
    order_number: str | None = Field(None, description="Lookup set 1: with account or client_key")
    external_order_id: str | None = Field(None, description="Lookup set 2 (a UUID): with account")
    external_reference: str | None = Field(
        None, description="Lookup set 3: with account. Not unique: the newest order answers"
    )
    tracking_number: str | None = Field(None, description="Lookup set 4: with courier (optional, detected)")
    courier: str | None = Field(None, description="Carrier code", json_schema_extra={"enum": list(CARRIERS)})
    customer_number: str | None = Field(None, description="Lookup set 5: with account; the newest order")
    recipient_email: str | None = Field(
        None,
        description=(
            "Lookup set 6 (with account) when no other identifier is given: needs an API key, "
            "else the answer is 404. With another identifier: a second factor"
        ),
    )
    tracking_id: str | None = Field(None, description="A tracking's `tracking_id` (trk_…)")
    recipient_postal_code: str | None = Field(None, description="Second factor")
    postal_code: str | None = Field(None, description="Alias of recipient_postal_code")
    s: str | None = Field(None, description="Signature of a signed link")
    exp: str | None = Field(None, description="Expiry of a signed link (unix time)")
    lang: str | None = Field(None, description="en, de, fr or es; else the order's, else the account's")
    single_tracking: bool | None = Field(None, description="true: only the tracking that was looked up")
    live_refresh: bool | None = Field(
        None,
        description="true: ask the carriers for news first (bounded to a few seconds, at most every 5 "
        "minutes per tracking); any carrier failure falls back to the stored data",
    )


INFO_PARAMS = {*lookup.LookupParams.base_fields, *InfoParams.model_fields}
DATE_DOC = "YYYY-MM-DD"


class CourierInfo(Schema):
    courier: str
    courier_name: str
    courier_tracking_url: str
    courier_reroute_url: str
    last_mile_courier: str
    last_mile_courier_name: str


class DeliveryStatus(Schema):
    step: int
    status_code: str
    status_text: str
    status_details: str
    lifecycle_status: str
    delivery_extra_info: str
    exception_type: str
    event_timestamp: datetime | None
    next_action: str
    icon_hint: str


class EstimatedDelivery(Schema):
    start_date: date
    end_date: date
    start_time: str | None = Field(description="HH:MM:SS; null: no time of day known")
    end_time: str | None = Field(description="HH:MM:SS; null: no time of day known")


class InfoCheckpoint(Schema):
    step: int
    courier: str
    status_code: str
    event_timestamp: datetime
    status_text: str
    status_details: str
    is_hidden: bool
    location: str
    delivery_location_type: str | None = Field(description="ParcelShop for a pickup point; else null")
    delivery_extra_info: str
    estimated_delivery_date: EstimatedDelivery | None = Field(
        None, description="Only when the event carried an estimate"
    )
    exception_type: str
    next_action: str


class OpeningHours(Schema):
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    open: str = Field(description="HH:MM:SS")
    close: str = Field(description="HH:MM:SS")


class ActionBox(Schema):
    type: Literal["pickup-location"]
    label: str
    label_communication: str
    label_caption: str
    address: str
    opening_hours: list[OpeningHours]


class ShippingAddress(Schema):
    first_name: str
    last_name: str
    company_name: str
    address_line: str
    address_line_extra: str
    postal_code: str
    city: str
    country_iso3: str
    region_code: str
    phone: str


class ArticleAttribute(Schema):
    key: str
    value: Any


class Article(Schema):
    version: Literal["v1"]
    line_item_id: str
    product_id: str
    sku: str
    order_item_id: str
    article_name: str
    article_category: str
    article_store_url: str
    article_image_url: str
    article_brand: str
    size: str
    color: str
    unit_price: str | None = Field(description="Decimal as text; null: no price stored")
    quantity: int
    amount_invoiced: str | None = Field(description="unit_price × quantity as text")
    origin_country_iso3: str
    is_bulky: bool
    tags: list[str]
    additional_attributes: list[ArticleAttribute]
    currency: str = Field(description="Extension: ISO 4217 code of the prices")


class ReportingInfo(Schema):
    is_forgotten: bool
    is_delayed: bool
    has_failed_attempt: bool
    is_delayed_dispatch: bool
    is_returned: bool
    is_customer_promise_exceeded: bool
    trending_late_probability: float | None
    trending_late_status: Literal["normal", "late"]
    contacted_with_messages: list[str]
    exception_messages: list[str]
    in_transit_date: datetime | None
    pickup_date: datetime | None
    courier_dropoff_date: datetime | None
    delivery_date: datetime | None
    returned_date: datetime | None


class InfoTracking(Schema):
    tracking_id: str = Field(description="Extension: this tracking's id for the tracking_id lookup")
    tracking_number: str
    courier_info: CourierInfo
    last_delivery_status: DeliveryStatus
    delivery_location: str
    is_delayed: bool
    is_exception: bool
    is_return: bool
    action_box: ActionBox | None = Field(None, description="Full access, only with a pickup point")
    recipient_name: str | None = Field(None, description="Full access only")
    recipient_email: str | None = Field(None, description="Full access only")
    destination_country_iso3: str | None = Field(None, description="Full access only")
    recipient_postal_code: str | None = Field(None, description="Full access only")
    identifiers_consignment: str
    shipping_address: ShippingAddress | None = Field(None, description="Full access only")
    articles: list[Article] | None = Field(None, description="Full access only")
    additional_attributes: dict[str, Any]
    announced_delivery_date: date | None
    announced_delivery_date_min: date | None
    estimated_delivery_date: date | None = Field(description="Extension: the current estimate")
    pod_identifier: str
    pod_signature: str
    pod_date: date | None
    timezone: str
    reporting_info: ReportingInfo
    supports_live_refresh: bool
    checkpoints: list[InfoCheckpoint]


class InfoOut(Schema):
    access: Literal["full", "limited"] = Field(description="Extension: how much the caller may see")
    order_number: str | None = Field(None, description="Full access only")
    client_key: str
    order_date: datetime | None = Field(None, description="Full access only")
    recipient_name: str | None = Field(None, description="Full access only")
    recipient_email: str | None = Field(None, description="Full access only")
    destination_country_iso3: str | None = Field(None, description="Full access only")
    status: Literal["pending", "processing", "shipped", "delivered", "cancelled"] = Field(
        description="Extension: the order's status"
    )
    status_text: str = Field(description="Extension: the order's headline in `lang`")
    estimated_delivery_date: date | None = Field(description="Extension: the order's current estimate")
    articles: list[Article] | None = Field(None, description="Extension, full access only: every article")
    trackings: list[InfoTracking]


def _iso3(country: str) -> str:
    try:
        return countries.get(country).alpha3 if country else ""
    except KeyError:
        return ""


def _article(item: LineItem) -> dict:
    price = None if item.unit_price is None else str(item.unit_price)
    invoiced = None if item.unit_price is None else str(item.unit_price * item.quantity)
    return {
        "version": "v1",
        "line_item_id": str(item.pk),
        "product_id": "",
        "sku": item.sku,
        "order_item_id": str(item.pk),
        "article_name": item.name,
        "article_category": "",
        "article_store_url": "",
        "article_image_url": item.image_url,
        "article_brand": "",
        "size": "",
        "color": "",
        "unit_price": price,
        "quantity": item.quantity,
        "amount_invoiced": invoiced,
        "origin_country_iso3": "",
        "is_bulky": False,
        "tags": [],
        "additional_attributes": [{"key": "currency", "value": item.currency}],
        "currency": item.currency,
    }


def _seconds(value: str) -> str:
    """Opening times are stored as HH:MM; parcelLab writes HH:MM:SS."""
    return f"{value}:00" if len(value) == 5 else value


def _exception_type(status: str) -> str:
    return status if status in EXCEPTION_STATUSES else ""


def _checkpoint(checkpoint: Checkpoint, tracking: Tracking) -> dict:
    data = {
        "step": STEP_FOR_STATUS.get(checkpoint.status) or tracking.step,
        "courier": tracking.carrier,
        "status_code": checkpoint.status_code,
        "event_timestamp": checkpoint.occurred_at,
        "status_text": presentation.status_text(checkpoint.status),
        "status_details": checkpoint.message or checkpoint.details,
        "is_hidden": checkpoint.is_hidden,
        "location": presentation.checkpoint_place(checkpoint.location, checkpoint.country),
        "delivery_location_type": (
            "ParcelShop" if checkpoint.status == TrackingStatus.AVAILABLE_FOR_PICKUP else None
        ),
        "delivery_extra_info": "",
        "exception_type": _exception_type(checkpoint.status),
        "next_action": "",
    }
    if checkpoint.estimated_delivery_date is not None:
        day = checkpoint.estimated_delivery_date
        data["estimated_delivery_date"] = {
            "start_date": day,
            "end_date": day,
            "start_time": None,
            "end_time": None,
        }
    return data


def _action_box(tracking: Tracking) -> dict:
    return {
        "type": "pickup-location",
        "label": tracking.pickup_location_name,
        "label_communication": tracking.pickup_location_name or tracking.pickup_location_address,
        "label_caption": str(TrackingStatus.AVAILABLE_FOR_PICKUP.label),
        "address": tracking.pickup_location_address,
        "opening_hours": [
            {"day": h["day"], "open": _seconds(h["open"]), "close": _seconds(h["close"])}
            for h in tracking.opening_hours
            if h["day"] in OPENING_DAYS
        ],
    }


def _shipping_address(order: Order) -> dict:
    first, _space, last = order.recipient_name.strip().rpartition(" ")
    if not first:  # one word: a last name alone
        first, last = "", last
    return {
        "first_name": first,
        "last_name": last,
        "company_name": "",
        "address_line": order.street1,
        "address_line_extra": order.street2,
        "postal_code": order.postal_code,
        "city": order.city,
        "country_iso3": _iso3(order.country),
        "region_code": order.state,
        "phone": order.recipient_phone,
    }


def _first(events: list[Checkpoint], statuses: set[str]) -> datetime | None:
    """The earliest event with one of `statuses` (events come newest first)."""
    matching = [c.occurred_at for c in events if c.status in statuses]
    return min(matching) if matching else None


CARRIER_SCANS = set(TrackingStatus.values) - {TrackingStatus.PENDING, TrackingStatus.INFO_RECEIVED}
FORGOTTEN_AFTER = timedelta(days=14)  # no carrier event for this long: the parcel is "forgotten"
DISPATCH_DAYS = 2  # a label with no carrier scan after this many days: dispatch is late


def _reporting_info(order: Order, tracking: Tracking, events: list[Checkpoint]) -> dict:
    now = timezone.now()
    open_ = tracking.status not in (TrackingStatus.DELIVERED, TrackingStatus.RETURNED)
    last_event = tracking.last_event_at or tracking.created_at
    promise = order.estimated_delivery_date
    delivered_on = timezone.localdate(tracking.delivered_at) if tracking.delivered_at else None
    exceeded = promise is not None and (
        (delivered_on or timezone.localdate()) > promise if not tracking.is_return else False
    )
    no_scan = not any(c.status in CARRIER_SCANS for c in events)
    return {
        "is_forgotten": open_ and now - last_event > FORGOTTEN_AFTER,
        "is_delayed": tracking.is_delayed,
        "has_failed_attempt": any(c.status == TrackingStatus.FAILED_ATTEMPT for c in events),
        "is_delayed_dispatch": no_scan and now - tracking.created_at > timedelta(days=DISPATCH_DAYS),
        "is_returned": tracking.status == TrackingStatus.RETURNED,
        "is_customer_promise_exceeded": exceeded,
        "trending_late_probability": 1.0 if tracking.is_delayed else None,
        "trending_late_status": "late" if tracking.is_delayed else "normal",
        "contacted_with_messages": [],
        "exception_messages": [
            c.message or c.details or presentation.status_text(c.status)
            for c in events
            if c.status in EXCEPTION_STATUSES
        ],
        "in_transit_date": _first(events, {TrackingStatus.IN_TRANSIT}),
        "pickup_date": _first(events, CARRIER_SCANS),
        "courier_dropoff_date": None,
        "delivery_date": tracking.delivered_at,
        "returned_date": _first(events, {TrackingStatus.RETURNED}),
    }


def _tracking(result: LookupResult, tracking: Tracking, items: list[LineItem]) -> dict:
    order: Order = result.order
    events = result.checkpoints(tracking)
    newest = events[0] if events else None
    carrier = tracking.carrier_info
    last_mile = get_carrier(tracking.last_mile_carrier or tracking.carrier)
    window_end = tracking.estimated_delivery_date_end or tracking.estimated_delivery_date
    delivered = next((c for c in events if c.status == TrackingStatus.DELIVERED), None)
    data = {
        "tracking_id": tracking.public_id,
        "tracking_number": tracking.tracking_number,
        "courier_info": {
            "courier": tracking.carrier,
            "courier_name": carrier.name,
            "courier_tracking_url": tracking.tracking_url,
            "courier_reroute_url": "",
            "last_mile_courier": last_mile.code,
            "last_mile_courier_name": last_mile.name,
        },
        "last_delivery_status": {
            "step": tracking.step,
            "status_code": newest.status_code if newest else tracking.status,
            "status_text": presentation.status_text(tracking.status),
            "status_details": (newest.message or newest.details) if newest else "",
            "lifecycle_status": LIFECYCLE_STATUS.get(tracking.status, tracking.status),
            "delivery_extra_info": "",
            "exception_type": _exception_type(tracking.status),
            "event_timestamp": newest.occurred_at if newest else tracking.last_event_at,
            "next_action": "",
            "icon_hint": tracking.status,
        },
        "delivery_location": (
            presentation.checkpoint_place(delivered.location, delivered.country) if delivered else ""
        ),
        "is_delayed": tracking.is_delayed,
        "is_exception": tracking.is_exception,
        "is_return": tracking.is_return,
        "identifiers_consignment": "",
        "additional_attributes": {},
        "announced_delivery_date": window_end,
        "announced_delivery_date_min": tracking.estimated_delivery_date,
        "estimated_delivery_date": tracking.estimated_delivery_date,
        "pod_identifier": "",
        "pod_signature": "",
        "pod_date": timezone.localdate(tracking.delivered_at) if tracking.delivered_at else None,
        "timezone": settings.TIME_ZONE,
        "reporting_info": _reporting_info(order, tracking, events),
        "supports_live_refresh": registry.supports_live_refresh(tracking),
        "checkpoints": [_checkpoint(c, tracking) for c in events],
    }
    if result.is_full:  # the recipient, their address, a pickup point near them and what they bought
        data.update(
            recipient_name=order.recipient_name,
            recipient_email=order.recipient_email,
            destination_country_iso3=_iso3(order.country),
            recipient_postal_code=order.postal_code,
            shipping_address=_shipping_address(order),
            articles=[_article(i) for i in items if i.tracking_id == tracking.pk],
        )
        if tracking.has_pickup_location:
            data["action_box"] = _action_box(tracking)
    return data


def serialize(result: LookupResult) -> dict:
    """The info document for a FULL or LIMITED result (call inside translation.override)."""
    order: Order = result.order
    items = list(order.items.all()) if result.is_full else []
    headline = presentation.order_headline(order, result.trackings, full=result.is_full)
    data = {
        "access": str(result.access),
        "client_key": order.account.slug,
        "status": order.status,
        "status_text": headline.text,
        "estimated_delivery_date": order.current_eta,
        "trackings": [_tracking(result, t, items) for t in result.trackings],
    }
    if result.is_full:
        data.update(
            order_number=order.order_number,
            order_date=order.order_date,
            recipient_name=order.recipient_name,
            recipient_email=order.recipient_email,
            destination_country_iso3=_iso3(order.country),
            articles=[_article(i) for i in items],
        )
    return data


def _answer_timeout(result: LookupResult) -> int:
    """An answer found by tracking number is not kept past the day its shipment leaves the
    lookup window (TRACKING_LOOKUP_DAYS)."""
    tracking = result.matched_tracking
    if tracking is None or result.params.get("identifier") != "tracking_number":
        return ANSWER_TIMEOUT
    window_ends = tracking.created_at + timedelta(days=settings.TRACKING_LOOKUP_DAYS)
    return max(1, min(ANSWER_TIMEOUT, int((window_ends - timezone.now()).total_seconds())))


NO_ORDER = "No order matches these details"
LINK_MESSAGES = {
    LinkState.EXPIRED: "This link has expired; look the order up with its number and email instead",
    LinkState.REVOKED: "This link is no longer valid; look the order up with its number and email instead",
}


@router.get(
    "/v4/track/orders/info/",
    url_name="info",
    operation_id="order_status_info",
    summary="Order status information",
    description=(
        "Look an order up by exactly one of order_number, external_order_id, customer_number or "
        "tracking_number. With an API key (X-API-Key or Bearer) the answer is `full` for the key's "
        "account; without one, a signed link or a matching recipient_email / recipient_postal_code "
        "gives `full`, a tracking number alone gives `limited` (no personal data), anything else 404."
    ),
    response={200: InfoOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    exclude_unset=True,
    openapi_extra={"security": [{}, {"ApiKeyAuth": []}, {"BearerAuth": []}]},
)
def order_info(request: HttpRequest, response: HttpResponse, params: Query[InfoParams]):
    api_account = auth.optional_account(request)
    cache_key = _answer_key(request, getattr(request, "api_key", None) if api_account else None)
    if (cached := answer_cache.fresh(cache_key)) is not None:
        return _served(cached)
    try:
        result = lookup.resolve(request.GET, request=request, api_account=api_account)
    except lookup.LookupInvalid as exc:
        field, reason = exc.first
        raise validation_error(field, reason, "The query parameters are invalid") from exc
    if result.access == Access.NONE:
        raise not_found(LINK_MESSAGES.get(result.link_state, NO_ORDER))
    # `lang`, else the order's language (limited answers too: it names no one), else the shop's.
    language = result.params["lang"] or result.order.language or result.display_language
    with translation.override(language):
        data = serialize(result)
    # Rendered here rather than by django-ninja, so the very bytes can be cached for the next poll.
    payload = InfoOut.model_validate(data).model_dump(exclude_unset=True)
    answer = HttpResponse(
        RENDERER.render(request, payload, response_status=200),
        content_type=f"{RENDERER.media_type}; charset={RENDERER.charset}",
    )
    answer.language_independent = True  # see orders.middleware.LocaleMiddleware
    answer["Cache-Control"] = "private, no-store"
    answer["Content-Language"] = language
    if result.shareable:
        timeout = _answer_timeout(result)
        cached = answer_cache.Answer.of(
            answer, order=result.order, exp=result.params.get("exp"), timeout=timeout
        )
        answer_cache.remember(cache_key, cached, timeout=timeout)
    return answer


def _answer_key(request: HttpRequest, api_key) -> str | None:
    """An answer depends on the parameters and on the API key, if any (its account, its rate)."""
    return answer_cache.request_key("info", request, str(api_key.pk) if api_key else "", params=INFO_PARAMS)


def _served(cached: answer_cache.Answer) -> HttpResponse:
    response = cached.response()
    response.language_independent = True  # see orders.middleware.LocaleMiddleware
    return response


def remembered_answer(request: HttpRequest) -> HttpResponse | None:
    """The answer kept for this very request, before django-ninja parses anything; None: ask
    `order_info`.

    A kept answer was built from these very parameters, so they were valid; the API key (if one
    is sent) is checked and counted as the view would. Whatever is unusual — a wrong key, a key
    past its rate, a failure — is left to the view, which answers it in the API's envelope
    (nothing was counted then, so the view's own check counts the call once).
    """
    if request.method != "GET":
        return None
    try:
        raw = auth.presented_key(request)
        api_key = apikeys.verify(raw) if raw else None
        if raw and api_key is None:
            return None
        cached = answer_cache.fresh(_answer_key(request, api_key))
        if cached is None:
            return None
        if api_key is not None:
            auth.admit(request, api_key)
    except (RateLimited, *outages.CONNECTION_ERRORS):  # the database away for an unremembered key
        return None
    except Exception:  # a bug: logged here, and the view answers it in the envelope
        logger.exception("info API: a kept answer could not be served")
        return None
    return _served(cached)
