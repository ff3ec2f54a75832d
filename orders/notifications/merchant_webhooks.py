"""Outgoing webhooks to merchants, signed per the Standard Webhooks specification.

`fan_out` turns an order's pending outbox rows into one WebhookDelivery per subscribed endpoint
(the message id is the same for every endpoint and every retry, so receivers can deduplicate).
`deliver` makes one attempt through orders.notifications.safe_http (no private addresses unless
allowed, no redirects), logs it, and schedules the next with exponential backoff and jitter for
WEBHOOK_RETRY_HOURS. An endpoint failing for WEBHOOK_DISABLE_AFTER_DAYS is switched off and its
merchant told by email.
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from orders.models import Order
from orders.notifications import events as ev
from orders.notifications import safe_http
from orders.notifications.models import (
    DeliveryStatus,
    EmailNotification,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
    new_endpoint_secret,
)
from orders.payloads import order_out

logger = logging.getLogger(__name__)

DELIVERY_LEASE = timedelta(minutes=5)
USER_AGENT = "statuspage-webhooks/1"


# --- endpoints -----------------------------------------------------------------------------------


def rotate_secret(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> str:
    """A new secret; the old one keeps signing (as a second signature) for the overlap period."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    endpoint.secret = new_endpoint_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint.secret


def enable(endpoint: WebhookEndpoint) -> None:
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = (
        True,
        None,
        "",
        None,
    )
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason", "failing_since"])


# --- payloads and signatures -------------------------------------------------------------------------


def payload_for(event: OutboxEvent) -> dict:
    order = event.order
    data = {"stateVersion": event.state_version, **event.data, "order": order_out(order)}
    return {"id": event.message_id, "type": event.event, "timestamp": _iso(event.created_at), "data": data}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def signature_header(secrets: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """`v1,<base64>` per secret, space separated (several while a rotated secret overlaps)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


# --- from the outbox to deliveries ---------------------------------------------------------------------


def fan_out(order_id: int, *, now: datetime | None = None) -> list[int]:
    """Deliveries for the order's pending webhook events; returns the new deliveries' ids."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update()
            .filter(order_id=order_id, handled_at__isnull=True)
            .exclude(event__startswith="email.")
            .order_by("id")
        )
        if not rows:
            return []
        order = Order.objects.select_related("account").get(pk=order_id)
        endpoints = list(WebhookEndpoint.objects.filter(account_id=order.account_id, is_active=True))
        deliveries = []
        for row in rows:
            row.order = order
            subscribed = [e for e in endpoints if row.event in e.events]
            if not subscribed:
                continue
            body = json.dumps(payload_for(row), separators=(",", ":"), ensure_ascii=False)
            deliveries += [
                WebhookDelivery(
                    endpoint=endpoint,
                    outbox_event=row,
                    order=order,
                    message_id=row.message_id,
                    event_type=row.event,
                    payload=body,
                    next_attempt_at=now,
                    created_at=now,
                )
                for endpoint in subscribed
            ]
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        OutboxEvent.objects.filter(pk__in=[row.pk for row in rows]).update(handled_at=now)
    ids = WebhookDelivery.objects.filter(outbox_event__in=rows, status=DeliveryStatus.PENDING)
    return list(ids.values_list("pk", flat=True))


def notification_sent(notification: EmailNotification) -> list[int]:
    """Tell subscribed endpoints that a status email went out (no personal data beyond the order)."""
    order = notification.order
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(account_id=order.account_id, is_active=True)
        if ev.NOTIFICATION_SENT in e.events
    ]
    if not endpoints:
        return []
    now = notification.sent_at or timezone.now()
    message_id = f"msg_{order.public_id.removeprefix('ord_')}_n{notification.pk}"
    payload = {
        "id": message_id,
        "type": ev.NOTIFICATION_SENT,
        "timestamp": _iso(now),
        "data": {
            "notification": {
                "event": notification.event,
                "channel": "email",
                "language": notification.language,
                "subject": notification.subject,
            },
            "order": order_out(order),
        },
    }
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                order=order,
                message_id=message_id,
                event_type=ev.NOTIFICATION_SENT,
                payload=body,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
    ids = list(
        WebhookDelivery.objects.filter(message_id=message_id, status=DeliveryStatus.PENDING).values_list(
            "pk", flat=True
        )
    )
    from orders.notifications import tasks

    transaction.on_commit(lambda: tasks.deliver_webhooks_now(ids))
    return ids


# --- one attempt ---------------------------------------------------------------------------------------


