"""Inbound webhooks: ``signatures`` (verify the sender), ``formats`` (what each event carries),
``storage`` (the one INSERT that stores an event once), ``apply`` (store once, apply through the
lifecycle, in any order; park what has no order yet),
``batches`` (apply stored events off the request path, WEBHOOK_APPLY=async), ``wakeup`` (tell
the workers), ``tasks`` (Celery).

The HTTP endpoint is orders.api.webhooks; it and the tests use the names below.
"""

from orders.webhooks.apply import EVENT_TYPES, SOURCES, Receipt, process, receive, replay_parked
from orders.webhooks.batches import apply_pending, drain
from orders.webhooks.signatures import SIGNATURE_HEADER, WebhookError, find_account, sign, verify_signature

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "SOURCES",
    "Receipt",
    "WebhookError",
    "apply_pending",
    "drain",
    "find_account",
    "process",
    "receive",
    "replay_parked",
    "sign",
    "verify_signature",
]
