"""`manage.py seed_demo`: the Northwind Outfitters demo shop, safe to run again."""

from collections.abc import Callable, Sequence

from django.core.management.base import BaseCommand
from django.db import transaction

from orders.demo import DemoOrder, seed_demo
from orders.models import Order
from orders.notifications import outbox


def _trackings(record: DemoOrder) -> str:
    return ", ".join(
        f"{t.carrier} {t.number}" + (" (return)" if t.is_return else "") for t in record.trackings
    )


# One (heading, value) pair per column; the table sizes itself. Signed links are too long for a
# column and are listed after the table.
COLUMNS: list[tuple[str, Callable[[DemoOrder], str]]] = [
    ("Order", lambda r: r.order_number),
    ("Status", lambda r: r.status),
    ("Email", lambda r: r.email),
    ("Postal code", lambda r: r.postal_code),
    ("Tracking numbers", _trackings),
]


def format_table(records: Sequence[DemoOrder], columns=COLUMNS) -> str:
    rows = [[heading for heading, _ in columns]]
    rows += [[value(record) or "-" for _, value in columns] for record in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


class Command(BaseCommand):
    help = (
        "Create the demo shop (Northwind Outfitters) with orders in every state: multi-shipment, "
        "delayed, exception, failed attempt, ready for pickup, return, cancelled, delivered. "
        "Dates are relative to now. Orders that already exist are left unchanged, so running it "
        "again is harmless. Prints each order with the email and postal code to look it up, and a "
        "signed link that opens it directly."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            records = seed_demo()
            # The seeded history is not news: no status emails or webhooks for it.
            outbox.settle(record.order_id for record in records)
        new = sum(record.created for record in records)
        if new:
            self.stdout.write(self.style.SUCCESS(f"Created {new} demo orders for Northwind Outfitters."))
        else:
            self.stdout.write("The demo orders already exist; nothing was changed.")
        self.stdout.write(format_table(records))
        self.stdout.write("\nSigned status page links (they open the order without email or postal code):")
        orders = Order.objects.in_bulk([record.order_id for record in records])
        for record in records:
            self.stdout.write(f"  {record.order_number:<8} {orders[record.order_id].status_url(kind='page')}")
