"""A pickup point is chosen near the shopper: below full access it is never shown, on the page,
its polling partial, the info API or the widget."""

import pytest

from orders.lookup import resolve
from orders.models import Tracking
from orders.widget import state as widget_state

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

PLACE, ADDRESS = "Pickup Point Near Jane", "42 Jane Lane, Austin"


@pytest.fixture
def at_pickup(account):
    order = make_order(account, order_number="1001")
    tracking = ship(order, "1Z999AA10123456784")
    Tracking.objects.filter(pk=tracking.pk).update(
        pickup_location_name=PLACE,
        pickup_location_address=ADDRESS,
        pickup_opening_hours=[{"day": "mon", "open": "09:00", "close": "18:00"}],
    )
    scan(Tracking.objects.get(pk=tracking.pk), "available_for_pickup", days_ago(0.2))
    return order


@pytest.mark.parametrize(
    "path",
    [
        "/track/?tracking_number=1Z999AA10123456784",
        "/track/status/?tracking_number=1Z999AA10123456784",
        "/v4/track/orders/info/?tracking_number=1Z999AA10123456784",
    ],
)
def test_tracking_number_alone_never_shows_the_pickup_point(client, at_pickup, path):
    response = client.get(path)
    assert response.status_code == 200
    assert PLACE not in response.content.decode() and "Jane Lane" not in response.content.decode()
    assert "Ready for pickup" in response.content.decode()


def test_full_access_shows_the_pickup_point(client, at_pickup):
    page = client.get(at_pickup.status_url(absolute=False)).content.decode()
    assert PLACE in page and ADDRESS in page
    info = client.get(at_pickup.status_url(kind="info", absolute=False)).json()
    assert info["status_text"] == f"Ready for pickup at {PLACE}"


def test_the_widget_never_names_the_pickup_point(at_pickup):
    result = resolve(at_pickup.link_params())
    state = widget_state.build_state(result, lang="en")
    assert PLACE not in repr(state) and "Jane Lane" not in repr(state)
