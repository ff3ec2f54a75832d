"""Shopper status emails: from pending outbox rows to one branded email per order and window.

`collect` turns an order's pending email intents into one EmailNotification (or none: switched
off, unsubscribed, no address) inside a transaction that locks those rows, so two workers never
take the same change. `deliver` sends it through Django's email backend (any provider: SMTP,
django-anymail, …) and, on failure, schedules a retry with exponential backoff.
"""

from __future__ import annotations

import logging
import random
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

import css_inline
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from orders import formatting, presentation
from orders.models import Account, Order, Tracking
from orders.notifications import events as ev
from orders.notifications.models import (
    DeliveryStatus,
    EmailNotification,
    EmailSuppression,
    NotificationSettings,
    OutboxEvent,
)

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "orders.notifications.unsubscribe"
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def settings_for(account: Account) -> NotificationSettings:
    found = NotificationSettings.objects.filter(account=account).first()
    return found or NotificationSettings(account=account)  # the defaults: everything on


def is_suppressed(order: Order) -> bool:
    email = order.recipient_email.strip().lower()
    return (
        EmailSuppression.objects.filter(account_id=order.account_id, email=email)
        .filter(order__isnull=True)
        .exists()
        or EmailSuppression.objects.filter(order=order).exists()
    )


def language_of(order: Order) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    for lang in (order.language, order.account.default_language):
        if lang in codes:
            return lang
    return settings.LANGUAGE_CODE


