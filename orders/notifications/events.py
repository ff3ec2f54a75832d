"""The events that leave the app: shopper email events and merchant webhook event types."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

SHIPPED = "shipped"
OUT_FOR_DELIVERY = "out_for_delivery"
READY_FOR_PICKUP = "ready_for_pickup"
FAILED_ATTEMPT = "failed_attempt"
EXCEPTION = "exception"
DELAYED = "delayed"
DELIVERED = "delivered"
RETURN_RECEIVED = "return_received"

EMAIL_EVENT_CHOICES = [
    (SHIPPED, _("Shipped")),
    (OUT_FOR_DELIVERY, _("Out for delivery")),
    (READY_FOR_PICKUP, _("Ready for pickup")),
    (FAILED_ATTEMPT, _("Delivery attempt failed")),
    (EXCEPTION, _("Exception")),
    (DELAYED, _("Delayed")),
    (DELIVERED, _("Delivered")),
    (RETURN_RECEIVED, _("Return received")),
]
EMAIL_EVENTS = tuple(code for code, _label in EMAIL_EVENT_CHOICES)
# Announced at most once per parcel (a replayed history never repeats them); the others can
# happen again (a second failed attempt, a second delay) and are sent for each new occurrence.
MILESTONES = frozenset({SHIPPED, OUT_FOR_DELIVERY, READY_FOR_PICKUP, DELIVERED, RETURN_RECEIVED})
# When several events are coalesced into one email, the headline is the most important.
PRIORITY = (
    EXCEPTION,
    FAILED_ATTEMPT,
    DELIVERED,
    RETURN_RECEIVED,
    READY_FOR_PICKUP,
    OUT_FOR_DELIVERY,
    DELAYED,
    SHIPPED,
)

ORDER_STATUS_CHANGED = "order.status_changed"
TRACKING_STATUS_CHANGED = "tracking.status_changed"
CHECKPOINT_ADDED = "tracking.checkpoint_added"
TRACKING_DELAYED = "tracking.delayed"
TRACKING_EXCEPTION = "tracking.exception"
NOTIFICATION_SENT = "notification.sent"

WEBHOOK_EVENT_CHOICES = [
    (ORDER_STATUS_CHANGED, "order.status_changed"),
    (TRACKING_STATUS_CHANGED, "tracking.status_changed"),
    (CHECKPOINT_ADDED, "tracking.checkpoint_added"),
    (TRACKING_DELAYED, "tracking.delayed"),
    (TRACKING_EXCEPTION, "tracking.exception"),
    (NOTIFICATION_SENT, "notification.sent"),
]
WEBHOOK_EVENTS = tuple(code for code, _label in WEBHOOK_EVENT_CHOICES)
