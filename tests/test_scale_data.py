"""`manage.py generate_scale_data`: synthetic orders that obey the rules real ones do, and only
where they cannot mix with real data."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from orders import lookup
from orders.models import Checkpoint, LineItem, Order, Tracking
from orders.scale_data import Plan

from .conftest import make_account

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="set-based SQL for PostgreSQL")


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite refusal")
def test_refuses_sqlite():
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("generate_scale_data", "--orders", "30")
    assert not Order.objects.exists()


@on_postgres
def test_refuses_a_database_with_data_unless_forced():
    make_account()
    with pytest.raises(CommandError, match="already holds"):
        call_command("generate_scale_data", "--orders", "30")
    assert not Order.objects.exists()
    call_command("generate_scale_data", "--orders", "30", "--force", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Order.objects.count() == 30


@on_postgres
def test_generates_orders_shipments_and_checkpoints_that_lookups_find():
    call_command("generate_scale_data", "--orders", "300", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert (Order.objects.count(), Tracking.objects.count()) == (300, 450)
    assert (Checkpoint.objects.count(), LineItem.objects.count()) == (1800, 300)
    tag = Order.objects.order_by("pk").first().public_id[4:10]
    plan = Plan(orders=300, tag=tag)
    order = Order.objects.get(public_id=plan.public_id(298))
    assert (order.order_number, order.postal_code) == (plan.order_number(298), plan.postal_code(298))

    found = lookup.resolve(
        {"account": str(order.account_id), "order_number": order.order_number,
         "recipient_email": plan.email(298).upper()}
    )  # fmt: skip
    assert found.access == "full" and found.order == order
    assert [t.tracking_number for t in found.trackings] == [
        plan.tracking_number(447),
        plan.tracking_number(448),
    ]
    # A recent shipment: lookups by number only consider the last TRACKING_LOOKUP_DAYS.
    limited = lookup.resolve({"tracking_number": plan.tracking_number(447)})
    assert limited.access == "limited" and limited.order.order_number == plan.order_number(298)
    assert lookup.resolve({"tracking_number": plan.tracking_number(5)}).access == "none"  # years old
    # Every shipment has its four events, and its status follows them (old ones delivered).
    oldest = Tracking.objects.get(tracking_number=plan.tracking_number(0))
    assert oldest.status == "delivered" and oldest.checkpoints.count() == 4
    assert oldest.checkpoints.first().status == "delivered"
    # The flags and the admin's SQL filters agree on generated data too.
    delayed = {o.pk for o in Order.objects.prefetch_related("trackings") if o.is_delayed}
    assert delayed == set(Order.objects.delayed().values_list("pk", flat=True))
    assert delayed  # open orders past their estimated date exist


def test_refuses_fewer_than_three_orders():
    with pytest.raises(CommandError):
        call_command("generate_scale_data", "--orders", "2")


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_load_outside_a_transaction_is_vacuumed_like_autovacuum_would():
    """Without a visibility map an index-only scan reads every row it finds: the benchmark would
    measure a database no running deployment has."""
    call_command("generate_scale_data", "--orders", "30", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL AND relname = ANY(%s)",
            [["orders_order", "orders_tracking", "orders_checkpoint", "orders_lineitem"]],
        )
        assert len(cursor.fetchall()) == 4
