"""Apply stored webhook events in this process: WEBHOOK_APPLY=async without a Celery broker, or
to catch up by hand. With a broker, Celery workers do this (README: "Webhook ingest")."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.management import loop
from orders.webhooks import batches


class Command(BaseCommand):
    help = (
        "Apply pending webhook events in batches, in this process. Runs until stopped, looking for "
        "new events every --interval seconds when there is nothing to do; --once applies what is "
        "pending now, then exits."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Apply what is pending now, then exit.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between looks when idle (default 1)."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.WEBHOOK_APPLY_BATCH_SIZE,
            help="Events per transaction (default WEBHOOK_APPLY_BATCH_SIZE).",
        )

    def handle(self, *args, once: bool, interval: float, batch_size: int, **options):
        if interval <= 0 or batch_size <= 0:
            raise CommandError("--interval and --batch-size must be positive.")

        def apply_pending() -> bool:
            outcomes, more = batches.drain(limit=batch_size, seconds=60)
            if outcomes:
                self.stdout.write(
                    f"{sum(outcomes.values())} webhook events applied ({loop.summary(outcomes)})"
                )
            return more

        loop.run(self, apply_pending, once=once, interval=interval)
