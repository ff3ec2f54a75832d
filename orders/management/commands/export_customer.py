"""`manage.py export_customer EMAIL [--account ID] [--output FILE]`: everything we hold on a person."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from orders.management.commands.erase_customer import account_option, checked_email
from orders.privacy import erasure


class Command(BaseCommand):
    help = (
        "Write everything held on the person with EMAIL as JSON (stdout, or --output FILE): their "
        "orders with items, shipments and carrier events, the webhook events about them and the "
        "API responses remembered for them."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--account", help="account id or slug (default: every account)")
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args, email: str, account: str | None = None, output: str | None = None, **options):
        data = erasure.export_customer(checked_email(email), account_option(account))
        text = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False, sort_keys=True)
        if output is None:
            self.stdout.write(text)
            return
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}") from exc
        orders = len(data["orders"])
        self.stderr.write(f"Wrote {orders} order(s) and everything about them to {output}.")
