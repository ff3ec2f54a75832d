"""Where notifications keep personal data, registered with orders.privacy.registry: the status
email log (addresses), unsubscribes (addresses) and webhook deliveries (request bodies carry the
order as the API shows it, recipient and address included)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from orders.notifications.models import DeliveryStatus, EmailNotification, EmailSuppression, WebhookDelivery
from orders.privacy.registry import Subject, register


def _addresses(subject: Subject) -> set[str]:
    emails = {order.recipient_email.strip().lower() for order in subject.orders if order.recipient_email}
    if subject.email:
        emails.add(subject.email.strip().lower())
    return emails


def _emails_of(subject: Subject):
    return EmailNotification.objects.filter(order__in=subject.orders)


def _export_emails(subject: Subject) -> list[dict]:
    fields = ("order__order_number", "event", "to", "language", "subject", "status", "created_at", "sent_at")
    return list(_emails_of(subject).order_by("created_at", "id").values(*fields))


def _erase_emails(subject: Subject) -> int:
    _emails_of(subject).filter(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.SUPPRESSED, next_attempt_at=None
    )
    return _emails_of(subject).exclude(to="").update(to="")


def _purge_emails(cutoff: datetime) -> int:
    deleted, _by_model = (
        EmailNotification.objects.filter(created_at__lt=cutoff)
        .exclude(status=DeliveryStatus.PENDING)
        .delete()
    )
    return deleted


def _suppressions_of(subject: Subject):
    condition = Q(order__in=subject.orders)
    for order in subject.orders:
        condition |= Q(account_id=order.account_id, email__in=_addresses(subject), order__isnull=True)
    if subject.account is not None and subject.email:
        condition |= Q(account=subject.account, email=subject.email.strip().lower())
    return EmailSuppression.objects.filter(condition)


def _export_suppressions(subject: Subject) -> list[dict]:
    return list(_suppressions_of(subject).values("email", "order__order_number", "created_at"))


def _erase_suppressions(subject: Subject) -> int:
    deleted, _by_model = _suppressions_of(subject).delete()
    return deleted


def _deliveries_of(subject: Subject):
    return WebhookDelivery.objects.filter(order__in=subject.orders)


def _export_deliveries(subject: Subject) -> list[dict]:
    fields = ("endpoint__url", "message_id", "event_type", "payload", "status", "created_at")
    return list(_deliveries_of(subject).order_by("created_at", "id").values(*fields))


def _erase_deliveries(subject: Subject) -> int:
    """The bodies go (they hold the order with its recipient); the log of what was sent stays."""
    deliveries = _deliveries_of(subject)
    deliveries.filter(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="Erased before delivery."
    )
    return deliveries.exclude(payload="{}").update(payload="{}", response_body="")


def _purge_deliveries(cutoff: datetime) -> int:
    deleted, _by_model = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status=DeliveryStatus.PENDING).delete()
    )
    return deleted


register("status_emails", export=_export_emails, erase=_erase_emails, purge=_purge_emails)
register("email_unsubscribes", export=_export_suppressions, erase=_erase_suppressions)
register("webhook_deliveries", export=_export_deliveries, erase=_erase_deliveries, purge=_purge_deliveries)
