"""schema.org `ParcelDelivery` JSON-LD for the status page, so mail clients and assistants can
read carrier, tracking number, expected arrival window and delivery status.

Only at full access: the delivery address and order number are the shopper's own.
"""

from __future__ import annotations

import json

from django.utils.safestring import SafeString, mark_safe

from orders.lookup import LookupResult
from orders.models import OrderStatus, Tracking, TrackingStatus
from orders.presentation import tracking_status_text

SCHEMA = "https://schema.org/"
# As django.utils.html.json_script does: the JSON cannot close the <script> element.
SCRIPT_SAFE = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}
ORDER_STATUS = {  # schema.org OrderStatus members
    TrackingStatus.PENDING: "OrderProcessing",
    TrackingStatus.INFO_RECEIVED: "OrderProcessing",
    TrackingStatus.IN_TRANSIT: "OrderInTransit",
    TrackingStatus.OUT_FOR_DELIVERY: "OrderInTransit",
    TrackingStatus.AVAILABLE_FOR_PICKUP: "OrderPickupAvailable",
    TrackingStatus.FAILED_ATTEMPT: "OrderProblem",
    TrackingStatus.EXCEPTION: "OrderProblem",
    TrackingStatus.DELIVERED: "OrderDelivered",
    TrackingStatus.RETURNED: "OrderReturned",
}


def _address(order) -> dict:
    data = {
        "@type": "PostalAddress",
        "name": order.recipient_name,
        "streetAddress": ", ".join(p for p in (order.street1, order.street2) if p),
        "addressLocality": order.city,
        "addressRegion": order.state,
        "postalCode": order.postal_code,
        "addressCountry": order.country,
    }
    return {k: v for k, v in data.items() if v}


def parcel_delivery(result: LookupResult, tracking: Tracking) -> dict:
    order, account = result.order, result.account
    status = OrderStatus.CANCELLED if order.is_cancelled else tracking.status
    data = {
        "@context": "https://schema.org",
        "@type": "ParcelDelivery",
        "provider": {"@type": "Organization", "name": tracking.carrier_info.name},
        "carrier": {"@type": "Organization", "name": tracking.carrier_info.name},
        "trackingNumber": tracking.tracking_number,
        "deliveryStatus": {"@type": "DeliveryEvent", "name": tracking_status_text(tracking)},
        "deliveryAddress": _address(order),
        "partOfOrder": {
            "@type": "Order",
            "orderNumber": order.order_number,
            "orderDate": order.order_date.isoformat(),
            "orderStatus": SCHEMA
            + ("OrderCancelled" if status == OrderStatus.CANCELLED else ORDER_STATUS[status]),
            "seller": {"@type": "Organization", "name": account.name},
        },
    }
    if tracking.tracking_url:
        data["trackingUrl"] = tracking.tracking_url
    if tracking.last_event_at:
        data["deliveryStatus"]["startDate"] = tracking.last_event_at.isoformat()
    if tracking.status == TrackingStatus.AVAILABLE_FOR_PICKUP and tracking.pickup_deadline:
        data["deliveryStatus"]["availableThrough"] = tracking.pickup_deadline.isoformat()
    if tracking.expects_delivery and tracking.estimated_delivery_date and not order.is_cancelled:
        end = tracking.estimated_delivery_date_end or tracking.estimated_delivery_date
        data["expectedArrivalFrom"] = tracking.estimated_delivery_date.isoformat()
        data["expectedArrivalUntil"] = end.isoformat()
    return data


def json_ld(result: LookupResult) -> SafeString:
    """The page's JSON-LD (a list, one ParcelDelivery per outbound shipment), escaped for <script>;
    "" below full access."""
    if not result.is_full:
        return mark_safe("")
    deliveries = [parcel_delivery(result, t) for t in result.trackings if not t.is_return]
    if not deliveries:
        return mark_safe("")
    text = json.dumps(deliveries if len(deliveries) > 1 else deliveries[0], ensure_ascii=False)
    return mark_safe(text.translate(SCRIPT_SAFE))  # noqa: S308 - <, >, & escaped
