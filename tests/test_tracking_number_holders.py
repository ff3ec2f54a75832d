"""One tracking number in several orders (issue 9): which order a lookup by number opens, across
orders, accounts and time, and that cached answers follow the same rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone

from orders import apikeys, lifecycle
from orders.lookup import Access, resolve
from orders.models import Tracking

from .conftest import make_account, make_order, ship

pytestmark = pytest.mark.django_db

NUMBER = "1Z999AA10123456784"
INFO = "/v4/track/orders/info/"


def anon():
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    request.user = AnonymousUser()
    return request


def created_days_ago(tracking: Tracking, days: float) -> None:
    Tracking.objects.filter(pk=tracking.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.fixture
def two_holders(account):
    """The same number in an older and a newer order of one account, with different recipients."""
    older = make_order(account, order_number="A-1", recipient_email="old@example.com", postal_code="10001")
    created_days_ago(ship(older, NUMBER), 20)
    newer = make_order(account, order_number="A-2", recipient_email="new@example.com", postal_code="78701")
    ship(newer, NUMBER)
    return older, newer


def test_the_newest_holder_in_the_account_answers(two_holders):
    _older, newer = two_holders
    result = resolve({"tracking_number": NUMBER}, request=anon())
    assert (result.access, result.order) == (Access.LIMITED, newer)


@pytest.mark.parametrize(
    "factor",
    [{"recipient_email": "old@example.com"}, {"recipient_postal_code": "10001"}, {"postal_code": "10001"}],
)
def test_a_factor_matching_an_older_holder_opens_that_one(two_holders, factor):
    older, _newer = two_holders
    result = resolve({"tracking_number": NUMBER, **factor}, request=anon())
    assert (result.access, result.order) == (Access.FULL, older)


def test_a_signed_link_of_an_older_holder_opens_that_one(two_holders):
    older, _newer = two_holders
    from orders import signing

    tracking = older.trackings.get()
    params = {"tracking_number": NUMBER, "courier": "ups", "s": signing.tracking_signature(tracking)}
    result = resolve(params, request=anon())
    assert (result.access, result.order, result.verified_by) == (Access.FULL, older, "signature")


def test_a_factor_matching_no_holder_falls_back_to_the_newest_limited(two_holders):
    _older, newer = two_holders
    result = resolve({"tracking_number": NUMBER, "recipient_email": "x@example.com"}, request=anon())
    assert (result.access, result.order) == (Access.LIMITED, newer)


def test_trackings_older_than_180_days_are_not_considered(account):
    order = make_order(account, order_number="OLD")
    tracking = ship(order, NUMBER)
    created_days_ago(tracking, 181)
    assert resolve({"tracking_number": NUMBER}, request=anon()).access == Access.NONE
    created_days_ago(tracking, 179)
    assert resolve({"tracking_number": NUMBER}, request=anon()).order == order


def test_an_old_holder_never_shadows_a_recent_one_of_another_account(account):
    other = make_account(name="Other", slug="other")
    stale = make_order(other, order_number="B-1")
    created_days_ago(ship(stale, NUMBER), 400)
    current = make_order(account, order_number="A-1")
    ship(current, NUMBER)
    result = resolve({"tracking_number": NUMBER}, request=anon())
    assert (result.access, result.order) == (Access.LIMITED, current)


@pytest.fixture
def two_accounts(account):
    other = make_account(name="Other Shop", slug="other")
    mine = make_order(account, order_number="A-1", recipient_email="a@example.com")
    ship(mine, NUMBER)
    theirs = make_order(other, order_number="B-1", recipient_email="b@example.com")
    ship(theirs, NUMBER)
    return mine, theirs


@pytest.mark.parametrize(
    "extra",
    [{}, {"recipient_email": "a@example.com"}, {"recipient_email": "b@example.com"}, {"courier": "ups"}],
)
def test_holders_in_two_accounts_without_account_open_nothing(two_accounts, extra):
    result = resolve({"tracking_number": NUMBER, **extra}, request=anon())
    assert (result.access, result.order, result.trackings) == (Access.NONE, None, [])


def test_naming_the_account_opens_its_holder_only(two_accounts):
    mine, theirs = two_accounts
    assert resolve({"tracking_number": NUMBER, "account": "acme"}, request=anon()).order == mine
    result = resolve({"tracking_number": NUMBER, "account": "other", "recipient_email": "b@example.com"})
    assert (result.access, result.order) == (Access.FULL, theirs)
    # The other account's shopper's email does not open this account's holder.
    result = resolve({"tracking_number": NUMBER, "account": "acme", "recipient_email": "b@example.com"})
    assert (result.access, result.order) == (Access.LIMITED, mine)


def test_an_api_key_sees_its_own_accounts_holder(client, two_accounts):
    mine, _theirs = two_accounts
    key = apikeys.create_key(account=mine.account, name="shop").secret
    info = client.get(INFO, {"tracking_number": NUMBER}, headers={"X-API-Key": key}).json()
    assert (info["access"], info["order_number"]) == ("full", "A-1")


def test_info_api_answers_404_for_a_number_held_in_two_accounts(client, two_accounts):
    assert client.get(INFO, {"tracking_number": NUMBER}).status_code == 404


def test_a_new_holder_is_not_hidden_by_a_cached_answer(client, account, django_capture_on_commit_callbacks):
    key = key_for(account)
    older = make_order(account, order_number="A-1")
    with django_capture_on_commit_callbacks(execute=True):
        ship(older, NUMBER)
    first = client.get(INFO, {"tracking_number": NUMBER}, headers={"X-API-Key": key})
    assert first.json()["order_number"] == "A-1"
    assert client.get(INFO, {"tracking_number": NUMBER}, headers={"X-API-Key": key}).content == first.content
    newer = make_order(account, order_number="A-2")
    with django_capture_on_commit_callbacks(execute=True):
        ship(newer, NUMBER)
    again = client.get(INFO, {"tracking_number": NUMBER}, headers={"X-API-Key": key})
    assert again.json()["order_number"] == "A-2"


def test_a_holder_in_another_account_retires_the_cached_limited_answer(
    client, account, django_capture_on_commit_callbacks
):
    mine = make_order(account, order_number="A-1")
    with django_capture_on_commit_callbacks(execute=True):
        ship(mine, NUMBER)
    assert client.get(INFO, {"tracking_number": NUMBER}).status_code == 200
    theirs = make_order(make_account(name="Other", slug="other"), order_number="B-1")
    with django_capture_on_commit_callbacks(execute=True):
        ship(theirs, NUMBER)
    assert client.get(INFO, {"tracking_number": NUMBER}).status_code == 404


def test_the_widget_follows_the_new_holder_too(client, account, django_capture_on_commit_callbacks):
    mine = make_order(account, order_number="A-1")
    with django_capture_on_commit_callbacks(execute=True):
        ship(mine, NUMBER)
    first = client.get("/v4/track/orders/info-widget/", {"tracking_number": NUMBER})
    assert first.status_code == 200
    theirs = make_order(make_account(name="Other", slug="other"), order_number="B-1")
    with django_capture_on_commit_callbacks(execute=True):
        ship(theirs, NUMBER)
    again = client.get("/v4/track/orders/info-widget/", {"tracking_number": NUMBER})
    assert again.content != first.content


def key_for(account) -> str:
    return apikeys.create_key(account=account, name=f"k{timezone.now().timestamp()}").secret


# --- adding a number another open order already holds ------------------------------------------


def test_adding_a_number_held_by_another_open_order_succeeds_and_is_flagged(client, account):
    key = key_for(account)
    first = make_order(account, order_number="A-1")
    ship(first, NUMBER)
    second = make_order(account, order_number="A-2")
    response = client.post(
        f"/v1/orders/{second.public_id}/trackings",
        {"trackingNumber": NUMBER},
        content_type="application/json",
        headers={"X-API-Key": key},
    )
    assert response.status_code == 201
    assert response.json()["trackings"][0]["alsoInOpenOrders"] == ["A-1"]
    again = client.get(f"/v1/orders/{first.public_id}", headers={"X-API-Key": key}).json()
    assert again["trackings"][0]["alsoInOpenOrders"] == ["A-2"]


def test_closed_orders_and_other_accounts_are_not_flagged(client, account):
    key = key_for(account)
    delivered = make_order(account, order_number="A-1")
    ship(delivered, NUMBER)
    lifecycle.transition_order(delivered, "delivered")
    ship(make_order(make_account(name="Other", slug="other"), order_number="B-1"), NUMBER)
    fresh = make_order(account, order_number="A-2")
    response = client.post(
        f"/v1/orders/{fresh.public_id}/trackings",
        {"trackingNumber": NUMBER},
        content_type="application/json",
        headers={"X-API-Key": key},
    )
    assert (response.status_code, response.json()["trackings"][0]["alsoInOpenOrders"]) == (201, [])


def test_the_admin_flags_a_shared_number(admin_client, account):
    first = make_order(account, order_number="A-1")
    ship(first, NUMBER)
    second = make_order(account, order_number="A-2")
    tracking = ship(second, NUMBER)
    page = admin_client.get(f"/admin/orders/tracking/{tracking.pk}/change/").content.decode()
    assert "Also in open order(s): A-1" in page
    order_page = admin_client.get(f"/admin/orders/order/{first.pk}/change/").content.decode()
    assert "Also in open order(s): A-2" in order_page


def test_the_admin_warns_when_adding_a_shared_number(admin_client, account):
    ship(make_order(account, order_number="A-1"), NUMBER)
    second = make_order(account, order_number="A-2")
    response = admin_client.post(
        "/admin/orders/tracking/add/",
        {
            "order": second.pk,
            "carrier": "ups",
            "tracking_number": NUMBER,
            "pickup_opening_hours": "[]",
            "checkpoints-TOTAL_FORMS": "0",
            "checkpoints-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "is also in open order(s) A-1" in response.content.decode()
    assert second.trackings.filter(tracking_number=NUMBER).exists()
