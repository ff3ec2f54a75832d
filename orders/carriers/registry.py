"""Which adapter tracks which carrier, and with which deployment-wide credentials.

Model-free on purpose (models import carriers): an account's own credentials are looked up by
``orders.carriers.polling``, which passes them in.
"""

from __future__ import annotations

import importlib
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


def client(api: str, credentials: Credentials, *, timeout: float | None = None) -> CarrierClient:
    client_class = adapter(api).Client
    return client_class(
        credentials=credentials, transport=transport, timeout=timeout or settings.CARRIER_TIMEOUT
    )


def calls_per_minute() -> dict[str, int]:
    """CARRIER_CALLS_PER_MINUTE ("ups=250,fedex=100,…") as a dict; unnamed APIs get 60."""
    limits = dict.fromkeys(APIS, 60)
    for part in settings.CARRIER_CALLS_PER_MINUTE.split(","):
        name, _, value = part.partition("=")
        if name.strip() in limits and value.strip().isdigit():
            limits[name.strip()] = int(value)
    return limits
