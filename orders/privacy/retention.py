"""Retention: raw webhook payloads and idempotency records are kept `RETENTION_DAYS` (default 90),
long enough for any retry or investigation, then purged. Celery beat runs `purge_expired` daily
(orders.privacy.tasks); `manage.py purge_expired` runs it by hand or from cron.

Webhook events keep their row (id, type, outcome, times: repeats still answer "duplicate" and
counts stay right) and lose their payload; idempotency records are deleted. Places registered in
orders.privacy.registry with a `purge` are purged with the same cutoff.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.privacy.registry import holders


def cutoff(now: datetime | None = None) -> datetime | None:
    """Records older than this are purged; None when RETENTION_DAYS is 0 (keep forever)."""
    days = settings.RETENTION_DAYS
    if days <= 0:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def purge_expired(now: datetime | None = None) -> dict:
    """Purge everything older than the retention period; records purged per place, and the cutoff."""
    before = cutoff(now)
    counts: dict = {holder.name: 0 for holder in holders() if holder.purge is not None}
    if before is None:
        return {**counts, "cutoff": None}
    with transaction.atomic():
        for holder in holders():
            if holder.purge is not None:
                counts[holder.name] = holder.purge(before)
    return {**counts, "cutoff": before.isoformat()}
