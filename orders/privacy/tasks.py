"""Celery task: beat purges what is past its retention period once a day (see retention)."""

from __future__ import annotations

import logging

from celery import shared_task

from orders.privacy import retention

logger = logging.getLogger(__name__)


@shared_task(name="orders.privacy.tasks.purge_expired", ignore_result=True, acks_late=True)
def purge_expired() -> dict:
    """Idempotent: a second run the same day finds nothing left to purge."""
    purged = retention.purge_expired()
    logger.info("retention purge: %s", purged)
    return purged
