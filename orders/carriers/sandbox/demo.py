"""The demo's carriers: the sandbox on localhost, every adapter pointed at it, and a poller thread.

`manage.py demo` calls ``start`` in the process that serves the site, so a new user sees the live
demo parcels move without an account at any carrier.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections

from orders.carriers import base, polling, registry
from orders.carriers.sandbox import SandboxCarrierServer, serve

logger = logging.getLogger("orders.carriers")

STEP = timedelta(minutes=1)  # one scan per parcel per minute
POLL_EVERY = 5.0  # seconds between polling cycles
# Polling intervals shrink with the sandbox's clock: in transit every ~30 s, out for delivery ~5 s.
INTERVAL_SCALE = 1 / 240


def start(*, step: timedelta = STEP, poll_every: float = POLL_EVERY) -> str:
    """Serve the sandbox carriers, point every adapter at them, and poll in a daemon thread.
    Returns the sandbox's base URL."""
    _httpd, url = serve(SandboxCarrierServer(step=step))
    for api in registry.APIS:
        setattr(settings, f"{api.upper()}_API_URL", f"{url}/{api}")
    for api in ("UPS", "FEDEX", "USPS"):
        setattr(settings, f"{api}_CLIENT_ID", "demo-client")
        setattr(settings, f"{api}_CLIENT_SECRET", "demo-secret")  # the sandbox takes any
    settings.DHL_API_KEY = settings.AFTERSHIP_API_KEY = "demo-key"
    settings.CARRIER_POLL_INTERVAL_SCALE = INTERVAL_SCALE
    base.forget_tokens()
    threading.Thread(target=_poll_forever, args=(poll_every,), daemon=True, name="demo-poller").start()
    return url


def poll_cycle() -> int:
    jobs = polling.dispatch()
    for job in jobs:
        polling.poll(job)
    return len(jobs)


def _poll_forever(every: float) -> None:
    stop = threading.Event()
    while not stop.wait(every):
        try:
            close_old_connections()
            poll_cycle()
        except Exception:  # the demo's poller keeps going whatever one cycle hit
            logger.exception("demo poller: a polling cycle failed")
        finally:
            close_old_connections()
