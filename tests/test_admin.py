"""Staff admin: finding orders, filtering them, reading timelines, and changing state only the
way the lifecycle allows."""

import re
import uuid
from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.models import LineItem, Order, Tracking

from .conftest import days_ago, make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:orders_order_changelist")
EXTERNAL_ID = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")


def listed(client, **params) -> set[str]:
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return {order.order_number for order in response.context["cl"].result_list}


def form_data(response) -> dict:
    """POST data equal to what the rendered change form (and its inlines) would submit."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            widget = field.field.widget
            widget = getattr(widget, "widget", widget)  # unwrap RelatedFieldWidgetWrapper
            if isinstance(widget, MultiWidget):  # split date/time
                for index, part in enumerate(widget.decompress(value)):
                    if part is not None:
                        data[f"{field.html_name}_{index}"] = str(part)
            elif isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
            elif value is not None:
                data[field.html_name] = value
    return data


@pytest.fixture
def shop(account):
    """Two look-alike orders, so every search has something it must NOT find."""
    olivia = make_order(
        account,
        order_number="NW-2001",
        recipient_email="Olivia.Bennett@example.com",
        customer_number="C-20481",
        external_order_id=EXTERNAL_ID,
    )
    ship(olivia, "1Z999AA10123456784")
    ship(olivia, "TBA123456789000")
    marcus = make_order(
        account,
        order_number="NW-2002",
        recipient_email="marcus.j@example.org",
        customer_number="C-30117",
    )
    ship(marcus, "123456789012", carrier="fedex")
    return olivia, marcus


@pytest.mark.parametrize(
    "term",
    [
        "NW-2001",
        "olivia.BENNETT@EXAMPLE.COM",
        "1z999aa1 0123456784",
        "1Z 999 AA1-0123 4567 84",
        str(EXTERNAL_ID),
        str(EXTERNAL_ID).upper(),
        "C-20481",
    ],
)
def test_search_finds_the_order_by_each_identifier(admin_client, shop, term):
    assert listed(admin_client, q=term) == {"NW-2001"}


def test_search_finds_by_public_id(admin_client, shop):
    olivia, _ = shop
    assert listed(admin_client, q=olivia.public_id) == {"NW-2001"}


def test_search_lists_an_order_once_however_many_trackings_match(admin_client, shop):
    response = admin_client.get(CHANGELIST, {"q": "example"})
    numbers = [order.order_number for order in response.context["cl"].result_list]
    assert sorted(numbers) == ["NW-2001", "NW-2002"]
    assert response.context["cl"].result_count == 2


def test_search_for_an_unknown_number_finds_nothing(admin_client, shop):
    assert listed(admin_client, q="1Z999AA10000000000") == set()


def test_filters(admin_client, account):
    today = timezone.localdate()
    pending = make_order(account, order_number="P-1", estimated_delivery_date=today + timedelta(days=3))
    overdue_unshipped = make_order(account, order_number="P-2", estimated_delivery_date=today - timedelta(1))
    late = make_order(account, order_number="S-1")
    scan(ship(late, estimated_delivery_date=today - timedelta(days=2)), "in_transit", days_ago(3))
    failed = make_order(account, order_number="S-2")
    scan(ship(failed, "TBA123456789000"), "failed_attempt", days_ago(1))
    delivered = make_order(account, order_number="D-1", estimated_delivery_date=today - timedelta(days=5))
    scan(ship(delivered, "123456789012", carrier="fedex"), "delivered", days_ago(1))
    returned = make_order(account, order_number="D-2")
    scan(ship(returned, "123456789012", carrier="fedex"), "delivered", days_ago(4))
    scan(ship(returned, "TBA123456789000", is_return=True), "exception", days_ago(1))
    assert {o.order_number for o in (pending, overdue_unshipped, late, failed, delivered, returned)}

    assert listed(admin_client, status__exact="shipped") == {"S-1", "S-2"}
    assert listed(admin_client, carrier="fedex") == {"D-1", "D-2"}
    assert listed(admin_client, carrier="amazon") == {"S-2", "D-2"}
    assert listed(admin_client, delayed="yes") == {"P-2", "S-1"}
    assert listed(admin_client, delayed="no") == {"P-1", "S-2", "D-1", "D-2"}
    # A return in trouble is not the shopper's exception (same rule as Order.is_exception).
    assert listed(admin_client, exception="yes") == {"S-2"}


def test_list_flags_agree_with_the_model(admin_client, account):
    late = make_order(account)
    scan(ship(late, estimated_delivery_date=timezone.localdate() - timedelta(days=2)), "exception")
    response = admin_client.get(CHANGELIST)
    content = response.content.decode()
    assert "UPS (1)" in content
    assert content.count('alt="True"') == 2  # delayed and exception icons of the one row


def test_order_page_shows_each_timeline_escaped(admin_client, order):
    ups = ship(order, "1Z999AA10123456784")
    scan(ups, "in_transit", days_ago(2), message="Departed UPS facility", location="Louisville, KY")
    scan(ups, "exception", days_ago(1), message="<script>x</script>", is_hidden=True)
    amazon = ship(order, "TBA123456789000")
    scan(amazon, "out_for_delivery", days_ago(0.1), message="Out for delivery", location="Seattle, WA")

    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Departed UPS facility" in content
    assert "Louisville, KY, US" in content
    assert "Out for delivery" in content
    assert "hidden from shoppers" in content
    assert "&lt;script&gt;x&lt;/script&gt;" in content
    assert "<script>x</script>" not in content
    assert (
        '<a href="https://www.ups.com/track?tracknum=1Z999AA10123456784" target="_blank" '
        'rel="noreferrer noopener">1Z999AA10123456784</a>'
    ) in content
    # newest first
    assert content.index("&lt;script&gt;") < content.index("Departed UPS facility")
    # each tracking links to its own admin page
    assert reverse("admin:orders_tracking_change", args=[ups.pk]) in content


def test_revoke_action_bumps_the_link_version(admin_client, account):
    orders = [make_order(account), make_order(account)]
    response = admin_client.post(
        CHANGELIST,
        {"action": "revoke_signed_links", "_selected_action": [o.pk for o in orders]},
        follow=True,
    )
    assert [Order.objects.get(pk=o.pk).link_version for o in orders] == [2, 2]
    assert "Revoked the signed links of 2 orders" in response.content.decode()


def test_forbidden_bulk_move_is_reported_per_order(admin_client, account):
    shipped = make_order(account, order_number="S-9")
    ship(shipped)
    pending = make_order(account, order_number="P-9")
    response = admin_client.post(
        CHANGELIST,
        {"action": "mark_cancelled", "_selected_action": [shipped.pk, pending.pk]},
        follow=True,
    )
    sent = [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]
    assert ("error", "S-9: An order that is shipped can no longer be cancelled.") in sent
    assert ("success", "1 order is now cancelled.") in sent
    assert Order.objects.get(pk=shipped.pk).status == "shipped"
    assert Order.objects.get(pk=pending.pk).status == "cancelled"


def test_forbidden_status_change_in_the_form_is_an_error_and_writes_nothing(admin_client, order):
    ship(order)
    order.refresh_from_db()
    url = reverse("admin:orders_order_change", args=[order.pk])
    data = form_data(admin_client.get(url))
    data.update(status="cancelled", recipient_name="Someone Else")

    response = admin_client.post(url, data)

    assert response.status_code == 200  # the form again, not a redirect
    assert "can no longer be cancelled" in response.content.decode()
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.recipient_name, stored.state_version) == (
        "shipped",
        order.recipient_name,
        order.state_version,
    )


def test_allowed_status_change_in_the_form_goes_through_the_lifecycle(admin_client, order):
    url = reverse("admin:orders_order_change", args=[order.pk])
    data = form_data(admin_client.get(url))
    data.update(status="processing", city="Round Rock")

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.city) == ("processing", "Round Rock")
    assert stored.state_version == order.state_version + 2  # details, then the status move


def test_new_tracking_in_the_order_form_is_attached_through_the_lifecycle(admin_client, order):
    url = reverse("admin:orders_order_change", args=[order.pk])
    data = form_data(admin_client.get(url))
    data.update(
        {
            "trackings-TOTAL_FORMS": "1",
            "trackings-0-tracking_number": "1z999aa1 0123456784",
            "trackings-0-carrier": "",
        }
    )
    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    tracking = Tracking.objects.get(order=order)
    assert (tracking.carrier, tracking.tracking_number) == ("ups", "1Z999AA10123456784")
    assert Order.objects.get(pk=order.pk).status == "shipped"


def test_changelist_query_count_does_not_grow_with_orders(admin_client, django_assert_max_num_queries):
    account = make_account()
    other = make_account(name="Other", slug="other")

    def add_orders(count):
        for index in range(count):
            order = make_order(account if index % 2 else other)
            scan(ship(order, "1Z999AA10123456784"), "in_transit", days_ago(1))
            ship(order, "TBA123456789000", is_return=index % 3 == 0)

    add_orders(3)
    with django_assert_max_num_queries(9) as few:
        assert admin_client.get(CHANGELIST).status_code == 200
    add_orders(27)
    with django_assert_max_num_queries(9) as many:
        response = admin_client.get(CHANGELIST)
    assert response.context["cl"].result_count == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_adding_a_checkpoint_in_the_tracking_admin_updates_the_tracking(admin_client, order):
    tracking = ship(order)
    scan(tracking, "in_transit", days_ago(1))
    url = reverse("admin:orders_tracking_change", args=[tracking.pk])
    data = form_data(admin_client.get(url))
    index = int(data["checkpoints-INITIAL_FORMS"])
    now = timezone.localtime()
    data.update(
        {
            f"checkpoints-{index}-occurred_at_0": now.date().isoformat(),
            f"checkpoints-{index}-occurred_at_1": now.strftime("%H:%M:%S"),
            f"checkpoints-{index}-status": "delivered",
            f"checkpoints-{index}-message": "Delivered, front door",
            f"checkpoints-{index}-location": "Austin, TX",
        }
    )
    response = admin_client.post(url, data)

    assert response.status_code == 302
    tracking.refresh_from_db()
    assert (tracking.status, tracking.step) == ("delivered", 5)
    assert tracking.checkpoints.get(status="delivered").status_code == "delivered"
    assert Order.objects.get(pk=order.pk).status == "delivered"


def test_deleting_a_checkpoint_in_the_tracking_admin_recomputes_the_status(admin_client, order):
    tracking = ship(order)
    scan(tracking, "in_transit", days_ago(2))
    wrong = scan(tracking, "exception", days_ago(1))
    url = reverse("admin:orders_tracking_change", args=[tracking.pk])
    data = form_data(admin_client.get(url))
    index = next(i for i in range(2) if data[f"checkpoints-{i}-id"] == wrong.pk)
    data[f"checkpoints-{index}-DELETE"] = "on"

    assert admin_client.post(url, data).status_code == 302
    tracking.refresh_from_db()
    assert tracking.status == "in_transit"


def test_tracking_search_normalises_the_number(admin_client, shop):
    response = admin_client.get(reverse("admin:orders_tracking_changelist"), {"q": "tba 1234 5678 9000"})
    assert [t.tracking_number for t in response.context["cl"].result_list] == ["TBA123456789000"]


def test_rotating_the_webhook_secret(admin_client, account):
    before = account.webhook_secret
    admin_client.post(
        reverse("admin:orders_account_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [account.pk]},
    )
    account.refresh_from_db()
    assert account.webhook_secret != before
    assert account.webhook_secret.startswith("whsec_")


@pytest.mark.parametrize(
    "name",
    ["account", "tracking", "apikey", "webhookevent", "idempotencyrecord"],
)
def test_other_admin_pages_render(admin_client, shop, name):
    assert admin_client.get(reverse(f"admin:orders_{name}_changelist")).status_code == 200


def test_deleting_a_mistyped_shipment_resyncs_the_order(admin_client, order):
    scan(ship(order, "1Z999AA10123456784"), "delivered", days_ago(1))
    typo = ship(order, "TBA123456789001")
    version = Order.objects.get(pk=order.pk).state_version
    url = reverse("admin:orders_tracking_delete", args=[typo.pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    stored = Order.objects.get(pk=order.pk)
    assert stored.status == "delivered"  # the one real shipment was delivered all along
    assert stored.state_version > version


@pytest.mark.parametrize(
    "hours",
    [
        "5",
        "true",
        '[{"day": "someday", "open": "09:00", "close": "18:00"}]',
        '[{"day": "mon", "open": "9am"}]',
        '[{"day": "mon", "open": "9am", "close": "18:00"}]',
    ],
)
def test_malformed_opening_hours_are_a_form_error_and_nothing_is_saved(admin_client, order, hours):
    tracking = ship(order)
    url = reverse("admin:orders_tracking_change", args=[tracking.pk])
    data = form_data(admin_client.get(url))
    data.update({"pickup_location_name": "Corner Shop", "pickup_opening_hours": hours})
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert "Enter a list like" in html or "Opening times look like 09:00" in html
    tracking.refresh_from_db()
    assert (tracking.pickup_location_name, tracking.pickup_opening_hours) == ("", [])


def test_staff_set_the_last_day_to_collect_a_held_parcel(admin_client, order):
    tracking = ship(order)
    url = reverse("admin:orders_tracking_change", args=[tracking.pk])
    version = Order.objects.get(pk=order.pk).state_version
    data = form_data(admin_client.get(url))

    assert admin_client.post(url, data | {"pickup_deadline": "not a date"}).status_code == 200  # the error
    tracking.refresh_from_db()
    assert tracking.pickup_deadline is None
    assert admin_client.post(url, data | {"pickup_deadline": "2031-05-16"}).status_code == 302

    tracking.refresh_from_db()
    assert tracking.pickup_deadline == date(2031, 5, 16)
    assert Order.objects.get(pk=order.pk).state_version > version  # cached answers retire


def test_a_line_items_shipment_is_chosen_among_this_orders_shipments(admin_client, account):
    order = make_order(account)
    ups, amazon = ship(order, "1Z999AA10123456784"), ship(order, "TBA123456789000", carrier="amazon")
    other = ship(make_order(account), "1Z999AA10123456799")
    LineItem.objects.filter(order=order).update(tracking=amazon)
    url = reverse("admin:orders_order_change", args=[order.pk])
    page = admin_client.get(url)
    select = re.search(r'<select name="items-0-tracking".*?</select>', page.content.decode(), re.S).group()
    options = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', select)
    assert options == [
        ("", "", "---------"),
        (str(ups.pk), "", "UPS 1Z999AA10123456784"),
        (str(amazon.pk), " selected", "Amazon Logistics TBA123456789000"),
    ]
    data = form_data(page)
    response = admin_client.post(url, data | {"items-0-tracking": str(other.pk)})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert LineItem.objects.get(order=order).tracking_id == amazon.pk


def test_the_order_page_reads_the_shipment_choices_once_however_many_items(admin_client, account):
    def queries_for(items: int) -> int:
        order = make_order(account)
        ship(order, "1Z999AA10123456784")
        for n in range(items - 1):
            LineItem.objects.create(order=order, name=f"Sock {n}", sku=f"S-{n}", quantity=1, unit_price="5")
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200
        return len(captured.captured_queries)

    assert queries_for(1) == queries_for(5)


def test_search_by_postal_code_and_external_reference(admin_client, account):
    make_order(account, order_number="NW-3001", postal_code="SW1A 1AA", external_reference="RX-77")
    make_order(account, order_number="NW-3002", postal_code="78701")
    assert listed(admin_client, q="sw1a 1aa") == {"NW-3001"}
    assert listed(admin_client, q="RX-77") == {"NW-3001"}
    assert listed(admin_client, q="78701") == {"NW-3002"}


def test_an_exact_identifier_is_listed_alone_else_substrings(admin_client, account):
    make_order(account, order_number="NW-2001")
    make_order(account, order_number="NW-20010")
    assert listed(admin_client, q="NW-2001") == {"NW-2001"}
    assert listed(admin_client, q="nw-200") == {"NW-2001", "NW-20010"}
    assert listed(admin_client, q="W2") == set()  # too short for a substring search


def test_search_keeps_the_list_filters(admin_client, shop):
    assert listed(admin_client, q="NW-2001", status__exact="shipped") == {"NW-2001"}
    assert listed(admin_client, q="NW-2001", status__exact="delivered") == set()


def test_a_long_list_says_more_than_the_counted_rows(admin_client, account, monkeypatch):
    from orders.admin.changelists import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    for number in ("A-1", "A-2", "A-3"):
        make_order(account, order_number=number)
    response = admin_client.get(CHANGELIST)
    assert "more than 2 orders" in response.content.decode()
    assert {o.order_number for o in response.context["cl"].result_list} == {"A-1", "A-2", "A-3"}
    response = admin_client.get(CHANGELIST, {"q": "A-2"})
    assert "1 order" in response.content.decode()


def test_order_list_has_no_date_drill_down(admin_client, order):
    response = admin_client.get(CHANGELIST)
    assert response.context["cl"].date_hierarchy is None
    assert response.context["cl"].full_result_count is None  # no count of the whole table


def test_tracking_search_by_order_number(admin_client, shop):
    response = admin_client.get(reverse("admin:orders_tracking_changelist"), {"q": "NW-2002"})
    assert [t.tracking_number for t in response.context["cl"].result_list] == ["123456789012"]


def test_an_order_page_runs_as_many_queries_for_five_shipments_as_for_one(admin_client, account):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(order) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
        assert response.status_code == 200
        return len(captured.captured_queries)

    one, five = make_order(account, order_number="ONE"), make_order(account, order_number="FIVE")
    scan(ship(one, "1Z999AA10123456784"), "in_transit", days_ago(1))
    for n in range(5):
        scan(ship(five, f"12345678901{n}", carrier="fedex"), "in_transit", days_ago(1))
    ship(make_order(account, order_number="OTHER"), "123456789012", carrier="fedex")  # a shared number
    queries(one)  # (the first page also reads the content types, once per process)
    assert queries(five) == queries(one)
    assert (
        "Also in open order(s): OTHER"
        in admin_client.get(reverse("admin:orders_order_change", args=[five.pk])).content.decode()
    )
