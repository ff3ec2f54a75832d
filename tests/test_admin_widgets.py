"""The admin's order and shipment pages draw their form fields in Python (orders/admin/widgets.py):
every page looks exactly as Django's templates draw it, including fields with odd values and
forms with errors."""

import re

import pytest
from django.urls import reverse

from orders.admin import widgets
from orders.models import LineItem

from .conftest import days_ago, scan, ship

pytestmark = pytest.mark.django_db

# A new CSRF token each request; an "add" form's new public id and its default time (now).
VARYING = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|(ord|trk)_[0-9a-f]{20}|value="[\d:]{8}"')


@pytest.fixture
def busy_order(order):
    order.notes = 'Leave at the "back" door <b>& ring</b>'
    order.recipient_name = "Zoë <O'Brien>"
    order.save()
    tracking = ship(order, "1Z999AA10123456784")
    scan(tracking, "in_transit", days_ago(1), message="<script>alert(1)</script>")
    ship(order, "TBA123456789000", carrier="amazon", is_return=True)
    LineItem.objects.create(
        order=order, tracking=tracking, name="Mug & <Cup>", sku="M-1", quantity=2, unit_price="9.50"
    )
    return order


def both_ways(client, monkeypatch, method: str, url: str, data=None) -> tuple[str, str, set[str]]:
    """The page drawn with the Python templates, then with Django's alone; and which templates
    Python drew."""
    written = []

    def counted(name, write):
        return lambda context: written.append(name) or write(context)

    pages = []
    for fast in ({name: counted(name, write) for name, write in widgets.FAST.items()}, {}):
        monkeypatch.setattr(widgets, "FAST", fast)
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code == 200
        pages.append(VARYING.sub("", response.content.decode()))
    assert len(written) > 20  # the Python templates did draw the fields
    return pages[0], pages[1], set(written)


def test_the_order_page_is_drawn_as_djangos_templates_draw_it(admin_client, busy_order, monkeypatch):
    url = reverse("admin:orders_order_change", args=[busy_order.pk])
    ours, djangos, written = both_ways(admin_client, monkeypatch, "get", url)
    assert ours == djangos
    assert "Zoë &lt;O&#x27;Brien&gt;" in ours and "Mug &amp; &lt;Cup&gt;" in ours
    drawn = {
        f"django/forms/widgets/{name}.html" for name in ("text", "hidden", "number", "select", "textarea")
    }
    drawn |= {"django/forms/label.html", "admin/widgets/date.html", "admin/widgets/split_datetime.html"}
    assert drawn <= written  # each of these drawn in Python on this page


@pytest.mark.parametrize("page", ["admin:orders_order_add", "admin:orders_tracking_add"])
def test_the_add_pages_are_drawn_as_djangos_templates_draw_them(admin_client, monkeypatch, page):
    ours, djangos, _ = both_ways(admin_client, monkeypatch, "get", reverse(page))
    assert ours == djangos


def test_a_shipment_page_is_drawn_as_djangos_templates_draw_it(admin_client, busy_order, monkeypatch):
    url = reverse("admin:orders_tracking_change", args=[busy_order.trackings.first().pk])
    ours, djangos, _ = both_ways(admin_client, monkeypatch, "get", url)
    assert ours == djangos


def test_a_form_with_errors_is_drawn_as_djangos_templates_draw_it(admin_client, account, monkeypatch):
    data = {"account": account.pk, "order_number": "", "status": "nonsense", "recipient_email": "not-email"}
    ours, djangos, _ = both_ways(admin_client, monkeypatch, "post", reverse("admin:orders_order_add"), data)
    assert ours == djangos
    assert "errorlist" in ours
