"""Poll carriers for due shipments in this process: for cron and single-machine deployments.

With a Celery broker, beat and workers do this instead (README: "Live carrier tracking").
"""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from orders.carriers import polling, registry
from orders.management import loop


class Command(BaseCommand):
    help = (
        "Poll the carrier APIs for every shipment that is due, in this process. Runs a cycle every "
        "--interval seconds until stopped, or one cycle with --once. Carrier failures are recorded on "
        "the shipments and do not fail the command."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one cycle, then exit.")
        parser.add_argument(
            "--carrier",
            metavar="CODE",
            help="Only this carrier or API (ups, fedex, usps, dhl, amazon, aftership).",
        )
        parser.add_argument(
            "--interval", type=float, default=60.0, help="Seconds between cycles (default 60)."
        )

    def handle(self, *args, once: bool, carrier: str | None, interval: float, **options):
        apis = list(registry.APIS)
        if carrier:
            api = polling.api_named(carrier)
            if api is None:
                raise CommandError(
                    f"Unknown carrier {carrier!r}. Use one of: {', '.join(registry.APIS)}, amazon."
                )
            apis = [api]
        if interval <= 0:
            raise CommandError("--interval must be positive.")
        loop.run(self, lambda: self.cycle(apis), once=once, interval=interval)

    def cycle(self, apis: list[str]) -> bool:
        """One round over the carriers; the next waits --interval (False: nothing more now)."""
        for api in apis:
            if not polling.configured(api):
                self.stdout.write(f"{api}: not polled (no credentials)", self.style.WARNING)
                continue
            jobs = polling.dispatch(apis=[api])
            outcomes: Counter[str] = Counter()
            for job in jobs:
                outcomes.update(polling.poll(job))
            self.stdout.write(
                f"{api}: {sum(outcomes.values())} polled ({loop.summary(outcomes) or 'nothing due'})"
            )
        return False
