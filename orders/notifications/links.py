"""Emailing signed status links ("I only remember my email address").

The page answers the same whether or not anything was sent, so this module is the only place
that knows; it sends at most one email per request, listing every recent order to that address.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from orders import ratelimits
from orders.models import Account, Order
from orders.presentation import order_headline, short_date

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderLink:
    order: Order
    url: str
    status: str
    ordered_on: str


def recent_orders(email: str, *, account: Account | None = None) -> list[Order]:
    """Orders to `email` (any case) placed in the last EMAIL_LOOKUP_DAYS days, newest first."""
    since = timezone.now() - timedelta(days=settings.EMAIL_LOOKUP_DAYS)
    orders = (
        Order.objects.alias(email_ci=Lower("recipient_email"))
        .filter(email_ci=email.strip().lower(), order_date__gte=since)
        .select_related("account")
        .prefetch_related("trackings")
    )
    if account is not None:
        orders = orders.filter(account=account)
    return list(orders.order_by("-order_date", "-id")[:50])


def throttle(email: str, *, ip: str) -> None:
    """Count this request against the address and the client; raises ratelimits.RateLimited."""
    keys = [f"ip:{ip}" if ip else "", f"email:{email.strip().lower()}"]
    ratelimits.consume("email-links", keys, settings.EMAIL_LINK_RATE)


def send_order_links(email: str, *, account: Account | None = None, lang: str = "") -> int:
    """Email signed links to the recent orders of `email`; returns how many orders were listed.

    Call inside `translation.override(lang)`: the email is written in the active language and
    each link opens the page in the order's own language (or `lang`).
    """
    orders = recent_orders(email, account=account)
    if not orders:
        return 0
    exp = int(time.time()) + settings.EMAILED_LINK_DAYS * 86400
    links = [
        OrderLink(
            order=order,
            url=order.status_url(kind="page", exp=exp, lang=lang or order.language),
            status=order_headline(order, order.trackings.all()).text,
            ordered_on=short_date(order.order_date),
        )
        for order in orders
    ]
    shops = {order.account for order in orders}
    shop = shops.pop() if len(shops) == 1 else None
    context = {"links": links, "shop": shop, "days": settings.EMAILED_LINK_DAYS, "lang": get_language()}
    subject = _("Your orders at %(shop)s") % {"shop": shop.name} if shop else _("Your orders")
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("orders/email/order_links.txt", context),
        to=[email.strip()],
        reply_to=[shop.support_email] if shop and shop.support_email else None,
    )
    message.attach_alternative(render_to_string("orders/email/order_links.html", context), "text/html")
    if settings.EMAIL_LINKS_IN_BACKGROUND:
        _outbox.submit(_deliver, message)
    else:
        _deliver(message)
    return len(links)


# The page answers the same whether or not an address has orders; sending in the request would
# make it slower (or fail, with the mail server down) exactly when it has some. Everything that
# needs the database is done above, in the request; the thread only talks to the mail server.
_outbox = ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-links")  # one sender, in order


def _deliver(message: EmailMultiAlternatives) -> None:
    try:
        message.send()
    except Exception:
        logger.exception("Could not send the order links email")
