"""Celery tasks: a thin wrapper around orders.webhooks.batches.

`apply_pending` is sent by orders.webhooks.wakeup after events were stored (WEBHOOK_APPLY=async)
and by beat every 15 seconds as a sweep (events stored while the broker was away). Concurrent
runs take disjoint batches. A run that has worked for a while hands the rest to a fresh task, so
other tasks get their turn on the worker.
"""

from __future__ import annotations

from celery import shared_task

from orders.webhooks import batches

RUN_SECONDS = 20.0


@shared_task(name="orders.webhooks.tasks.apply_pending", ignore_result=True)
def apply_pending() -> dict[str, int]:
    outcomes, more = batches.drain(seconds=RUN_SECONDS)
    if more:
        apply_pending.delay()
    return dict(outcomes)