def zone_of(account: Account) -> zoneinfo.ZoneInfo:
    name = getattr(account, "time_zone", "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


# --- turning intents into one email -----------------------------------------------------------------


def collect(order_id: int, *, now: datetime | None = None) -> EmailNotification | None:
    """Take the order's pending email intents into one notification (None: nothing to send)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(of=("self",))
            .filter(order_id=order_id, event__startswith="email.", handled_at__isnull=True)
            .select_related("order__account", "tracking")
            .order_by("id")
        )
        if not rows:
            return None
        order = rows[0].order
        switches = settings_for(order.account)
        wanted = [row for row in rows if switches.sends(row.email_event)]
        notification = None
        if wanted and order.recipient_email:
            headline = min(wanted, key=lambda row: ev.PRIORITY.index(row.email_event))
            suppressed = is_suppressed(order)
            notification = EmailNotification.objects.create(
                order=order,
                to=order.recipient_email.strip(),
                language=language_of(order),
                event=headline.email_event,
                status=DeliveryStatus.SUPPRESSED if suppressed else DeliveryStatus.PENDING,
                next_attempt_at=None if suppressed else now,
                created_at=now,
            )
        OutboxEvent.objects.filter(pk__in=[row.pk for row in rows]).update(
            handled_at=now, notification=notification
        )
        for row in wanted:
            row.notification = notification
    return notification


# --- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


SUBJECTS = {
    ev.SHIPPED: lambda n: _("Your order %(number)s is on its way") % n,
    ev.OUT_FOR_DELIVERY: lambda n: _("Your order %(number)s is out for delivery") % n,
    ev.READY_FOR_PICKUP: lambda n: _("Your order %(number)s is ready for pickup") % n,
    ev.FAILED_ATTEMPT: lambda n: _("We missed you: delivery of order %(number)s failed") % n,
    ev.EXCEPTION: lambda n: _("A problem with the delivery of order %(number)s") % n,
    ev.DELAYED: lambda n: _("Your order %(number)s is delayed") % n,
    ev.DELIVERED: lambda n: _("Your order %(number)s has been delivered") % n,
    ev.RETURN_RECEIVED: lambda n: _("We received your return for order %(number)s") % n,
}


def unsubscribe_token(order: Order) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(order.public_id)


def order_from_unsubscribe_token(token: str) -> Order | None:
    try:
        public_id = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return Order.objects.select_related("account").filter(public_id=public_id).first()


def unsubscribe_url(order: Order) -> str:
    return settings.SITE_URL + reverse("orders:unsubscribe", args=[unsubscribe_token(order)])


def _local(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    if moment is None:
        return ""
    return date_format(moment.astimezone(zone), "DATETIME_FORMAT")


def _day(value) -> str:
    return date_format(value, "DATE_FORMAT") if value else ""


def context_for(order: Order, event: str, tracking: Tracking | None, data: dict, lang: str) -> dict:
    """What the templates show; call with the email's language active."""
    account = order.account
    zone = zone_of(account)
    exp = int(time.time()) + settings.EMAILED_LINK_DAYS * 86400
    tracking = tracking or next(iter(order.shipments), None)
    checkpoint = tracking.checkpoints.filter(is_hidden=False).first() if tracking else None
    eta = (tracking.estimated_delivery_date if tracking else None) or order.current_eta
    logo = f"{settings.SITE_URL}{account.logo.url}" if account.logo else ""
    return {
        "event": event,
        "order": order,
        "account": account,
        "tracking": tracking,
        "carrier": tracking.carrier_info.name if tracking else "",
        "checkpoint": checkpoint,
        "checkpoint_time": _local(checkpoint.occurred_at, zone)
        if checkpoint and checkpoint.zone_known
        else "",
        "eta": _day(eta),
        "eta_end": _day(tracking.estimated_delivery_date_end) if tracking else "",
        "previous_eta": _day(datetime.fromisoformat(data["previousEstimate"]).date())
        if data.get("previousEstimate")
        else "",
        "delivered_at": _local(tracking.delivered_at, zone) if tracking and tracking.delivered_at else "",
        # A held parcel: the last day to collect it and the place's week, in the shop's formats.
        "pickup_deadline": formatting.short_date(tracking.pickup_deadline) if tracking else "",
        "pickup_hours": presentation.opening_hours(tracking) if tracking else (),
        "zone_name": str(zone),
        "brand_color": account.brand_color,
        "logo_url": logo,
        "page_url": order.status_url(kind="page", exp=exp, lang=lang),
        "widget_url": order.status_url(kind="widget", exp=exp, lang=lang),
        "unsubscribe_url": unsubscribe_url(order),
        "lang": lang,
    }


def render(notification: EmailNotification) -> RenderedEmail:
    order = notification.order
    headline = notification.events.filter(event="email." + notification.event).first()
    tracking = headline.tracking if headline else None
    data = headline.data if headline else {}
    return render_event(order, notification.event, tracking=tracking, data=data, lang=notification.language)


def render_event(
    order: Order, event: str, *, tracking: Tracking | None = None, data: dict | None = None, lang: str = ""
) -> RenderedEmail:
    """The email for `event` about `order` in `lang` (also the admin's preview)."""
    lang = lang or language_of(order)
    with translation.override(lang), formatting.localized(order.account, lang, order.country):
        context = context_for(order, event, tracking, data or {}, lang)
        subject = SUBJECTS[event]({"number": order.order_number})
        context["subject"] = subject
        text = render_to_string("orders/email/status.txt", context)
        html = _inliner.inline(render_to_string("orders/email/status.html", context))
    headers = {
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    return RenderedEmail(subject=subject, text=text, html=html, headers=headers)


# --- sending -------------------------------------------------------------------------------------

EMAIL_LEASE = timedelta(minutes=10)


def retry_delay(attempt: int) -> timedelta:
    """1, 2, 4, … minutes (capped at 2 hours), with ±20 % jitter."""
    seconds = min(60 * 2 ** (attempt - 1), 7200)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _claim(notification_id: int, now: datetime) -> EmailNotification | None:
    """Lease a due notification to this worker; None when another has it or it is not due."""
    claimed = EmailNotification.objects.filter(
        pk=notification_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + EMAIL_LEASE)
    if not claimed:
        return None
    return EmailNotification.objects.select_related("order__account").get(pk=notification_id)


def deliver(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one notification if it is due; returns its outcome."""
    now = now or timezone.now()
    notification = _claim(notification_id, now)
    if notification is None:
        return "skipped"
    order = notification.order
    if is_suppressed(order):
        EmailNotification.objects.filter(pk=notification.pk).update(status=DeliveryStatus.SUPPRESSED)
        return DeliveryStatus.SUPPRESSED
    rendered = render(notification)
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        to=[notification.to],
        reply_to=[order.account.support_email] if order.account.support_email else None,
        headers=rendered.headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    attempts = notification.attempts + 1
    try:
        message.send()
    except Exception as error:  # SMTP refusals, timeouts, provider API errors alike
        logger.warning("Status email %s failed (attempt %s): %s", notification.pk, attempts, error)
        done = attempts >= settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS
        EmailNotification.objects.filter(pk=notification.pk).update(
            attempts=attempts,
            subject=rendered.subject,
            last_error=str(error)[:500],
            status=DeliveryStatus.FAILED if done else DeliveryStatus.PENDING,
            next_attempt_at=None if done else now + retry_delay(attempts),
        )
        return DeliveryStatus.FAILED if done else DeliveryStatus.PENDING
    EmailNotification.objects.filter(pk=notification.pk).update(
        attempts=attempts, subject=rendered.subject, status=DeliveryStatus.SENT, sent_at=now, last_error=""
    )
    notification.status, notification.sent_at, notification.subject = (
        DeliveryStatus.SENT,
        now,
        rendered.subject,
    )
    from orders.notifications import merchant_webhooks

    merchant_webhooks.notification_sent(notification)
    return DeliveryStatus.SENT


def resend(notification: EmailNotification, *, now: datetime | None = None) -> EmailNotification:
    """Staff asked to send a notification again: a new log entry, sent at once."""
    now = now or timezone.now()
    copy = EmailNotification.objects.create(
        order=notification.order,
        to=notification.order.recipient_email.strip() or notification.to,
        language=language_of(notification.order),
        event=notification.event,
        next_attempt_at=now,
        created_at=now,
    )
    return copy


def due_notifications(now: datetime) -> list[int]:
    return list(
        EmailNotification.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )


# --- unsubscribing -------------------------------------------------------------------------------


def unsubscribe(order: Order, *, whole_address: bool = False) -> EmailSuppression:
    """Stop status emails for this order (or every order of its address at this shop); idempotent."""
    email = order.recipient_email.strip().lower()
    with transaction.atomic():
        if whole_address:
            found, _created = EmailSuppression.objects.get_or_create(
                account_id=order.account_id, email=email, order=None
            )
        else:
            found, _created = EmailSuppression.objects.get_or_create(
                order=order, defaults={"account_id": order.account_id, "email": email}
            )
        # Nothing already queued for it goes out either.
        pending = EmailNotification.objects.filter(status=DeliveryStatus.PENDING)
        if whole_address:
            pending = pending.filter(order__account_id=order.account_id, to__iexact=email)
        else:
            pending = pending.filter(order=order)
        pending.update(status=DeliveryStatus.SUPPRESSED, next_attempt_at=None)
    return found
