"""`manage.py erase_customer EMAIL [--account ID]`: erase a person's personal data everywhere."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from orders.models import Account
from orders.privacy import erasure


def account_option(value: str | None) -> Account | None:
    """The account named by --account (id or slug), or None for every account."""
    if value is None:
        return None
    account = Account.objects.identified_by(value)
    if account is None:
        raise CommandError(f"No account with id or slug {value!r}.")
    return account


def checked_email(email: str) -> str:
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise CommandError(f"{email!r} is not an email address.") from exc
    return email


class Command(BaseCommand):
    help = (
        "Erase the personal data of every order placed with EMAIL (in one account with --account): "
        "recipient, address, phone, customer number, notes, pickup places, names in carrier text, "
        "webhook payloads, remembered API responses, and whatever other modules registered. Counts, "
        "dates and statuses stay. Signed links stop working and cached answers are retired."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--account", help="account id or slug (default: every account)")

    def handle(self, *args, email: str, account: str | None = None, **options):
        email, found = checked_email(email), account_option(account)
        orders = erasure.orders_of(email, found)
        counts = erasure.erase_customer(email, found)
        self.stdout.write(f"Erased the personal data of {len(orders)} order(s) placed with that address.")
        for place, count in counts.items():
            self.stdout.write(f"  {place}: {count}")
