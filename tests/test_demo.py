"""Demo data: every state the status page knows, built through the lifecycle, idempotent."""

from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.commands import runserver
from django.utils import timezone

from orders.carriers import detect_carriers
from orders.carriers.sandbox import demo as demo_carriers
from orders.demo import seed_demo
from orders.models import Checkpoint, LineItem, Order, OrderStatus, Tracking, TrackingStatus
from orders.notifications import demo as demo_notifications

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "counts": (
            Order.objects.count(),
            Tracking.objects.count(),
            Checkpoint.objects.count(),
            LineItem.objects.count(),
        ),
        "orders": sorted(Order.objects.values_list("order_number", "status", "state_version")),
        "trackings": sorted(Tracking.objects.values_list("tracking_number", "status", "step")),
    }


def test_every_order_and_tracking_status_is_shown():
    records = seed_demo()
    assert len(records) >= 14
    assert {r.status for r in records} == set(OrderStatus.values)
    assert set(Tracking.objects.values_list("status", flat=True)) == set(TrackingStatus.values)
    assert {"de", "fr", "es"} <= {r.language for r in records}


def test_the_showcase_orders_exist():
    seed_demo()
    orders = Order.objects.prefetch_related("trackings")

    multi = [o for o in orders if {t.carrier for t in o.shipments} == {"ups", "amazon"}]
    assert len(multi) == 1 and multi[0].status == "shipped"
    assert all(item.tracking_id for item in multi[0].items.all())  # each item in its parcel

    delayed = [o for o in orders if o.is_delayed and o.shipments[0].status == "in_transit"]
    assert delayed, "an in-transit order past its ETA"

    assert any(o.is_exception for o in orders)
    assert Order.objects.filter(trackings__is_return=True, status="delivered").exists()

    pickup = Tracking.objects.get(status="available_for_pickup")
    assert pickup.pickup_location_name and pickup.pickup_location_address
    assert {"day": "mon", "open": "08:00", "close": "19:00"} in pickup.pickup_opening_hours


def test_dates_are_relative_to_now():
    seed_demo()
    out_for_delivery = Checkpoint.objects.filter(
        status="out_for_delivery", tracking__status="out_for_delivery"
    )
    assert out_for_delivery.exists()
    today = timezone.localdate()
    assert all(timezone.localdate(c.occurred_at) == today for c in out_for_delivery)
    assert not Checkpoint.objects.filter(occurred_at__gt=timezone.now()).exists()


def test_tracking_numbers_are_valid_for_their_carrier():
    seed_demo()
    for tracking in Tracking.objects.all():
        best = detect_carriers(tracking.tracking_number)[0]
        assert (best.carrier.code, best.check_digit_valid) == (tracking.carrier, True), tracking


def test_seeding_twice_changes_nothing():
    first = seed_demo()
    before = snapshot()
    second = seed_demo()
    assert snapshot() == before
    assert all(r.created for r in first)
    assert not any(r.created for r in second)
    assert [(r.order_number, r.status) for r in first] == [(r.order_number, r.status) for r in second]


def test_seed_demo_command_prints_how_to_look_each_order_up():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    output = out.getvalue()
    assert "Created 20 demo orders" in output
    for order in Order.objects.all():
        line = next(line for line in output.splitlines() if line.startswith(order.order_number + " "))
        assert order.recipient_email in line
        assert order.postal_code in line
        for tracking in order.trackings.all():
            assert tracking.tracking_number in line
        assert f"  {order.order_number:<8} {order.status_url()}" in output.splitlines()

    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "nothing was changed" in again.getvalue()


@pytest.fixture
def no_server(monkeypatch):
    """No development server and no sandbox carriers (they would outlive the test)."""
    calls = []
    monkeypatch.setattr(runserver.Command, "run", lambda self, **options: calls.append(options))
    monkeypatch.setattr(demo_carriers, "start", lambda: calls.append("carriers") or "http://127.0.0.1:9")
    monkeypatch.setattr(
        demo_notifications, "start", lambda: {"mail": "demo-mail", "receiver": "http://127.0.0.1:9/webhooks"}
    )
    return calls


def test_demo_command_prepares_everything_then_runs_the_server(settings, no_server):
    settings.DEBUG = True
    out = StringIO()
    call_command("demo", "--addrport", "127.0.0.1:8123", "--noreload", stdout=out)
    output = out.getvalue()

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    assert "DEMO ONLY" in output
    assert "http://127.0.0.1:8123/" in output
    assert "http://127.0.0.1:8123/admin/" in output
    assert "NW-1004" in output
    assert "http://127.0.0.1:8123/track/?account=" in output  # signed links point at this server
    assert "http://127.0.0.1:8123/v4/track/orders/info-widget/?account=" in output
    assert "Sandbox carriers at http://127.0.0.1:9" in output
    assert "demo receiver at http://127.0.0.1:9/webhooks" in output
    assert no_server[0] == "carriers"
    assert len(no_server) == 2
    assert (no_server[1]["addrport"], no_server[1]["use_reloader"]) == ("127.0.0.1:8123", False)


def test_demo_command_leaves_an_existing_admin_password_alone(settings, no_server):
    settings.DEBUG = True
    get_user_model().objects.create_superuser("admin", "ops@example.com", "a-real-password")
    out = StringIO()
    call_command("demo", "--noreload", stdout=out)
    assert get_user_model().objects.get(username="admin").check_password("a-real-password")
    assert "password was left unchanged" in out.getvalue()


def test_demo_command_refuses_without_debug(settings, no_server):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo", "--noreload", stdout=StringIO())
    assert not get_user_model().objects.exists()
    assert not no_server


def test_printed_signed_links_open_the_full_page(client):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    link = next(line.split()[1] for line in out.getvalue().splitlines() if line.startswith("  NW-1001 "))
    response = client.get(link.removeprefix(settings.SITE_URL))
    assert response.status_code == 200
    assert Order.objects.get(order_number="NW-1001").recipient_name in response.text


def test_live_demo_parcels_move_when_the_sandbox_carriers_scan_them(settings):
    """The demo's carriers on localhost, through the real adapters: each live order gets its scans."""
    from orders.models import Tracking

    call_command("seed_demo", stdout=StringIO())
    live = Tracking.objects.filter(order__order_number__in=["NW-1101", "NW-1102", "NW-1103", "NW-1104"])
    assert sorted(live.values_list("carrier", flat=True)) == ["dhl", "fedex", "ups", "usps"]
    scripted = Tracking.objects.exclude(pk__in=live)
    assert not scripted.filter(next_poll_at__isnull=False).exists()  # demo history is not polled

    url = demo_carriers.start(poll_every=3600)  # settings changed here are undone by the fixture
    assert url.startswith("http://127.0.0.1:")
    assert demo_carriers.poll_cycle() == 4
    for tracking in live:
        assert tracking.checkpoints.count() == 1  # label created, the first scan
        assert tracking.status == "info_received"
