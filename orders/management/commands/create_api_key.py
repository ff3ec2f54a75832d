"""`manage.py create_api_key ACCOUNT NAME`: mint an API key and print it once."""

from django.core.management.base import BaseCommand, CommandError

from orders import apikeys
from orders.models import Account


class Command(BaseCommand):
    help = (
        "Create an API key for ACCOUNT (id or slug) and print it. The key is shown only this once: "
        "only its hash is stored. Send it as `X-API-Key: <key>` or `Authorization: Bearer <key>`."
    )

    def add_arguments(self, parser):
        parser.add_argument("account", help="account id or slug")
        parser.add_argument("name", help="what the key is for, e.g. 'storefront' or 'order system'")

    def handle(self, *args, account: str, name: str, **options):
        found = Account.objects.identified_by(account)
        if found is None:
            raise CommandError(f"No account with id or slug {account!r}.")
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters.")
        new = apikeys.create_key(account=found, name=name)
        self.stderr.write(
            f"API key {new.api_key.prefix}… for {found.name}. Store it now: it cannot be shown again."
        )
        self.stdout.write(new.secret)
