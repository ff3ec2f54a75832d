"""`manage.py purge_expired`: purge webhook payloads and idempotency records past RETENTION_DAYS."""

from django.core.management.base import BaseCommand

from orders.privacy.retention import purge_expired


class Command(BaseCommand):
    help = (
        "Empty webhook payloads and delete idempotency records older than RETENTION_DAYS (default 90; "
        "0 keeps them forever). Safe to run any time; the scheduler runs it daily."
    )

    def handle(self, *args, **options):
        result = purge_expired()
        if result["cutoff"] is None:
            self.stdout.write("RETENTION_DAYS is 0: nothing is purged.")
            return
        self.stdout.write(f"Purged records older than {result['cutoff']}:")
        for place, count in result.items():
            if place != "cutoff":
                self.stdout.write(f"  {place}: {count}")
