"""`manage.py demo`: from a fresh checkout to a running, populated status page in one command."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from orders.carriers.sandbox import demo as demo_carriers
from orders.models import Order
from orders.notifications import demo as demo_notifications

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"  # noqa: S105 - printed to the user on purpose; demo only, see the warning


def base_url(addrport: str) -> str:
    host, _, port = addrport.rpartition(":")
    if host in ("", "0", "0.0.0.0", "[::]"):  # noqa: S104 - only used to print a URL
        host = "127.0.0.1"
    return f"http://{host}:{port}"


class Command(BaseCommand):
    help = (
        "Local quick start: apply migrations, seed the demo shop, create a demo-only superuser "
        f"({DEMO_USERNAME}/{DEMO_PASSWORD}) and run the development server. Refuses to run "
        "unless DEBUG is on (manage.py turns it on for this command)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--addrport",
            default="127.0.0.1:8000",
            help="Address and port for the development server (default: 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--noreload",
            action="store_true",
            help="Do not restart the server when the code changes.",
        )

    def handle(self, *args, addrport: str, noreload: bool, **options):
        if not settings.DEBUG:
            raise CommandError(
                "demo is for local development only and creates an admin/admin superuser; "
                "it refuses to run with DEBUG off."
            )
        if "SITE_URL" not in os.environ:
            # Signed links (printed below, emailed, in the admin) must point at this server.
            settings.SITE_URL = base_url(addrport)
        # With the autoreloader, runserver re-executes this command in a child process:
        # only the parent prepares the database and prints the welcome text.
        serving = noreload or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"
        if os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            self.prepare(addrport, verbosity=options["verbosity"])
        if serving:  # the process that serves the site also runs the sandbox carriers and polls
            sandbox = demo_carriers.start()
            outgoing = demo_notifications.start()
            self.stdout.write(
                f"Sandbox carriers at {sandbox}: the live demo orders (NW-1101 to NW-1104) get a new "
                "carrier scan every minute; their pages and widgets follow."
            )
            self.stdout.write(
                f"Status emails about them are written to {outgoing['mail']}; signed webhooks go to a "
                f"demo receiver at {outgoing['receiver']} (Admin → Webhook deliveries shows the log)."
            )
        self.stdout.flush()  # before runserver takes over, also when output goes to a pipe or file
        call_command("runserver", addrport, use_reloader=not noreload)

    def prepare(self, addrport: str, verbosity: int) -> None:
        call_command("migrate", interactive=False, verbosity=verbosity, stdout=self.stdout)
        call_command("seed_demo", stdout=self.stdout)
        self.stdout.write("")
        self.stdout.write(self.ensure_demo_superuser())
        url = base_url(addrport)
        self.stdout.write("")
        self.stdout.write("Try:")
        self.stdout.write(f"  Status page  {url}/   (an order number above + its email or postal code)")
        self.stdout.write("  Signed link  any link above: opens the order without email or postal code")
        shipped = Order.objects.filter(status="shipped", trackings__isnull=False).order_by("order_number")
        if example := shipped.first():
            number = example.trackings.order_by("id").first().tracking_number
            self.stdout.write(f"  Widget       {example.status_url(kind='widget')}")
            self.stdout.write(f"  Tracking     {url}/track/?tracking_number={number}   (no personal data)")
            self.stdout.write(f"  Info API     {example.status_url(kind='info')}")
        self.stdout.write(f"  API docs     {url}/v1/docs")
        self.stdout.write(f"  Admin        {url}/admin/   ({DEMO_USERNAME} / {DEMO_PASSWORD})")
        self.stdout.write("")

    def ensure_demo_superuser(self) -> str:
        User = get_user_model()
        if User._default_manager.filter(username=DEMO_USERNAME).exists():
            return self.style.WARNING(
                f'A user "{DEMO_USERNAME}" already exists; its password was left unchanged.'
            )
        User._default_manager.create_superuser(
            username=DEMO_USERNAME, email="admin@example.com", password=DEMO_PASSWORD
        )
        return self.style.WARNING(
            f'DEMO ONLY: created superuser "{DEMO_USERNAME}" with password "{DEMO_PASSWORD}". '
            "Never run this command against a database that matters."
        )
