"""The order and shipment lists built for a million rows: a list's filter or search runs once,
pages still list every row once and in order, rows look as Django draws them, and the date
filter and case-forgiving identifiers find what staff mean."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.admin.changelists import CappedCountPaginator
from orders.models import Order, Tracking

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:orders_order_changelist")
SHIPMENTS = reverse("admin:orders_tracking_changelist")


def listed(client, url=ORDERS, **params) -> list[str]:
    response = client.get(url, params)
    assert response.status_code == 200
    return [str(row) for row in response.context["cl"].result_list]


def statements(client, url=ORDERS, **params) -> list[str]:
    from django.db import connection

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def five_orders(account):
    """Five orders a day apart, newest last; NW-5 and NW-3 shipped."""
    now = timezone.now()
    orders = [
        make_order(account, order_number=f"NW-{n}", order_date=now - timedelta(days=5 - n))
        for n in range(1, 6)
    ]
    ship(orders[4], "1Z999AA10123456784")
    ship(orders[2], "TBA123456789000")
    return orders


@pytest.fixture
def two_per_page(monkeypatch):
    for model in (Order, Tracking):
        monkeypatch.setattr(admin.site.get_model_admin(model), "list_per_page", 2)


def test_pages_list_every_order_once_newest_first(admin_client, five_orders, two_per_page):
    pages = [listed(admin_client, p=str(page)) for page in (1, 2, 3)]
    assert pages == [["NW-5", "NW-4"], ["NW-3", "NW-2"], ["NW-1"]]
    assert admin_client.get(ORDERS, {"p": "4"}).status_code == 302  # past the end: Django's ?e=1


def test_pages_of_a_filtered_and_sorted_list(admin_client, five_orders, two_per_page):
    assert listed(admin_client, status__exact="shipped") == ["NW-5", "NW-3"]
    assert listed(admin_client, status__exact="pending") == ["NW-4", "NW-2"]
    assert listed(admin_client, status__exact="pending", p="2") == ["NW-1"]
    oldest_first = [listed(admin_client, o="10", p=str(page)) for page in (1, 2, 3)]
    assert oldest_first == [["NW-1", "NW-2"], ["NW-3", "NW-4"], ["NW-5"]]


def test_a_filter_runs_once_per_page_not_again_for_the_rows(admin_client, five_orders):
    late = five_orders[3]
    overdue = timezone.localdate() - timedelta(days=2)
    scan(
        ship(late, "123456789012", carrier="fedex", estimated_delivery_date=overdue),
        "in_transit",
        days_ago(3),
    )
    sql = statements(admin_client, delayed="yes")
    assert sum("COALESCE" in statement for statement in sql) == 1  # the late-shipment subquery
    assert listed(admin_client, delayed="yes") == ["NW-4"]


def test_a_search_looks_the_identifiers_up_once(admin_client, five_orders):
    sql = statements(admin_client, q="NW-3")
    assert sum("LOWER(" in s and '"recipient_email")' in s for s in sql) == 1
    assert listed(admin_client, q="NW-3") == ["NW-3"]


def test_only_indexed_columns_sort_even_when_the_url_asks(admin_client, five_orders):
    response = admin_client.get(ORDERS)
    assert set(response.context["cl"].sortable_by) == {"order_number", "order_date"}
    # ?o=4 asks for the recipient's name (no index: a sort of every order); the list keeps its order.
    assert listed(admin_client, o="4") == ["NW-5", "NW-4", "NW-3", "NW-2", "NW-1"]
    assert listed(admin_client, o="-1") == ["NW-5", "NW-4", "NW-3", "NW-2", "NW-1"]
    assert listed(admin_client, o="1") == ["NW-1", "NW-2", "NW-3", "NW-4", "NW-5"]


def test_each_rows_checkbox_is_the_markup_django_draws(admin_client, account):
    order = make_order(account, order_number="<b>\"&'NW")
    ours = admin.site.get_model_admin(Order).action_checkbox(order)
    djangos = admin.ModelAdmin.action_checkbox(admin.site.get_model_admin(Order), order)
    assert ours == djangos
    assert "&lt;b&gt;&quot;&amp;&#x27;NW" in ours
    response = admin_client.post(
        ORDERS, {"action": "revoke_signed_links", "_selected_action": [order.pk]}, follow=True
    )
    assert "Revoked the signed links of 1 order" in response.content.decode()
    assert Order.objects.get(pk=order.pk).link_version == 2


@pytest.mark.parametrize("term", ["nw-3", "Nw-3", " NW-3 "])
def test_an_order_number_in_any_case_is_an_exact_match(admin_client, five_orders, term):
    make_order(five_orders[0].account, order_number="NW-30")
    assert listed(admin_client, q=term) == ["NW-3"]  # alone, not with NW-30


def test_customer_number_and_reference_in_lower_case(admin_client, account):
    make_order(account, order_number="A-1", customer_number="CUST-77", external_reference="PO-9")
    make_order(account, order_number="A-2", customer_number="CUST-78")
    assert listed(admin_client, q="cust-77") == ["A-1"]
    assert listed(admin_client, q="po-9") == ["A-1"]


def test_a_postal_code_of_more_orders_than_the_count_lists_them_all(admin_client, account, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    for number in ("P-1", "P-2", "P-3"):
        make_order(account, order_number=number, postal_code="10115")
    make_order(account, order_number="P-4", postal_code="10117")
    response = admin_client.get(ORDERS, {"q": "10115"})
    assert "more than 2 orders" in response.content.decode()
    assert sorted(str(o) for o in response.context["cl"].result_list) == ["P-1", "P-2", "P-3"]


def test_the_date_filter_offers_ranges_and_lists_only_orders_inside(admin_client, account):
    now = timezone.now()
    make_order(account, order_number="RECENT", order_date=now - timedelta(hours=1))
    make_order(account, order_number="LAST-MONTH", order_date=now - timedelta(days=40))
    response = admin_client.get(ORDERS)
    specs = response.context["cl"].filter_specs
    dates = next(spec for spec in specs if getattr(spec, "field_path", None) == "order_date")
    choices = {
        str(choice["display"]): choice["query_string"] for choice in dates.choices(response.context["cl"])
    }
    assert {"Any date", "Today", "Past 7 days", "This month", "This year"} <= set(choices)

    week = admin_client.get(ORDERS + choices["Past 7 days"])
    assert [str(o) for o in week.context["cl"].result_list] == ["RECENT"]
    assert week.context["cl"].date_hierarchy is None  # ranges only, no drill-down over every date


def test_the_shipment_list_filters_returns(admin_client, order):
    ship(order, "1Z999AA10123456784")
    ship(order, "TBA123456789000", is_return=True)
    response = admin_client.get(SHIPMENTS, {"is_return__exact": "1"})
    assert [t.tracking_number for t in response.context["cl"].result_list] == ["TBA123456789000"]


def test_shipment_pages_newest_first(admin_client, five_orders, two_per_page):
    for order, number in zip(five_orders, ("123456789012", "123456789013", "123456789014"), strict=False):
        ship(order, number, carrier="fedex")
    numbers = Tracking.objects.order_by("-id").values_list("tracking_number", flat=True)
    pages = [listed_numbers(admin_client, p=str(page)) for page in (1, 2, 3)]
    assert [n for page in pages for n in page] == list(numbers)
    assert [len(page) for page in pages] == [2, 2, 1]


def listed_numbers(client, **params) -> list[str]:
    response = client.get(SHIPMENTS, params)
    return [t.tracking_number for t in response.context["cl"].result_list]


def test_rows_link_to_their_pages(admin_client, five_orders):
    ship(five_orders[0], "123456789012", carrier="fedex")
    orders = admin_client.get(ORDERS).content.decode()
    shipments = admin_client.get(SHIPMENTS).content.decode()
    for order in five_orders:
        assert f'href="{reverse("admin:orders_order_change", args=[order.pk])}' in orders
    for tracking in Tracking.objects.all():
        assert f'href="{reverse("admin:orders_tracking_change", args=[tracking.pk])}' in shipments
        assert f'<a href="{reverse("admin:orders_order_change", args=[tracking.order_id])}">' in shipments


def test_the_carrier_panel_is_counted_once_for_a_few_seconds_and_again_after_a_poll(admin_client, order):
    tracking = ship(order, "1Z999AA10123456784")

    def panel(sql: list[str]) -> list[str]:
        return [statement for statement in sql if "last_polled_at" in statement]

    assert panel(statements(admin_client, SHIPMENTS))
    assert not panel(statements(admin_client, SHIPMENTS, q="NW-1"))  # the next page reuses the count
    admin_client.post(SHIPMENTS, {"action": "poll_now", "_selected_action": [tracking.pk]})
    assert panel(statements(admin_client, SHIPMENTS))


def test_a_list_past_the_count_offers_no_select_all(admin_client, five_orders, two_per_page, monkeypatch):
    assert "Select all 5 orders" in admin_client.get(ORDERS).content.decode()
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    page = admin_client.get(ORDERS).content.decode()
    assert "more than 3 orders" in page
    assert "Select all 4" not in page  # a wrong number, and the action would take every match
    assert 'class="question' not in page  # no select-across link at all
    assert "0 of 2 selected" in page


@pytest.mark.parametrize(
    "params",
    [
        {"p": "abc"},
        {"p": "99999"},
        {"p": "-1"},
        {"o": "x.-y.99"},
        {"order_date__gte": "not a date"},
        {"order_date__lt": "2026-02-31"},
        {"delayed": "maybe"},
        {"carrier": "no-such-carrier"},
        {"account__id__exact": "abc"},
        {"q": "x" * 5000},
        {"q": "%_\\'\""},
        {"q": "1Z" + "9" * 300},
    ],
)
def test_odd_list_parameters_never_fail(admin_client, five_orders, params):
    response = admin_client.get(ORDERS, params)
    assert response.status_code in (200, 302)  # 302: Django's "?e=1" page for a lookup it refuses
    if response.status_code == 302:
        assert admin_client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize("sparse_up_to", [0, 20_000])  # PostgreSQL: walk the list, or read the matches first
def test_a_substring_search_lists_the_same_orders_newest_first_either_way(
    admin_client, five_orders, two_per_page, monkeypatch, sparse_up_to
):
    monkeypatch.setattr("orders.admin.common.SPARSE_MATCHES", sparse_up_to)
    make_order(five_orders[0].account, order_number="XX-1", recipient_email="someone@elsewhere.example")
    pages = [listed(admin_client, q="nw-", p=str(page)) for page in (1, 2, 3)]
    assert pages == [["NW-5", "NW-4"], ["NW-3", "NW-2"], ["NW-1"]]
    assert listed(admin_client, q="elsewhere") == ["XX-1"]
    assert listed(admin_client, q="nw-", status__exact="shipped") == ["NW-5", "NW-3"]
    assert listed(admin_client, q="nw-", o="10") == ["NW-1", "NW-2"]  # oldest first
    assert listed(admin_client, q="nw-", o="-1") == ["NW-5", "NW-4"]  # order number, descending
    autocomplete = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "orders", "model_name": "tracking", "field_name": "order", "term": "nw-"},
    ).json()  # the same search, asked by the shipment form's order field
    assert [r["text"] for r in autocomplete["results"]] == ["NW-5", "NW-4", "NW-3", "NW-2", "NW-1"]
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)  # past the count: still the first rows, in order
    page = admin_client.get(ORDERS, {"q": "nw-"})
    assert "more than 3 orders" in page.content.decode()
    assert [str(o) for o in page.context["cl"].result_list] == ["NW-5", "NW-4"]


@pytest.mark.parametrize(
    "url, params",
    [
        (ORDERS, {}),
        (ORDERS, {"status__exact": "pending", "q": "nw-"}),  # the row links keep the filters
        (SHIPMENTS, {}),
        (SHIPMENTS, {"carrier__exact": "ups"}),
    ],
)
def test_rows_are_the_markup_django_draws(admin_client, five_orders, url, params):
    from django.contrib.admin.templatetags.admin_list import results

    from orders.admin.rows import compiled_rows

    odd = make_order(five_orders[0].account, order_number="NW-<b>&'\"", recipient_name="  ")
    ship(odd, "1Z999AA10123456784", carrier="ups")
    ship(five_orders[1], "123456789012", carrier="fedex", is_return=True)
    response = admin_client.get(url, params)
    cl = response.context["cl"]
    ours = [str(row[0]) for row in compiled_rows(cl)]
    assert ours == ["".join(row) for row in results(cl)]
    page = response.content.decode()
    assert all(row in page for row in ours)
    assert len(ours) == len(cl.result_list) > 0


def test_a_longer_page_runs_no_more_queries(admin_client, five_orders):
    """The rows load only the columns they show: a column reading one that was left out would
    fetch it row by row."""
    late = timezone.localdate() - timedelta(days=2)
    ship(five_orders[0], "123456789012", carrier="fedex", estimated_delivery_date=late)
    ship(five_orders[1], "TBA123456789000", carrier="amazon", is_return=True)
    assert len(listed(admin_client, q="NW-5")) == 1 and len(listed(admin_client)) == 5
    searched = statements(admin_client, q="NW-5")
    assert len(statements(admin_client)) == len(searched) - 1  # the search's own lookup
    admin_client.get(SHIPMENTS)  # the carrier panel, counted once for a few seconds
    shipments = statements(admin_client, SHIPMENTS), statements(admin_client, SHIPMENTS, is_return__exact="1")
    assert len(shipments[0]) == len(shipments[1])
    page = admin_client.get(ORDERS).content.decode()
    assert "FedEx (1)" in page and "1 return" in page
