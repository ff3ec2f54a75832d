"""Celery tasks: thin wrappers that take ids and call the notification services.

After a transaction with state changes commits, `schedule_many` fans their webhook events out at
once (one task for all the orders it changed) and collects each order's
email events after NOTIFICATION_COALESCE_SECONDS (changes in that window share one email). Beat
runs `sweep` every minute: retries that came due, and anything a lost task left in the outbox.
Without a broker every task runs eagerly in the calling process.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from orders.notifications import emails, merchant_webhooks
from orders.notifications.models import OutboxEvent


def schedule_many(kicks: dict[int, tuple[bool, bool]]) -> None:
    """{order id: (emails, webhooks)}: the webhooks of all of them in one task, each order's
    emails after its own coalescing delay."""
    webhook_orders = [order_id for order_id, (_mail, webhooks) in kicks.items() if webhooks]
    if len(webhook_orders) == 1:
        fan_out_webhooks.delay(webhook_orders[0])
    elif webhook_orders:
        fan_out_webhooks_of.delay(webhook_orders)
    for order_id, (mail, _webhooks) in kicks.items():
        if mail:
            send_order_emails.apply_async((order_id,), countdown=settings.NOTIFICATION_COALESCE_SECONDS)


@shared_task(name="orders.notifications.tasks.send_order_emails", ignore_result=True, acks_late=True)
def send_order_emails(order_id: int) -> None:
    notification = emails.collect(order_id)
    if notification is not None:
        send_email.delay(notification.pk)


@shared_task(name="orders.notifications.tasks.send_email", ignore_result=True, acks_late=True)
def send_email(notification_id: int) -> str:
    return emails.deliver(notification_id)


@shared_task(name="orders.notifications.tasks.fan_out_webhooks", ignore_result=True, acks_late=True)
def fan_out_webhooks(order_id: int) -> None:
    deliver_webhooks_now(merchant_webhooks.fan_out(order_id))


@shared_task(name="orders.notifications.tasks.fan_out_webhooks_of", ignore_result=True, acks_late=True)
def fan_out_webhooks_of(order_ids: list[int]) -> None:
    """fan_out_webhooks for several orders changed together (a webhook batch)."""
    for order_id in order_ids:
        deliver_webhooks_now(merchant_webhooks.fan_out(order_id))


def deliver_webhooks_now(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        deliver_webhook.delay(delivery_id)


@shared_task(name="orders.notifications.tasks.deliver_webhook", ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    return merchant_webhooks.deliver(delivery_id)


@shared_task(name="orders.notifications.tasks.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Hand everything due to the workers (each task claims its row, so overlaps are harmless)."""
    now = timezone.now()
    orders = _forgotten_orders(now)
    for order_id in orders:
        fan_out_webhooks.delay(order_id)
        send_order_emails.delay(order_id)
    due_emails = emails.due_notifications(now)
    for pk in due_emails:
        send_email.delay(pk)
    due_webhooks = merchant_webhooks.due_deliveries(now)
    deliver_webhooks_now(due_webhooks)
    return {"orders": len(orders), "emails": len(due_emails), "webhooks": len(due_webhooks)}


def _forgotten_orders(now) -> set[int]:
    grace = timedelta(seconds=settings.NOTIFICATION_COALESCE_SECONDS + 60)
    stale = OutboxEvent.objects.filter(handled_at__isnull=True, created_at__lte=now - grace)
    return set(stale.values_list("order_id", flat=True)[:1000])


def run_sweep(now=None) -> dict[str, int]:
    """The sweep in this process, at `now` (the demo's loop and the tests)."""
    now = now or timezone.now()
    orders = _forgotten_orders(now)
    for order_id in orders:
        for delivery_id in merchant_webhooks.fan_out(order_id, now=now):
            merchant_webhooks.deliver(delivery_id, now=now)
        notification = emails.collect(order_id, now=now)
        if notification is not None:
            emails.deliver(notification.pk, now=now)
    sent = [emails.deliver(pk, now=now) for pk in emails.due_notifications(now)]
    delivered = [merchant_webhooks.deliver(pk, now=now) for pk in merchant_webhooks.due_deliveries(now)]
    return {"orders": len(orders), "emails": len(sent), "webhooks": len(delivered)}
