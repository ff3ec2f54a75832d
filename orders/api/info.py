"""`GET /v4/track/orders/info/`: parcelLab's order status info, as far as our data goes.

The resolver decides the access level; this module only shapes it. `limited` (a tracking number
without a second factor) gets shipment progress and nothing about the recipient, the address or
what was bought; `none` is a 404 that reads the same for an unknown order and a wrong factor.
"""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from iso3166 import countries
from ninja import Field, Query, Router, Schema
from ninja.renderers import JSONRenderer

from orders import lookup, presentation
from orders.api import auth
from orders.api.errors import ErrorOut, not_found, validation_error
from orders.cache import answers as answer_cache
from orders.lookup import Access, LookupResult
from orders.models import STEP_FOR_STATUS, Checkpoint, LineItem, Order, Tracking, TrackingStatus
from orders.signing import LinkState

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
    """Documented here; validated by the shared resolver (orders.lookup), not by this schema."""

    account: str | None = Field(None, description="Account id or slug (optional with a single account)")
    order_number: str | None = None
    external_order_id: str | None = Field(None, description="UUID")
    customer_number: str | None = None
    tracking_number: str | None = None
    courier: str | None = Field(None, description="Carrier code: ups, fedex, usps, amazon, dhl, other")
    recipient_email: str | None = None
    recipient_postal_code: str | None = None
    s: str | None = Field(None, description="Signature of a signed link")
    exp: str | None = Field(None, description="Expiry of a signed link (unix time)")
    lang: str | None = Field(None, description="en, de, fr or es")
    single_tracking: str | None = Field(None, description="true: only the tracking that was looked up")
    live_refresh: str | None = Field(
        None,
        description="true: ask the carriers for news first (bounded to a few seconds, at most every 5 "
        "minutes per tracking); any carrier failure falls back to the stored data",
    )


INFO_PARAMS = {*lookup.LookupParams.base_fields, *InfoParams.model_fields}


class CourierInfo(Schema):
    courier: str
    courier_name: str
    courier_tracking_url: str


class DeliveryStatus(Schema):
    step: int
    status_code: str
    status_text: str
    status_details: str
    lifecycle_status: str
    event_timestamp: datetime | None


class InfoCheckpoint(Schema):
    step: int
    courier: str
    status_code: str
    status_text: str
    status_details: str
    event_timestamp: datetime
    location: str
    is_hidden: bool


class OpeningHours(Schema):
    day: str
    open: str
    close: str


class ActionBox(Schema):
    type: str
    label: str
    address: str
    opening_hours: list[OpeningHours]


class Article(Schema):
    line_item_id: str
    sku: str
    article_name: str
    article_image_url: str
    quantity: int
    unit_price: str | None
    currency: str


class InfoTracking(Schema):
    tracking_number: str
    courier_info: CourierInfo
    last_delivery_status: DeliveryStatus
    is_delayed: bool
    is_exception: bool
    is_return: bool
    announced_delivery_date: date | None
    estimated_delivery_date: date | None
    action_box: ActionBox | None = None
    articles: list[Article] | None = None
    checkpoints: list[InfoCheckpoint]


class InfoOut(Schema):
    access: str = Field(description="full or limited")
    order_number: str | None = None
    order_date: datetime | None = None
    status: str = Field(description="pending, processing, shipped, delivered or cancelled")
    status_text: str
    estimated_delivery_date: date | None
    recipient_name: str | None = None
    recipient_email: str | None = None
    destination_country_iso3: str | None = None
    articles: list[Article] | None = None
    trackings: list[InfoTracking]


def _iso3(country: str) -> str:
    try:
        return countries.get(country).alpha3 if country else ""
    except KeyError:
        return ""


def _article(item: LineItem) -> dict:
    return {
        "line_item_id": str(item.pk),
        "sku": item.sku,
        "article_name": item.name,
        "article_image_url": item.image_url,
        "quantity": item.quantity,
        "unit_price": None if item.unit_price is None else str(item.unit_price),
        "currency": item.currency,
    }


def _checkpoint(checkpoint: Checkpoint, tracking: Tracking) -> dict:
    return {
        "step": STEP_FOR_STATUS.get(checkpoint.status) or tracking.step,
        "courier": tracking.carrier,
        "status_code": checkpoint.status_code,
        "status_text": presentation.status_text(checkpoint.status),
        "status_details": checkpoint.message or checkpoint.details,
        "event_timestamp": checkpoint.occurred_at,
        "location": presentation.checkpoint_place(checkpoint.location, checkpoint.country),
        "is_hidden": checkpoint.is_hidden,
    }


def _action_box(tracking: Tracking) -> dict | None:
    if not tracking.has_pickup_location:
        return None
    return {
        "type": "pickup-location",
        "label": tracking.pickup_location_name,
        "address": tracking.pickup_location_address,
        "opening_hours": tracking.opening_hours,
    }


def _tracking(result: LookupResult, tracking: Tracking, items: list[LineItem]) -> dict:
    events = result.checkpoints(tracking)
    newest = events[0] if events else None
    data = {
        "tracking_number": tracking.tracking_number,
        "courier_info": {
            "courier": tracking.carrier,
            "courier_name": tracking.carrier_info.name,
            "courier_tracking_url": tracking.tracking_url,
        },
        "last_delivery_status": {
            "step": tracking.step,
            "status_code": newest.status_code if newest else tracking.status,
            "status_text": presentation.status_text(tracking.status),
            "status_details": (newest.message or newest.details) if newest else "",
            "lifecycle_status": LIFECYCLE_STATUS.get(tracking.status, tracking.status),
            "event_timestamp": newest.occurred_at if newest else tracking.last_event_at,
        },
        "is_delayed": tracking.is_delayed,
        "is_exception": tracking.is_exception,
        "is_return": tracking.is_return,
        "announced_delivery_date": tracking.announced_delivery_date,
        "estimated_delivery_date": tracking.estimated_delivery_date,
        "checkpoints": [_checkpoint(c, tracking) for c in events],
    }
    if result.is_full:  # a pickup point near the shopper and the articles are theirs to see
        data["action_box"] = _action_box(tracking)
        data["articles"] = [_article(i) for i in items if i.tracking_id == tracking.pk]
    return data


def serialize(result: LookupResult) -> dict:
    """The info document for a FULL or LIMITED result (call inside translation.override)."""
    order: Order = result.order
    items = list(order.items.all()) if result.is_full else []
    headline = presentation.order_headline(order, result.trackings, full=result.is_full)
    data = {
        "access": str(result.access),
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
    key_id = str(request.api_key.pk) if api_account is not None else ""
    cache_key = answer_cache.request_key("info", request, key_id, params=INFO_PARAMS)
    if (cached := answer_cache.fresh(cache_key)) is not None:
        response = cached.response()
        response.language_independent = True  # see orders.middleware.LocaleMiddleware
        return response
    try:
        result = lookup.resolve(request.GET, request=request, api_account=api_account)
    except lookup.LookupInvalid as exc:
        field, reason = exc.first
        raise validation_error(field, reason, "The query parameters are invalid") from exc
    if result.access == Access.NONE:
        raise not_found(LINK_MESSAGES.get(result.link_state, NO_ORDER))
    language = result.display_language
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
        cached = answer_cache.Answer.of(
            answer, order=result.order, exp=result.params.get("exp"), timeout=ANSWER_TIMEOUT
        )
        answer_cache.remember(cache_key, cached, timeout=ANSWER_TIMEOUT)
    return answer
