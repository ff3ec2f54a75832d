"""Which adapter tracks which carrier, and with which deployment-wide credentials.

Model-free on purpose (models import carriers): an account's own credentials are looked up by
``orders.carriers.polling``, which passes them in.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

import httpx
from django.conf import settings

from orders.carriers.base import CarrierClient, Credentials

# Adapter per API; Amazon Logistics (and "other") go through the AfterShip aggregator.
APIS = ("ups", "fedex", "usps", "dhl", "aftership")
API_CHOICES = [
    ("ups", "UPS"),
    ("fedex", "FedEx"),
    ("usps", "USPS"),
    ("dhl", "DHL"),
    ("aftership", "AfterShip"),
]
API_FOR_CARRIER = {"ups": "ups", "fedex": "fedex", "usps": "usps", "dhl": "dhl", "amazon": "aftership"}

# Tests and the demo route every carrier request through this transport (e.g. the sandbox in
# process); None means real HTTP.
transport: httpx.BaseTransport | None = None


def api_for(carrier_code: str) -> str | None:
    """The API that tracks ``carrier_code``, or None (no adapter: not polled)."""
    return API_FOR_CARRIER.get(carrier_code)


def adapter(api: str) -> ModuleType:
    return importlib.import_module(f"orders.carriers.{api}")


def default_credentials(api: str) -> Credentials:
    prefix = api.upper()
    return Credentials(
        base_url=getattr(settings, f"{prefix}_API_URL"),
        client_id=getattr(settings, f"{prefix}_CLIENT_ID", ""),
        client_secret=getattr(settings, f"{prefix}_CLIENT_SECRET", ""),
        api_key=getattr(settings, f"{prefix}_API_KEY", ""),
    )


_clients: dict[tuple, CarrierClient] = {}
_clients_lock = threading.Lock()


def client(api: str, credentials: Credentials, *, timeout: float | None = None) -> CarrierClient:
    """The process's client for these credentials: kept and reused, so keep-alive connections
    and the TLS context (150 ms to build) are paid once, not per poll. Thread-safe."""
    timeout = timeout or settings.CARRIER_TIMEOUT
    key = (api, credentials, round(timeout, 1), id(transport))
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            if len(_clients) >= 64:  # credentials or timeouts that changed: drop the old clients
                _clients.clear()
            found = _clients[key] = adapter(api).Client(
                credentials=credentials, transport=transport, timeout=timeout
            )
        return found


def supports_live_refresh(tracking) -> bool:
    """The info API's ``supports_live_refresh``: the shipment is open and an adapter with
    credentials (the deployment's, or its account's own) tracks it."""
    api = api_for(tracking.carrier)
    if api is None or tracking.next_poll_at is None:
        return False
    if default_credentials(api).configured:
        return True
    return tracking.order.account.carrier_credentials.filter(api=api).exists()


def calls_per_minute() -> dict[str, int]:
    """CARRIER_CALLS_PER_MINUTE ("ups=250,fedex=100,…") as a dict; unnamed APIs get 60."""
    limits = dict.fromkeys(APIS, 60)
    for part in settings.CARRIER_CALLS_PER_MINUTE.split(","):
        name, _, value = part.partition("=")
        if name.strip() in limits and value.strip().isdigit():
            limits[name.strip()] = int(value)
    return limits
