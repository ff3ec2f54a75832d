"""Celery tasks: thin wrappers that take ids and call orders.carriers.polling.

Beat runs ``dispatch_polls`` every minute (settings.CELERY_BEAT_SCHEDULE); it enqueues one
``poll_job`` per carrier request. Without a broker both run eagerly in the calling process.
"""

from __future__ import annotations

from celery import shared_task

from orders.carriers import polling


@shared_task(name="orders.carriers.tasks.dispatch_polls", ignore_result=True)
def dispatch_polls() -> int:
    jobs = polling.dispatch()
    for job in jobs:
        poll_job.delay(job.as_dict())
    return len(jobs)


@shared_task(name="orders.carriers.tasks.poll_job", ignore_result=True, acks_late=True)
def poll_job(job: dict) -> dict[str, int]:
    return polling.poll(polling.PollJob.from_dict(job))
