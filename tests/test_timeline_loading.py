"""An order's timeline as orders.timeline loads it: the same rows and values Django's ORM reads."""

import pytest
from django.db.models.signals import post_init

from orders import timeline
from orders.models import Checkpoint, Order, Tracking

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(account) -> Order:
    order = make_order(account, order_number="1001")
    for number in ("1Z999AA10123456784", "1Z999AA10123456793"):
        tracking = ship(order, number)
        scan(tracking, "info_received", days_ago(2))
        scan(tracking, "in_transit", days_ago(1), location="Memphis, TN")
    return Order.objects.get(pk=order.pk)


def fields(instance, *, without=()) -> dict:
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.name not in without
    }


def test_loaded_rows_hold_what_the_orm_reads(shipped, django_assert_num_queries):
    with django_assert_num_queries(4):
        timeline.load(shipped)
    trackings = list(shipped.trackings.all())
    assert [fields(t) for t in trackings] == [fields(t) for t in Tracking.objects.filter(order=shipped)]
    for tracking in trackings:
        checkpoints = list(tracking.checkpoints.all())
        expected = Checkpoint.objects.filter(tracking=tracking)
        assert [fields(c, without=["created_at"]) for c in checkpoints] == [
            fields(c, without=["created_at"]) for c in expected
        ]
        assert all(
            c.tracking is tracking and not c._state.adding and c._state.db == "default" for c in checkpoints
        )
    assert [i.order for i in shipped.items.all()] == [shipped] * shipped.items.count()


def test_the_time_a_checkpoint_was_received_is_read_when_asked_for(shipped, django_assert_num_queries):
    timeline.load(shipped)
    checkpoint = shipped.trackings.all()[0].checkpoints.all()[0]
    received = Checkpoint.objects.get(pk=checkpoint.pk).created_at
    with django_assert_num_queries(1):
        assert checkpoint.created_at == received


def test_a_receiver_of_post_init_sees_every_loaded_checkpoint(shipped):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(receiver, sender=Checkpoint)
    try:
        timeline.load(shipped)
    finally:
        post_init.disconnect(receiver, sender=Checkpoint)
    assert sorted(seen) == sorted(
        Checkpoint.objects.filter(tracking__order=shipped).values_list("pk", flat=True)
    )
