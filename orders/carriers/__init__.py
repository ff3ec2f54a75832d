"""Carriers: tracking-number detection, one API adapter per carrier, the sandbox carrier, polling.

Others import from here: the detection names below, and ``adapters``/``polling`` by module.
"""

from orders.carriers.detection import (
    CARRIER_CHOICES,
    CARRIERS,
    Candidate,
    Carrier,
    detect_carrier,
    detect_carriers,
    get_carrier,
    normalize_tracking_number,
    trackable_number,
)

__all__ = [
    "CARRIERS",
    "CARRIER_CHOICES",
    "Candidate",
    "Carrier",
    "detect_carrier",
    "detect_carriers",
    "get_carrier",
    "normalize_tracking_number",
    "trackable_number",
]
