"""Live carrier tracking end to end: the dispatcher, polls against the sandbox carrier (the real
adapters over HTTP, in process), the schedule, failures, and `manage.py poll_trackings`."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders import formatting, lifecycle
from orders.cache import versions as state_versions
from orders.carriers import polling, registry
from orders.carriers.base import CheckpointUpdate, DeliveryWindow, TrackingUpdate
from orders.carriers.sandbox.route import scenario_for
from orders.models import Checkpoint, Order, PollOutcome, Tracking, TrackingStatus
from tests.conftest import STEP, make_account, make_order

# Numbers whose sandbox route is a plain delivery (see orders/carriers/sandbox/route.py).
NUMBERS = {
    "ups": "1Z999AA10123456784",
    "fedex": "123456789012",
    "usps": "9400111899223197428490",
    "dhl": "1234567890",
}


def ship(order: Order, carrier: str, number: str | None = None) -> Tracking:
    return lifecycle.attach_tracking(order=order, tracking_number=number or NUMBERS[carrier], carrier=carrier)


def poll_once(*args: str) -> str:
    out = io.StringIO()
    call_command("poll_trackings", "--once", *args, stdout=out)
    return out.getvalue()


def make_due(tracking: Tracking) -> None:
    Tracking.objects.filter(pk=tracking.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.parametrize("carrier", sorted(NUMBERS))
def test_a_poll_fills_in_checkpoints_status_and_eta(db, sandbox, clock, carrier):
    order = make_order()
    tracking = ship(order, carrier)
    assert tracking.next_poll_at is not None  # a new shipment is due at once
    sandbox.start(tracking.tracking_number, clock.now - STEP * 3 - timedelta(minutes=1))

    output = poll_once()

    tracking.refresh_from_db()
    shipment = sandbox.shipment(carrier, tracking.tracking_number)
    assert f"{registry.api_for(carrier)}: 1 polled (ok 1)" in output
    assert tracking.last_poll_outcome == PollOutcome.OK
    assert tracking.status == TrackingStatus.IN_TRANSIT
    assert tracking.checkpoints.count() == len(shipment.events) == 4
    newest = tracking.checkpoints.first()
    assert newest.occurred_at == shipment.latest.occurred_at or not newest.zone_known
    assert tracking.estimated_delivery_date == shipment.estimated_delivery
    assert tracking.next_poll_at > timezone.now()


def test_a_second_poll_adds_only_new_events(db, sandbox, clock):
    order = make_order()
    tracking = ship(order, "ups")
    sandbox.start(tracking.tracking_number, clock.now - STEP * 2 - timedelta(minutes=1))
    poll_once()
    assert tracking.checkpoints.count() == 3

    make_due(tracking)
    poll_once()  # nothing new at the carrier
    assert tracking.checkpoints.count() == 3

    clock.now += STEP * 2
    make_due(tracking)
    poll_once()
    tracking.refresh_from_db()
    assert tracking.checkpoints.count() == 5
    assert tracking.status == TrackingStatus.OUT_FOR_DELIVERY
    assert (
        Checkpoint.objects.filter(tracking=tracking).values("occurred_at", "status_code").distinct().count()
        == 5
    )


def test_delivered_parcels_are_not_polled_again(db, sandbox, clock):
    order = make_order()
    tracking = ship(order, "ups")
    sandbox.start(tracking.tracking_number, clock.now - STEP * 10)
    poll_once()
    tracking.refresh_from_db()
    order.refresh_from_db()
    assert tracking.status == TrackingStatus.DELIVERED
    assert order.status == "delivered"
    assert tracking.next_poll_at is None
    calls = len(sandbox.calls_to("ups"))
    poll_once()
    assert len(sandbox.calls_to("ups")) == calls


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome", "at_least"),
    [
        (429, "120", PollOutcome.RATE_LIMITED, timedelta(seconds=120)),
        (500, None, PollOutcome.UNAVAILABLE, polling.BACKOFF_BASE * (1 - polling.JITTER)),
        (503, "600", PollOutcome.UNAVAILABLE, timedelta(seconds=600)),
    ],
)
def test_carrier_failures_leave_the_order_unchanged_and_push_the_next_poll_back(
    db, sandbox, clock, status, retry_after, outcome, at_least
):
    order = make_order()
    tracking = ship(order, "ups")
    sandbox.start(tracking.tracking_number, clock.now - STEP * 3)
    version = Order.objects.get(pk=order.pk).state_version
    sandbox.fail_next("ups", status, retry_after=retry_after)

    before = timezone.now()
    output = poll_once()

    tracking.refresh_from_db()
    assert "ups: 1 polled" in output
    assert tracking.checkpoints.count() == 0
    assert Order.objects.get(pk=order.pk).state_version == version
    assert tracking.last_poll_outcome == outcome
    assert tracking.poll_failures == 1
    assert tracking.next_poll_at >= before + at_least

    # Back to normal: the next poll succeeds and the failure count resets.
    make_due(tracking)
    poll_once()
    tracking.refresh_from_db()
    assert tracking.poll_failures == 0
    assert tracking.checkpoints.count() == 4


def test_failures_back_off_exponentially(db, sandbox, clock):
    tracking = ship(make_order(), "ups")
    delays = []
    for _ in range(4):
        sandbox.fail_next("ups", 502)
        make_due(tracking)
        start = timezone.now()
        poll_once()
        tracking.refresh_from_db()
        delays.append(tracking.next_poll_at - start)
    assert tracking.poll_failures == 4
    for shorter, longer in itertools.pairwise(delays):
        assert longer > shorter * 1.5


def test_a_number_the_carrier_does_not_know_is_asked_again_later(db, sandbox):
    tracking = ship(make_order(), "ups")
    sandbox.unknown_numbers.add(tracking.tracking_number)
    poll_once()
    tracking.refresh_from_db()
    assert tracking.last_poll_outcome == PollOutcome.NOT_FOUND
    assert tracking.poll_failures == 0
    assert tracking.next_poll_at > timezone.now() + polling.NOT_FOUND_INTERVAL * (
        1 - polling.JITTER
    ) - timedelta(minutes=1)


def test_a_carrier_without_credentials_is_not_polled(db, sandbox, settings):
    settings.UPS_CLIENT_ID = ""
    tracking = ship(make_order(), "ups")
    output = poll_once("--carrier", "ups")
    assert "ups: not polled (no credentials)" in output
    assert sandbox.calls_to("ups") == []
    tracking.refresh_from_db()
    assert tracking.last_polled_at is None


def test_the_budget_caps_calls_per_minute(db, sandbox, settings):
    settings.CARRIER_CALLS_PER_MINUTE = "ups=2"
    order = make_order()
    for number in ("1Z999AA10123456784", "1Z12345E0205271688", "1Z12345E6605272234", "1Z12345E1305277940"):
        ship(order, "ups", number)
    output = poll_once("--carrier", "ups")
    assert "ups: 2 polled" in output
    assert len(sandbox.calls_to("ups")) == 2
    assert Tracking.objects.filter(last_polled_at__isnull=False).count() == 2


def test_fedex_numbers_are_asked_thirty_at_a_time(db, sandbox):
    order = make_order()
    for index in range(31):
        ship(order, "fedex", f"7{index:011d}")
    output = poll_once("--carrier", "fedex")
    assert "fedex: 31 polled" in output
    assert len(sandbox.calls_to("fedex")) == 2


def test_unknown_carrier_option_is_an_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown carrier"):
        poll_once("--carrier", "pigeon")


def test_events_of_an_earlier_parcel_with_a_recycled_number_are_dropped(db, sandbox, clock):
    tracking = ship(make_order(), "ups")
    sandbox.start(tracking.tracking_number, clock.now - timedelta(days=200))
    poll_once()
    tracking.refresh_from_db()
    assert tracking.checkpoints.count() == 0
    assert tracking.last_poll_outcome == PollOutcome.OK


def test_a_poll_changes_only_the_tracking_row_it_was_made_for(db, sandbox, clock):
    other_account = make_account(slug="other-shop")
    mine = ship(make_order(), "ups")
    theirs = ship(make_order(account=other_account, order_number="B-1"), "ups")
    Tracking.objects.filter(pk=theirs.pk).update(next_poll_at=timezone.now() + timedelta(hours=1))
    sandbox.start(mine.tracking_number, clock.now - STEP * 3)
    poll_once()
    assert mine.checkpoints.count() == 4
    assert theirs.checkpoints.count() == 0


def _update(number: str, eta: date, *events: CheckpointUpdate) -> TrackingUpdate:
    return TrackingUpdate(tracking_number=number, estimated_delivery=DeliveryWindow(eta), checkpoints=events)


def test_a_new_estimate_without_a_new_scan_still_reaches_the_shipment(db):
    tracking = ship(make_order(), "ups")
    scanned = CheckpointUpdate(
        datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "in_transit", "AR", "Arrived", "Memphis"
    )
    now = timezone.now()
    polling.apply_update(tracking, _update(tracking.tracking_number, date(2026, 11, 5), scanned), now=now)
    tracking.refresh_from_db()
    assert tracking.estimated_delivery_date == date(2026, 11, 5)

    polling.apply_update(tracking, _update(tracking.tracking_number, date(2026, 11, 7), scanned), now=now)
    tracking.refresh_from_db()
    assert tracking.estimated_delivery_date == date(2026, 11, 7)
    assert tracking.checkpoints.count() == 1


def test_a_local_time_without_a_zone_is_kept_as_read(db):
    tracking = ship(make_order(), "usps")
    local = CheckpointUpdate(
        datetime(2026, 11, 2, 9, 30), "in_transit", "10", "Arrived", "Denver, CO", zone_known=False
    )
    polling.apply_update(
        tracking, TrackingUpdate(tracking.tracking_number, checkpoints=(local,)), now=timezone.now()
    )
    stored = tracking.checkpoints.get()
    assert not stored.zone_known
    assert stored.occurred_at == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # the wall clock, never shifted


def test_a_repeat_poll_with_nothing_new_costs_a_few_queries(db, django_assert_max_num_queries):
    tracking = ship(make_order(), "ups")
    events = tuple(
        CheckpointUpdate(datetime(2026, 11, 2, h, 0, tzinfo=UTC), "in_transit", f"S{h}", "Scan", "Hub")
        for h in range(8)
    )
    update = _update(tracking.tracking_number, date(2026, 11, 5), *events)
    polling.apply_update(tracking, update, now=timezone.now())
    tracking.refresh_from_db()
    with django_assert_max_num_queries(5):
        polling.apply_update(tracking, update, now=timezone.now())


def test_a_local_time_without_a_zone_is_shown_as_the_carrier_gave_it(client, db, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # converting would show 10:30
    order = make_order()
    tracking = ship(order, "usps")
    local = CheckpointUpdate(
        datetime(2026, 11, 2, 9, 30), "in_transit", "10", "Arrived", "Denver", zone_known=False
    )
    polling.apply_update(
        tracking, TrackingUpdate(tracking.tracking_number, checkpoints=(local,)), now=timezone.now()
    )
    page = client.get(order.status_url(kind="page", absolute=False)).content.decode()
    assert 'datetime="2026-11-02T09:30:00"' in page
    assert "09:30" in page


def test_live_refresh_is_supported_for_open_shipments_of_a_polled_carrier(db, settings):
    settings.UPS_CLIENT_ID, settings.UPS_CLIENT_SECRET, settings.DHL_API_KEY = "id", "secret", ""
    order = make_order()
    ups, dhl, other = ship(order, "ups"), ship(order, "dhl"), ship(order, "other", "ZZ123")
    assert registry.supports_live_refresh(ups)
    assert not registry.supports_live_refresh(dhl)  # no credentials
    assert not registry.supports_live_refresh(other)  # no adapter
    Tracking.objects.filter(pk=ups.pk).update(next_poll_at=None)
    ups.refresh_from_db()
    assert not registry.supports_live_refresh(ups)  # delivered: nothing to refresh


def test_a_parcel_held_at_an_access_point_gets_the_carriers_pickup_deadline(db, sandbox, clock, client):
    number = next(n for n in (f"1ZPICKUP{i:08d}" for i in range(10_000)) if scenario_for(n) == "pickup")
    order = make_order()
    tracking = ship(order, "ups", number)
    sandbox.start(number, clock.now - STEP * 6 - timedelta(minutes=1))  # the whole route has happened

    poll_once()

    tracking.refresh_from_db()
    deadline = sandbox.shipment("ups", number).pickup_deadline
    assert tracking.status == TrackingStatus.AVAILABLE_FOR_PICKUP
    assert deadline is not None and tracking.pickup_deadline == deadline
    html = client.get(Order.objects.get(pk=order.pk).status_url(absolute=False)).content.decode()
    with formatting.localized(order.account, "en"):
        assert f"Pick up by {formatting.short_date(deadline)}" in html

    version = Order.objects.get(pk=order.pk).state_version
    make_due(tracking)
    poll_once()  # the same answer again: nothing changed, so no state change
    assert Order.objects.get(pk=order.pk).state_version == version


def test_a_new_pickup_deadline_is_a_state_change_that_retires_cached_answers(
    db, django_capture_on_commit_callbacks
):
    tracking = ship(make_order(), "ups")
    held = CheckpointUpdate(datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "available_for_pickup", "161", "Held")
    update = TrackingUpdate(tracking.tracking_number, checkpoints=(held,), pickup_deadline=date(2026, 11, 9))
    polling.apply_update(tracking, update, now=timezone.now())
    version = Order.objects.get(pk=tracking.order_id).state_version

    extended = TrackingUpdate(
        tracking.tracking_number, checkpoints=(held,), pickup_deadline=date(2026, 11, 12)
    )
    with django_capture_on_commit_callbacks(execute=True):
        polling.apply_update(tracking, extended, now=timezone.now())

    tracking.refresh_from_db()
    assert tracking.pickup_deadline == date(2026, 11, 12)
    assert Order.objects.get(pk=tracking.order_id).state_version == version + 1
    assert state_versions.current(tracking.order_id) == version + 1  # published: cached answers retired
    without = TrackingUpdate(tracking.tracking_number, checkpoints=(held,))
    polling.apply_update(tracking, without, now=timezone.now())
    tracking.refresh_from_db()
    assert tracking.pickup_deadline == date(2026, 11, 12)  # an answer without one keeps the last known


def test_a_parcel_that_leaves_the_pickup_point_forgets_its_deadline(db):
    tracking = ship(make_order(), "ups")
    at = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    held = CheckpointUpdate(at, "available_for_pickup", "161", "Held")
    rerouted = CheckpointUpdate(at + timedelta(days=1), "in_transit", "RR", "Rerouted")
    held_again = CheckpointUpdate(at + timedelta(days=2), "available_for_pickup", "161", "Held")
    number = tracking.tracking_number
    polling.apply_update(
        tracking, TrackingUpdate(number, checkpoints=(held,), pickup_deadline=date(2026, 11, 9)), now=at
    )

    polling.apply_update(tracking, TrackingUpdate(number, checkpoints=(held, rerouted)), now=at)
    tracking.refresh_from_db()
    assert tracking.pickup_deadline is None  # no old date left to show for the next hold

    polling.apply_update(tracking, TrackingUpdate(number, checkpoints=(held, rerouted, held_again)), now=at)
    tracking.refresh_from_db()
    assert (tracking.status, tracking.pickup_deadline) == (TrackingStatus.AVAILABLE_FOR_PICKUP, None)
