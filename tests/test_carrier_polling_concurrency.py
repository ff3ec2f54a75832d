"""Two dispatchers at once never claim one tracking twice in a cycle (PostgreSQL: SKIP LOCKED)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from orders.carriers import polling
from orders.models import Tracking

from .conftest import make_order, ship

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks (SKIP LOCKED)"),
]


@pytest.fixture
def due_trackings(settings):
    settings.UPS_CLIENT_ID, settings.UPS_CLIENT_SECRET = "client", "secret"
    settings.CARRIER_CALLS_PER_MINUTE = "ups=1000"
    order = make_order()
    return [ship(order, f"1ZTEST{i:012d}", carrier="ups").pk for i in range(40)]


def test_dispatchers_started_together_claim_disjoint_trackings(due_trackings):
    copies = 4
    barrier = threading.Barrier(copies)
    claimed: list[list[int]] = [[] for _ in range(copies)]

    def dispatcher(index: int) -> None:
        try:
            barrier.wait()
            claimed[index] = [pk for job in polling.dispatch(apis=["ups"]) for pk in job.tracking_ids]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    everything = [pk for ids in claimed for pk in ids]
    assert len(everything) == len(set(everything))  # nobody polls a tracking twice
    assert set(everything) == set(due_trackings)  # and none is left behind


def test_a_dispatcher_skips_rows_another_has_locked(due_trackings):
    """While one dispatcher holds its claim open, a second takes only the other rows."""
    locked, release = threading.Event(), threading.Event()
    first: list[int] = []

    def slow_dispatcher() -> None:
        try:
            with transaction.atomic():
                due = Tracking.objects.filter(carrier="ups", next_poll_at__lte=timezone.now())
                first.extend(pk for pk, _ in polling._claim(due, 15))
                locked.set()
                release.wait(timeout=30)
                Tracking.objects.filter(pk__in=first).update(next_poll_at=timezone.now() + polling.LEASE)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_dispatcher)
    thread.start()
    assert locked.wait(timeout=30)
    try:
        second = [pk for job in polling.dispatch(apis=["ups"]) for pk in job.tracking_ids]
    finally:
        release.set()
        thread.join(timeout=60)
    assert len(first) == 15
    assert set(first).isdisjoint(second)
    assert set(first) | set(second) == set(due_trackings)
    # The first claim is leased: a third dispatch finds nothing due.
    assert polling.dispatch(apis=["ups"]) == []
