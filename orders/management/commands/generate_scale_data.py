"""`manage.py generate_scale_data --orders 1000000`: synthetic orders for measuring at scale."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from orders import scale_data


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database of its own with synthetic orders (1.5 shipments and 6 checkpoints "
        "per order, one line item) by set-based SQL, for benchmarks. Refuses SQLite, and a database "
        "that already holds accounts or orders unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--orders", type=int, default=1_000_000, help="How many orders (default 1 000 000)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Add the orders even though the database holds other data."
        )
        parser.add_argument("--no-line-items", action="store_true", help="Skip the line items.")

    def handle(self, *args, orders: int, force: bool, no_line_items: bool, **options):
        try:
            plan = scale_data.generate(
                orders, force=force, line_items=not no_line_items, log=self.stdout.write
            )
        except scale_data.ScaleDataRefused as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(f"Accounts: {', '.join(plan.account_slug(n) for n in range(scale_data.ACCOUNTS))}")
