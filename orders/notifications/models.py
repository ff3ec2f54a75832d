"""What leaves the app on a status change: the outbox, shopper emails and merchant webhooks.

Imported by orders.models (so Django registers these models in the `orders` app); the rules that
fill and drain these tables live in the service modules next to this one.
"""

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.notifications.events import EMAIL_EVENT_CHOICES, WEBHOOK_EVENT_CHOICES


def new_endpoint_secret() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class OutboxEvent(models.Model):
    """A notification intent, written in the same transaction as the state change it reports.

    The unique key (order, event, state version) makes a repeated write impossible; milestone
    emails (shipped, delivered, …) also carry an `email_key` that is unique per order, so a parcel
    is announced as delivered once however its history is replayed.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="outbox_events")
    tracking = models.ForeignKey(
        "orders.Tracking", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event = models.CharField(_("event"), max_length=40)
    state_version = models.PositiveIntegerField(_("state version"))
    email_key = models.CharField(max_length=80, blank=True, default="")
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Emails: when taken into a notification; webhooks: when fanned out to the endpoints.
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)
    notification = models.ForeignKey(
        "orders.EmailNotification", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        constraints = [
            models.UniqueConstraint(fields=["order", "event", "state_version"], name="outbox_event_unique"),
            models.UniqueConstraint(
                fields=["order", "email_key"], condition=~Q(email_key=""), name="outbox_email_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(handled_at__isnull=True), name="outbox_pending_idx"
            ),
            models.Index(fields=["order", "handled_at"], name="outbox_order_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} v{self.state_version}"

    @property
    def is_email(self) -> bool:
        return self.event.startswith("email.")

    @property
    def email_event(self) -> str:
        return self.event.removeprefix("email.")

    @property
    def message_id(self) -> str:
        """The Standard Webhooks message id: the same for every endpoint and every retry."""
        return f"msg_{self.order.public_id.removeprefix('ord_')}_{self.pk}"


class NotificationSettings(models.Model):
    """Which status emails an account sends (all on unless switched off here)."""

    account = models.OneToOneField(
        "orders.Account", on_delete=models.CASCADE, related_name="notification_settings"
    )
    emails_enabled = models.BooleanField(_("send status emails"), default=True)
    shipped = models.BooleanField(_("shipped"), default=True)
    out_for_delivery = models.BooleanField(_("out for delivery"), default=True)
    ready_for_pickup = models.BooleanField(_("ready for pickup"), default=True)
    failed_attempt = models.BooleanField(_("delivery attempt failed"), default=True)
    exception = models.BooleanField(_("exception"), default=True)
    delayed = models.BooleanField(_("delayed"), default=True)
    delivered = models.BooleanField(_("delivered"), default=True)
    return_received = models.BooleanField(_("return received"), default=True)

    class Meta:
        verbose_name = _("email notification settings")
        verbose_name_plural = _("email notification settings")

    def __str__(self) -> str:
        return str(self.account)

    def sends(self, event: str) -> bool:
        return self.emails_enabled and bool(getattr(self, event, False))


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent (unsubscribed or switched off)")
    BLOCKED = "blocked", _("Blocked (address not allowed)")


class EmailNotification(models.Model):
    """One status email to a shopper (covering one or several coalesced events)."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="email_notifications")
    to = models.EmailField(_("to"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=8)
    event = models.CharField(_("event"), max_length=30, choices=EMAIL_EVENT_CHOICES)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(
        _("outcome"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("status email")
        verbose_name_plural = _("status emails")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="email_notification_due_idx"
            ),
            models.Index(fields=["order", "-created_at"], name="email_notification_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} → {self.to}"


class EmailSuppression(models.Model):
    """A shopper asked for no more status emails: for one order, or (order empty) for the address."""

    account = models.ForeignKey("orders.Account", on_delete=models.CASCADE, related_name="email_suppressions")
    email = models.EmailField(_("email"), max_length=254)  # stored lower-cased
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="email_suppressions"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("email unsubscribe")
        verbose_name_plural = _("email unsubscribes")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "email"], condition=Q(order__isnull=True), name="suppression_address_once"
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(order__isnull=False), name="suppression_order_once"
            ),
        ]
        indexes = [models.Index(fields=["account", "email"], name="suppression_lookup_idx")]

    def __str__(self) -> str:
        return self.email


def validate_endpoint_events(value) -> None:
    known = {code for code, _label in WEBHOOK_EVENT_CHOICES}
    if not isinstance(value, list) or not value or not set(value) <= known:
        raise ValidationError(_("Choose at least one known event type."), code="events")


class WebhookEndpoint(models.Model):
    """A merchant's URL that receives signed events (Standard Webhooks)."""

    account = models.ForeignKey("orders.Account", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("event types"), default=list, validators=[validate_endpoint_events])
    secret = models.CharField(
        _("signing secret"), max_length=100, default=new_endpoint_secret, editable=False
    )
    # After a rotation the old secret also signs until it expires, so receivers can switch over.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    alert_email = models.EmailField(
        _("alert email"), blank=True, help_text=_("Told when the endpoint is disabled; empty: support email.")
    )
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("disabled because"), max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["account", "url"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["account", "is_active"], name="endpoint_account_active_idx")]

    def __str__(self) -> str:
        return self.url

    def clean(self):
        super().clean()
        if self.url and not self.url.lower().startswith("https://") and not settings.DEBUG:
            raise ValidationError({"url": _("Webhook URLs must use https://.")})

    def signing_secrets(self, now=None) -> list[str]:
        now = now or timezone.now()
        current = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            current.append(self.previous_secret)
        return current


class WebhookDelivery(models.Model):
    """One event for one endpoint: its request, its last response, and when to try again."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    outbox_event = models.ForeignKey(
        OutboxEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_deliveries"
    )
    message_id = models.CharField(_("webhook-id"), max_length=100)
    event_type = models.CharField(_("event type"), max_length=40, choices=WEBHOOK_EVENT_CHOICES)
    payload = models.TextField(_("request body"))
    status = models.CharField(
        _("outcome"), max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    first_attempt_at = models.DateTimeField(_("first attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.CharField(_("response body"), max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    last_error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "message_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due_idx"
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint}"