def retry_delay(attempt: int) -> timedelta:
    """30 s × 3ⁿ⁻¹ capped at 12 h, ±20 % jitter: about 14 attempts over three days."""
    seconds = min(30 * 3 ** (attempt - 1), 12 * 3600)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _claim(delivery_id: int, now: datetime, *, force: bool) -> WebhookDelivery | None:
    rows = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    if not force:
        rows = rows.filter(next_attempt_at__lte=now)
    if not rows.update(next_attempt_at=now + DELIVERY_LEASE):
        return None
    return WebhookDelivery.objects.select_related("endpoint__account").get(pk=delivery_id)


def deliver(delivery_id: int, *, now: datetime | None = None, force: bool = False) -> str:
    """One attempt at a due delivery; returns its outcome ("skipped" when not due or taken)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now, force=force)
    if delivery is None:
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _finish(delivery, status=DeliveryStatus.FAILED, error=_("The endpoint is disabled."))
        return DeliveryStatus.FAILED
    sent_at = timezone.now()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature_header(
            endpoint.signing_secrets(now), delivery.message_id, sent_at, delivery.payload
        ),
    }
    started = time.perf_counter()
    response_status, response_body, error, blocked = None, "", "", False
    try:
        response = safe_http.shared_client().post(
            endpoint.url, content=delivery.payload.encode(), headers=headers
        )
        response_status, response_body = response.status_code, response.text[:1000]
    except safe_http.BlockedAddress as exc:
        error, blocked = str(exc), True
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration = int((time.perf_counter() - started) * 1000)
    attempts = delivery.attempts + 1
    log = {
        "attempts": attempts,
        "first_attempt_at": delivery.first_attempt_at or now,
        "last_attempt_at": now,
        "response_status": response_status,
        "response_body": response_body,
        "duration_ms": duration,
    }
    if response_status is not None and 200 <= response_status < 300:
        _finish(delivery, status=DeliveryStatus.SENT, error="", **log)
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        return DeliveryStatus.SENT
    if response_status is not None:
        error = _("The endpoint answered %(status)s.") % {"status": response_status}
        if 300 <= response_status < 400:
            error += " " + _("Redirects are not followed.")
    window_over = now - log["first_attempt_at"] >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    if blocked:
        _finish(delivery, status=DeliveryStatus.BLOCKED, error=error, **log)
    elif window_over:
        _finish(delivery, status=DeliveryStatus.FAILED, error=error, **log)
    else:
        _finish(
            delivery, status=DeliveryStatus.PENDING, error=error, next_at=now + retry_delay(attempts), **log
        )
    _note_failure(endpoint, now)
    return (
        DeliveryStatus.BLOCKED
        if blocked
        else (DeliveryStatus.FAILED if window_over else DeliveryStatus.PENDING)
    )


def _finish(
    delivery: WebhookDelivery, *, status: str, error: str, next_at: datetime | None = None, **log
) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, last_error=error[:500], next_attempt_at=next_at, **log
    )


def _note_failure(endpoint: WebhookEndpoint, now: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    endpoint.refresh_from_db(fields=["failing_since", "is_active"])
    limit = timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)
    if endpoint.is_active and endpoint.failing_since and now - endpoint.failing_since >= limit:
        disable_failing(endpoint, now)


def disable_failing(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Switch off an endpoint that kept failing, stop its queue, and tell the merchant."""
    days = settings.WEBHOOK_DISABLE_AFTER_DAYS
    reason = _("Every delivery failed for %(days)s days.") % {"days": days}
    switched = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason
    )
    if not switched:
        return  # another worker did it (and told the merchant)
    endpoint.deliveries.filter(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=_("The endpoint is disabled.")
    )
    to = endpoint.alert_email or endpoint.account.support_email
    if not to:
        return
    try:
        send_mail(
            subject=_("Webhook endpoint disabled: %(url)s") % {"url": endpoint.url},
            message=_(
                "We could not deliver webhooks to %(url)s for %(days)s days, so we stopped sending to it.\n\n"
                "Fix the endpoint, then enable it again in the admin and resend the failed deliveries "
                "from its delivery log."
            )
            % {"url": endpoint.url, "days": days},
            from_email=None,
            recipient_list=[to],
        )
    except Exception:
        logger.exception("Could not tell %s that endpoint %s was disabled", to, endpoint.pk)


def resend(delivery: WebhookDelivery, *, now: datetime | None = None) -> str:
    """Staff asked to send a delivery again (whatever its outcome so far): one attempt now."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, first_attempt_at=now
    )
    return deliver(delivery.pk, now=now, force=True)


def due_deliveries(now: datetime) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
