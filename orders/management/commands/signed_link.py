"""Print signed links to an order: for support staff answering "where is my order?"."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import get_supported_language_variant

from orders.models import Account, Order

# (label, Order.status_url kind): one line per link printed.
LINK_KINDS = [
    ("Status page", "page"),
    ("Widget image", "widget"),
]
DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$", re.IGNORECASE)
SECONDS = {"d": 86400, "h": 3600, "m": 60}


def parse_duration(value: str) -> int:
    """ "30d", "12h" or "45m" → seconds; "0" or "never" → 0 (the link does not expire)."""
    if value.strip().lower() in ("0", "never"):
        return 0
    match = DURATION.match(value)
    if not match or int(match[1]) == 0:
        raise CommandError(f"--expires takes a duration like 30d, 12h or 45m (or 'never'), got {value!r}.")
    return int(match[1]) * SECONDS[match[2].lower()]


class Command(BaseCommand):
    help = (
        "Print signed links that open an order's status page without asking for an email address "
        "or postal code. Anyone holding a link can see the order: send it only to its recipient."
    )

    def add_arguments(self, parser):
        parser.add_argument("order_number", help="The order number, as the shop shows it.")
        parser.add_argument(
            "--account",
            help="Account id or slug (required when this installation has more than one account).",
        )
        default = f"{settings.SIGNED_LINK_DAYS}d" if settings.SIGNED_LINK_DAYS else "never"
        parser.add_argument(
            "--expires",
            default=default,
            help=f"How long the link works: Nd, Nh or Nm, or 'never' (default: {default}, "
            "from SIGNED_LINK_DAYS).",
        )
        parser.add_argument("--lang", default="", help="Open the page in this language: en, de, fr or es.")

    def handle(self, *args, order_number: str, account: str | None, expires: str, lang: str, **options):
        shop = self._account(account)
        order = Order.objects.filter(account=shop, order_number=order_number.strip()).first()
        if order is None:
            raise CommandError(f"No order {order_number!r} in account {shop.slug!r}.")
        seconds = parse_duration(expires)
        exp = int(time.time()) + seconds if seconds else None
        lang = self._language(lang)
        for label, kind in LINK_KINDS:
            self.stdout.write(f"{label}: {order.status_url(kind=kind, exp=exp, lang=lang)}")
        if exp:
            expiry = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exp))
            self.stdout.write(f"Expires: {expiry}")

    def _account(self, value: str | None) -> Account:
        if value:
            account = Account.objects.identified_by(value)
            if account is None:
                raise CommandError(f"No account with id or slug {value!r}.")
            return account
        account = Account.objects.the_only_one()
        if account is None:
            if not Account.objects.exists():
                raise CommandError("There are no accounts yet.")
            raise CommandError("This installation has several accounts: pass --account ID_OR_SLUG.")
        return account

    def _language(self, value: str) -> str:
        if not value:
            return ""
        try:
            return get_supported_language_variant(value)
        except LookupError:
            codes = ", ".join(code for code, _name in settings.LANGUAGES)
            raise CommandError(f"--lang must be one of {codes}, got {value!r}.") from None
