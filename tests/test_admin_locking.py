"""Staff edits of a shipment take the order's row lock before they write the shipment row, in
the order every lifecycle change takes them (order, then shipment), so an edit and a carrier
poll or webhook on the same order wait for each other instead of deadlocking (PostgreSQL)."""

from __future__ import annotations

import re
import threading
import time
from datetime import date

import psycopg
import pytest
from django.db import connection, connections, transaction
from django.urls import reverse

from orders.models import Order, Tracking

from .conftest import make_order, ship
from .test_admin import form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def probe():
    """A connection of its own (autocommit), outside Django's."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    )


def wait_until_blocked(sql: str, seconds: float = 20) -> None:
    """Until a session waits for a row lock (the staff request, behind the held order)."""
    with probe() as watcher:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
                (sql,),
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the staff request never waited for the order's lock")


@pytest.mark.parametrize("page", ["tracking", "order"])
def test_a_staff_edit_waits_for_the_order_before_touching_the_shipment(admin_client, page):
    order = make_order()
    tracking = ship(order, "1Z999AA10123456784")
    if page == "tracking":
        url = reverse("admin:orders_tracking_change", args=[tracking.pk])
        data = form_data(admin_client.get(url)) | {"pickup_deadline": "2031-05-16"}
    else:
        url = reverse("admin:orders_order_change", args=[order.pk])
        page = admin_client.get(url)
        # The order date and the hidden initial Django compares it with (its default is callable),
        # as a browser posts them: the order's own fields unchanged, only the shipment is edited.
        shown = dict(
            re.findall(r'name="((?:initial-)?order_date_[01])" value="([^"]*)"', page.content.decode())
        )
        data = form_data(page) | shown | {"trackings-0-announced_delivery_date": "2031-05-16"}
    held, release, answers = threading.Event(), threading.Event(), []

    def poll_holding_the_order() -> None:  # as lifecycle does: the order's lock, for a while
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                held.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def staff_saves() -> None:
        try:
            answers.append(admin_client.post(url, data).status_code)
        finally:
            connections.close_all()

    poller, staff = threading.Thread(target=poll_holding_the_order), threading.Thread(target=staff_saves)
    poller.start()
    assert held.wait(timeout=30)
    staff.start()
    try:
        wait_until_blocked("%FOR UPDATE%")
        with probe() as other:  # the shipment row is still free: a poll could take it and finish
            other.execute("SELECT 1 FROM orders_tracking WHERE id = %s FOR UPDATE NOWAIT", (tracking.pk,))
    finally:
        release.set()
        poller.join(timeout=30)
        staff.join(timeout=30)
    assert answers == [302]
    stored = Tracking.objects.get(pk=tracking.pk)
    assert date(2031, 5, 16) in (stored.pickup_deadline, stored.announced_delivery_date)
