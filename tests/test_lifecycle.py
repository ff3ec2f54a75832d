"""Order lifecycle: forward-only moves, cancellation rules, shipments following their checkpoints."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import lifecycle
from orders.cache import versions as state_cache
from orders.lifecycle import TransitionError
from orders.models import Checkpoint, Order, OrderStatus, TrackingStatus

from .conftest import days_ago, make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

ALLOWED = [
    ("pending", "processing"),
    ("pending", "shipped"),
    ("pending", "delivered"),
    ("processing", "shipped"),
    ("processing", "delivered"),
    ("shipped", "delivered"),
    ("pending", "cancelled"),
    ("processing", "cancelled"),
    ("pending", "pending"),
    ("delivered", "delivered"),
]
FORBIDDEN = [
    ("processing", "pending"),
    ("shipped", "pending"),
    ("shipped", "processing"),
    ("delivered", "shipped"),
    ("delivered", "pending"),
    ("shipped", "cancelled"),
    ("delivered", "cancelled"),
    ("cancelled", "pending"),
    ("cancelled", "processing"),
    ("cancelled", "shipped"),
    ("cancelled", "delivered"),
    ("pending", "lost"),
]


@pytest.mark.parametrize(("current", "requested"), ALLOWED)
def test_allowed_moves_are_saved(account, current, requested):
    order = make_order(account, status=current)
    lifecycle.transition_order(order, requested)
    assert Order.objects.get(pk=order.pk).status == requested


@pytest.mark.parametrize(("current", "requested"), FORBIDDEN)
def test_forbidden_moves_raise_and_write_nothing(account, current, requested):
    order = make_order(account, status=current)
    version = order.state_version
    with pytest.raises(TransitionError) as error:
        lifecycle.transition_order(order, requested)
    assert str(error.value)  # a message a human can read
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.state_version) == (current, version)


def test_cancelling_a_shipped_order_says_why(order):
    ship(order)
    with pytest.raises(TransitionError, match="can no longer be cancelled"):
        lifecycle.cancel_order(order)


def test_allowed_next_statuses():
    assert lifecycle.allowed_next_statuses("pending") == ["processing", "shipped", "delivered", "cancelled"]
    assert lifecycle.allowed_next_statuses("shipped") == ["delivered"]
    assert lifecycle.allowed_next_statuses("cancelled") == []


def test_state_version_moves_with_every_change(order):
    before = order.state_version
    lifecycle.transition_order(order, "processing")
    assert order.state_version == before + 1


@pytest.mark.parametrize("status", ["pending", "processing"])
def test_attaching_a_tracking_ships_the_order(account, status):
    order = make_order(account, status=status)
    tracking = ship(order, "1Z999AA10123456784")
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert (tracking.carrier, tracking.tracking_number) == ("ups", "1Z999AA10123456784")


def test_tracking_numbers_are_normalised_and_reattaching_is_idempotent(order):
    first = ship(order, " 1z999aa1 0123456784 ")
    again = ship(order, "1Z999AA10123456784")
    assert first.pk == again.pk
    assert first.tracking_number == "1Z999AA10123456784"
    assert order.trackings.count() == 1


def test_a_cancelled_order_takes_no_shipment(account):
    order = make_order(account, status="cancelled")
    with pytest.raises(TransitionError):
        ship(order)
    assert order.trackings.count() == 0


def test_order_is_delivered_when_every_outbound_shipment_is(order):
    ups = ship(order, "1Z999AA10123456784")
    amazon = ship(order, "TBA123456789000")
    ret = ship(order, "9400111899223197428490", is_return=True)
    scan(ups, "delivered")
    order.refresh_from_db()
    assert order.status == "shipped"
    scan(amazon, "delivered")
    order.refresh_from_db()
    assert order.status == "delivered"
    assert ret.status == "pending"  # the return does not gate delivery


def test_newest_checkpoint_wins_whatever_the_arrival_order(order):
    tracking = ship(order)
    eta_new, eta_old = timezone.localdate() + timedelta(days=1), timezone.localdate() + timedelta(days=4)
    scan(tracking, "out_for_delivery", days_ago(0.1), estimated_delivery_date=eta_new)
    scan(tracking, "in_transit", days_ago(1), estimated_delivery_date=eta_old, location="Dallas, TX")
    scan(tracking, "info_received", days_ago(2), location="Houston, TX")
    assert tracking.status == TrackingStatus.OUT_FOR_DELIVERY
    assert tracking.step == 4
    assert tracking.estimated_delivery_date == eta_new


def test_exception_keeps_the_step_it_had(order):
    tracking = ship(order)
    scan(tracking, "in_transit", days_ago(2))
    scan(tracking, "exception", days_ago(1), location="Memphis, TN")
    assert (tracking.status, tracking.step, tracking.is_exception) == ("exception", 3, True)
    order = Order.objects.get(pk=order.pk)
    assert order.is_exception


def test_repeated_checkpoint_is_stored_once(order):
    tracking = ship(order)
    when = days_ago(1)
    scan(tracking, "in_transit", when)
    scan(tracking, "in_transit", when)
    assert tracking.checkpoints.count() == 1


def test_database_refuses_the_same_event_twice(order):
    tracking = ship(order)
    when = days_ago(1)
    fields = {
        "tracking": tracking,
        "occurred_at": when,
        "status": "in_transit",
        "status_code": "IT",
        "location": "X",
    }
    Checkpoint.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Checkpoint.objects.create(**fields)


def test_database_refuses_duplicate_order_number_per_account(account):
    make_order(account, order_number="1001-A")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(account, order_number="1001-A")
    other = make_account(name="Other", slug="other")
    assert make_order(other, order_number="1001-A").pk  # unique per account only


def test_delayed_when_eta_has_passed_and_not_delivered(order):
    tracking = ship(order, estimated_delivery_date=timezone.localdate() - timedelta(days=2))
    scan(tracking, "in_transit", days_ago(3))
    order = Order.objects.get(pk=order.pk)
    assert tracking.is_delayed and order.is_delayed
    scan(tracking, "delivered", days_ago(0.1))
    order = Order.objects.get(pk=order.pk)
    assert not order.is_delayed and order.status == "delivered"


def test_unknown_tracking_status_is_refused(order):
    tracking = ship(order)
    with pytest.raises(TransitionError):
        lifecycle.record_checkpoint(tracking=tracking, occurred_at=days_ago(1), status="teleported")
    assert tracking.checkpoints.count() == 0


def test_revoking_links_bumps_the_link_version(order):
    lifecycle.revoke_links(order)
    assert order.link_version == 2


def test_committed_changes_publish_the_state_version_to_the_cache(order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition_order(order, "processing")
    assert state_cache.current(order.pk) == order.state_version
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.revoke_links(order)
    assert state_cache.current(order.pk) == order.state_version


def test_editing_details_is_a_state_change(order):
    before = order.state_version
    order.street1 = "500 Congress Ave"
    lifecycle.update_order_details(order, ["street1", "status"])
    stored = Order.objects.get(pk=order.pk)
    assert (stored.street1, stored.state_version) == ("500 Congress Ave", before + 1)


def test_detaching_the_last_undelivered_shipment_delivers_the_order(order):
    delivered, mistyped = ship(order, "1Z999AA10123456784"), ship(order, "TBA123456789000")
    scan(delivered, "delivered", days_ago(0.5))
    lifecycle.detach_tracking(mistyped)
    assert Order.objects.get(pk=order.pk).status == "delivered"


def test_queryset_filters_agree_with_the_flags(account):
    late = make_order(account)
    scan(
        ship(late, estimated_delivery_date=timezone.localdate() - timedelta(days=1)),
        "in_transit",
        days_ago(3),
    )
    broken = make_order(account)
    scan(ship(broken, "TBA123456789000"), "exception", days_ago(1))
    make_order(account)
    assert list(Order.objects.delayed()) == [late]
    assert list(Order.objects.with_exception()) == [broken]
