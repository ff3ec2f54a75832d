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
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connections
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from orders import formatting, ratelimits
from orders.colors import brand_colors as stylesheet_colors
from orders.lookup import supported_language
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


def request_order_links(email: str, *, account: Account | None = None, lang: str = "") -> None:
    """Email signed links to the recent orders of `email`, if it has any, in the active language.

    The request only queues the job (EMAIL_LINKS_IN_BACKGROUND): looking the orders up, writing
    the email and sending it all happen in the background, so the answer takes the same time for
    addresses with and without orders (tests/test_lookup_timing.py).
    """
    job = partial(_send_quietly, email, account=account, lang=lang, language=get_language())
    if settings.EMAIL_LINKS_IN_BACKGROUND:
        _outbox.submit(_in_background, job)
    else:
        job()


def _send_quietly(email: str, *, account: Account | None, lang: str, language: str) -> None:
    try:
        with translation.override(language):
            send_order_links(email, account=account, lang=lang)
    except Exception:
        logger.exception("Could not send the order links email")


def _in_background(job) -> None:
    # Start only once the request that queued the job has answered: working while it still runs
    # would slow it down (the same process, one GIL) exactly when the address has orders.
    time.sleep(settings.EMAIL_LINKS_DELAY_SECONDS)
    try:
        job()
    finally:
        connections.close_all()  # this thread's own connections; it may wait long for the next job


def send_order_links(email: str, *, account: Account | None = None, lang: str = "") -> int:
    """Email signed links to the recent orders of `email`; returns how many orders were listed.

    One email per shop and language: each carries its shop's name, logo and colour and is written
    in `lang` when the shopper chose one on the page, else in each order's own language (else the
    shop's default), so a shopper of two shops never gets one shop's links under the other's brand.
    """
    orders = recent_orders(email, account=account)
    if not orders:
        return 0
    exp = int(time.time()) + settings.EMAILED_LINK_DAYS * 86400
    fallback = lang or get_language() or settings.LANGUAGE_CODE
    groups: dict[tuple[int, str], list[Order]] = {}
    for order in orders:
        language = lang or supported_language(
            order.language or order.account.default_language, default=fallback
        )
        groups.setdefault((order.account_id, language), []).append(order)
    for (_account_id, language), group in groups.items():
        _links_email(email, group, language=language, exp=exp, lang=lang).send()
    return len(orders)


def _links_email(
    email: str, orders: list[Order], *, language: str, exp: int, lang: str
) -> EmailMultiAlternatives:
    shop = orders[0].account
    with translation.override(language), formatting.localized(shop, language):
        links = [
            OrderLink(
                order=order,
                url=order.status_url(kind="page", exp=exp, lang=lang or order.language),
                status=order_headline(order, order.trackings.all()).text,
                ordered_on=short_date(order.order_date),
            )
            for order in orders
        ]
        context = {
            "links": links,
            "shop": shop,
            "days": settings.EMAILED_LINK_DAYS,
            "lang": language,
            "brand": stylesheet_colors(shop.brand_color),
            "logo_url": f"{settings.SITE_URL}{shop.logo.url}" if shop.logo else "",
        }
        subject = _("Your orders at %(shop)s") % {"shop": shop.name}
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("orders/email/order_links.txt", context),
            to=[email.strip()],
            reply_to=[shop.support_email] if shop.support_email else None,
        )
        message.attach_alternative(render_to_string("orders/email/order_links.html", context), "text/html")
    return message


# The page answers the same whether or not an address has orders; any of this work in the request
# would make it slower (or fail, with the mail server down) exactly when it has some.
_outbox = ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-links")  # one sender, in order
