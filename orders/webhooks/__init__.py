"""Inbound webhooks: ``signatures`` (verify the sender), ``formats`` (what each event carries),
``apply`` (store once, apply through the lifecycle, in any order; park what has no order yet).

The HTTP endpoint is orders.api.webhooks; it and the tests use the names below.
"""

from orders.webhooks.apply import EVENT_TYPES, SOURCES, Receipt, process, receive, replay_parked
from orders.webhooks.signatures import SIGNATURE_HEADER, WebhookError, find_account, sign, verify_signature

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "SOURCES",
    "Receipt",
    "WebhookError",
    "find_account",
    "process",
    "receive",
    "replay_parked",
    "sign",
    "verify_signature",
]
