"""The demo's notifications: status emails to files, and a local merchant receiver with an endpoint.

`manage.py demo` calls `start` in the process that serves the site. As the sandbox carriers move
the live demo parcels, the lifecycle writes outbox rows; emails land in demo-mail/ (one .log file
per email) and webhooks go to a small receiver on 127.0.0.1 that verifies each signature with the
Standard Webhooks library and answers 500 to every fourth request, so the delivery log in the
admin shows retries too. Private webhook targets are allowed in this process only.
"""

from __future__ import annotations

import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.db import close_old_connections
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from orders.models import Account
from orders.notifications import tasks
from orders.notifications.events import WEBHOOK_EVENTS
from orders.notifications.models import WebhookEndpoint

logger = logging.getLogger("orders.notifications")

DEMO_ENDPOINT = "Demo receiver"
SWEEP_EVERY = 5.0  # seconds: webhook retries come due quickly in the demo


def start(account_slug: str = "northwind") -> dict[str, str]:
    """Configure this process for the demo, serve the receiver, and sweep retries in a thread."""
    outgoing = configure(serve_receiver(), account_slug=account_slug)
    threading.Thread(
        target=_sweep_forever, args=(SWEEP_EVERY,), daemon=True, name="demo-notifications"
    ).start()
    return outgoing


def configure(receiver_url: str, *, account_slug: str = "northwind") -> dict[str, str]:
    if "EMAIL_BACKEND" not in os.environ:
        settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
        settings.EMAIL_FILE_PATH = str(settings.BASE_DIR / "demo-mail")
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True  # the receiver lives on loopback
    account = Account.objects.filter(slug=account_slug).first()
    if account is not None:
        WebhookEndpoint.objects.update_or_create(
            account=account,
            description=DEMO_ENDPOINT,
            defaults={"url": receiver_url, "events": list(WEBHOOK_EVENTS), "is_active": True},
        )
    mail = settings.EMAIL_FILE_PATH if "filebased" in settings.EMAIL_BACKEND else "the console"
    return {"receiver": receiver_url, "mail": mail}


def serve_receiver() -> str:
    """A merchant's webhook receiver: verifies signatures, fails every fourth request."""
    counter = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            secrets = WebhookEndpoint.objects.filter(description=DEMO_ENDPOINT).values_list(
                "secret", flat=True
            )
            status = 401
            for secret in secrets:
                try:
                    Webhook(secret).verify(body, dict(self.headers))
                    status = 200
                    break
                except WebhookVerificationError:
                    continue
            close_old_connections()
            counter["n"] += 1
            if status == 200 and counter["n"] % 4 == 0:
                status = 500  # shows a retry in the delivery log
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="demo-webhook-receiver").start()
    return f"http://127.0.0.1:{server.server_port}/webhooks"


def _sweep_forever(every: float) -> None:
    stop = threading.Event()
    while not stop.wait(every):
        try:
            close_old_connections()
            tasks.run_sweep()
        except Exception:  # the demo keeps going whatever one sweep hit
            logger.exception("demo notifications: a sweep failed")
        finally:
            close_old_connections()
