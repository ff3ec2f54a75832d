"""The shared resolver: every identifier × factor × access level, and its abuse protection."""

import time
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from orders import lifecycle, signing
from orders.lookup import Access, LookupInvalid, resolve
from orders.ratelimits import RateLimited
from orders.signing import LinkState

from .conftest import days_ago, make_account, make_order, scan, ship

pytestmark = pytest.mark.django_db

EXTERNAL_ID = uuid.UUID("6f1c2c3e-4b5a-4d6e-8f70-112233445566")


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001", external_order_id=EXTERNAL_ID, customer_number="C-77")
    tracking = ship(order, "1Z999AA10123456784")
    scan(tracking, "in_transit", days_ago(1))
    return order


def anon(ip="203.0.113.7"):
    request = RequestFactory().get("/", REMOTE_ADDR=ip)
    request.user = AnonymousUser()
    return request


IDENTIFIERS = {
    "order_number": {"order_number": "1001"},
    "external_order_id": {"external_order_id": str(EXTERNAL_ID)},
    "customer_number": {"customer_number": "C-77"},
}
UNKNOWN = {
    "order_number": {"order_number": "9999"},
    "external_order_id": {"external_order_id": str(uuid.uuid4())},
    "customer_number": {"customer_number": "C-00"},
}
FACTORS = {
    "email": {"recipient_email": "JANE.shopper@example.com"},
    "postal_code": {"recipient_postal_code": " 787 01 "},
}


@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("factor", FACTORS)
def test_identifier_with_matching_factor_is_full(shipped, identifier, factor):
    result = resolve({**IDENTIFIERS[identifier], **FACTORS[factor]}, request=anon())
    assert (result.access, result.order, result.verified_by) == (Access.FULL, shipped, factor)


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_identifier_without_factor_reveals_nothing(shipped, identifier):
    result = resolve(IDENTIFIERS[identifier], request=anon())
    assert (result.access, result.order, result.trackings) == (Access.NONE, None, [])


@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize(
    "wrong", [{"recipient_email": "someone@else.com"}, {"recipient_postal_code": "10001"}, {"s": "forged"}]
)
def test_wrong_factor_looks_exactly_like_an_unknown_order(shipped, identifier, wrong):
    known = resolve({**IDENTIFIERS[identifier], **wrong}, request=anon("198.51.100.1"))
    unknown = resolve({**UNKNOWN[identifier], **wrong}, request=anon("198.51.100.2"))
    assert known == unknown.__class__(**{**unknown.__dict__, "params": known.params})
    assert (known.access, known.order, known.link_state) == (Access.NONE, None, None)


def test_tracking_number_alone_is_limited(shipped):
    result = resolve({"tracking_number": "1z999aa1 0123456784"}, request=anon())
    assert result.access == Access.LIMITED
    assert result.order == shipped
    assert result.matched_tracking.tracking_number == "1Z999AA10123456784"
    assert result.language == ""  # the order's language is a FULL-level detail


@pytest.mark.parametrize("factor", FACTORS)
def test_tracking_number_with_factor_is_full(shipped, factor):
    result = resolve({"tracking_number": "1Z999AA10123456784", **FACTORS[factor]}, request=anon())
    assert result.access == Access.FULL


def test_tracking_number_with_wrong_courier_is_not_found(shipped):
    result = resolve({"tracking_number": "1Z999AA10123456784", "courier": "fedex"}, request=anon())
    assert (result.access, result.order) == (Access.NONE, None)


def test_signed_order_link_is_full_and_expired_link_is_reported(shipped):
    result = resolve(shipped.link_params(), request=anon())
    assert (result.access, result.verified_by) == (Access.FULL, "signature")
    past = int(time.time()) - 10
    expired = resolve(shipped.link_params(exp=past), request=anon())
    assert (expired.access, expired.order, expired.link_state) == (Access.NONE, None, LinkState.EXPIRED)


def test_revoked_link_is_reported_as_revoked(shipped):
    params = shipped.link_params()
    lifecycle.revoke_links(shipped)
    result = resolve(params, request=anon())
    assert (result.access, result.link_state) == (Access.NONE, LinkState.REVOKED)


def test_signed_tracking_link_is_full(shipped):
    tracking = shipped.trackings.get()
    params = {
        "tracking_number": tracking.tracking_number,
        "courier": "ups",
        "s": signing.tracking_signature(tracking),
    }
    assert resolve(params, request=anon()).access == Access.FULL


def test_staff_see_everything_including_hidden_checkpoints(shipped, admin_user):
    request = anon()
    request.user = admin_user
    result = resolve({"order_number": "1001"}, request=request)
    assert (result.access, result.show_hidden_checkpoints) == (Access.FULL, True)


def test_single_tracking_returns_only_the_matching_shipment(shipped):
    ship(shipped, "TBA123456789000")
    params = {"tracking_number": "TBA123456789000", "recipient_email": "jane.shopper@example.com"}
    assert len(resolve(params, request=anon()).trackings) == 2
    only = resolve({**params, "single_tracking": "true"}, request=anon()).trackings
    assert [t.tracking_number for t in only] == ["TBA123456789000"]


def test_hidden_checkpoints_are_left_out_for_shoppers(shipped):
    tracking = shipped.trackings.get()
    scan(tracking, "in_transit", days_ago(0.5), is_hidden=True, message="Internal re-sort")
    result = resolve({"order_number": "1001", "recipient_postal_code": "78701"}, request=anon())
    assert "Internal re-sort" not in [c.message for c in result.checkpoints(result.trackings[0])]


def test_api_key_account_sees_only_its_own_orders(shipped):
    other = make_account(name="Other", slug="other")
    assert (
        resolve({"order_number": "1001", "account": "acme"}, api_account=shipped.account).access
        == Access.FULL
    )
    result = resolve({"order_number": "1001", "account": str(shipped.account_id)}, api_account=other)
    assert (result.access, result.order) == (Access.NONE, None)
    assert resolve({"tracking_number": "1Z999AA10123456784"}, api_account=other).order is None


def test_account_can_be_omitted_only_while_there_is_one(shipped):
    assert resolve({"order_number": "1001", "recipient_postal_code": "78701"}).access == Access.FULL
    make_account(name="Second", slug="second")
    with pytest.raises(LookupInvalid) as error:
        resolve({"order_number": "1001", "recipient_postal_code": "78701"})
    assert "account" in str(error.value)
    result = resolve({"order_number": "1001", "account": "acme", "recipient_postal_code": "78701"})
    assert result.access == Access.FULL


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "identifier"),
        ({"order_number": "1", "tracking_number": "1Z999AA10123456784"}, "identifier"),
        ({"external_order_id": "not-a-uuid"}, "external_order_id"),
        ({"tracking_number": "<script>"}, "tracking_number"),
        ({"tracking_number": "1Z999AA10123456784", "courier": "pigeon"}, "courier"),
        ({"order_number": "1", "recipient_email": "not-an-email"}, "recipient_email"),
        ({"order_number": "1", "exp": "tomorrow"}, "exp"),
        ({"order_number": "1", "single_tracking": "maybe"}, "single_tracking"),
        ({"order_number": "1", "account": "no-such-account"}, "account"),
        ({"order_number": "x" * 500}, "order_number"),
    ],
)
def test_malformed_parameters_are_rejected_with_the_field(shipped, params, field):
    with pytest.raises(LookupInvalid) as error:
        resolve(params, request=anon())
    assert field in error.value.errors


def test_unsupported_language_falls_back(shipped):
    result = resolve({"order_number": "1001", "recipient_postal_code": "78701", "lang": "de-AT"})
    assert result.language == "de"
    result = resolve({"order_number": "1001", "recipient_postal_code": "78701", "lang": "xx"})
    assert result.language == "en"  # the order's language


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_failed_verifications_are_limited_per_ip(shipped):
    for number in ("1", "2", "3"):
        resolve({"order_number": number, "recipient_email": "a@b.com"}, request=anon("192.0.2.1"))
    with pytest.raises(RateLimited) as error:
        resolve(
            {"order_number": "1001", "recipient_email": "jane.shopper@example.com"}, request=anon("192.0.2.1")
        )
    assert 0 < error.value.retry_after <= 15 * 60
    # Another client is not affected.
    ok = resolve(
        {"order_number": "1001", "recipient_email": "jane.shopper@example.com"}, request=anon("192.0.2.2")
    )
    assert ok.access == Access.FULL


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_failed_verifications_are_limited_per_order_across_ips(shipped):
    for i in range(3):
        resolve({"order_number": "1001", "recipient_postal_code": "00000"}, request=anon(f"192.0.2.{10 + i}"))
    with pytest.raises(RateLimited):
        resolve({"order_number": "1001", "recipient_postal_code": "78701"}, request=anon("192.0.2.99"))


@override_settings(LOOKUP_FAILURE_RATE="3/15m")
def test_lookups_without_a_factor_or_with_the_right_one_are_not_counted(shipped):
    for _ in range(5):
        resolve({"order_number": "1001"}, request=anon())
        resolve({"order_number": "1001", "recipient_postal_code": "78701"}, request=anon())
    assert resolve({"order_number": "1001", "recipient_postal_code": "78701"}, request=anon()).is_full


def test_query_count_does_not_grow_with_trackings_and_checkpoints(shipped, django_assert_max_num_queries):
    params = {"order_number": "1001", "recipient_postal_code": "78701"}
    with django_assert_max_num_queries(8):
        resolve(params, request=anon())
    for i, number in enumerate(["TBA123456789000", "123456789012", "1234567890"]):
        tracking = ship(shipped, number)
        for day in range(6):
            scan(tracking, "in_transit", days_ago(day + i / 10), location=f"Hub {day}")
    with django_assert_max_num_queries(8):
        result = resolve(params, request=anon())
        assert sum(len(result.checkpoints(t)) for t in result.trackings) == 19


@override_settings(LOOKUP_FAILURE_RATE="2/15m")
def test_over_the_limit_only_a_valid_signed_link_still_opens(shipped):
    client = anon("192.0.2.50")
    for _ in range(2):
        resolve({"order_number": "1001", "recipient_email": "wrong@example.com"}, request=client)
    assert resolve(shipped.link_params(), request=client).access == Access.FULL
    for params in (
        {"order_number": "1001", "s": "forged"},
        {"order_number": "1001"},
        {"order_number": "404"},
    ):
        with pytest.raises(RateLimited):
            resolve(params, request=client)


def test_an_api_key_names_the_account_when_there_are_several(shipped):
    make_account(name="Second", slug="second")
    result = resolve({"order_number": "1001"}, api_account=shipped.account)
    assert (result.access, result.order) == (Access.FULL, shipped)


@override_settings(LOOKUP_FAILURE_RATE="4/15m")
def test_failures_count_against_the_order_however_it_is_named(shipped):
    wrong = {"recipient_postal_code": "00000"}
    ways = [
        {"order_number": "1001"},
        {"customer_number": "C-77"},
        {"external_order_id": str(EXTERNAL_ID)},
        {"tracking_number": "1Z999AA10123456784"},
    ]
    for i, way in enumerate(ways):
        resolve({**way, **wrong}, request=anon(f"192.0.2.{60 + i}"))
    with pytest.raises(RateLimited):
        resolve({"order_number": "1001", "recipient_postal_code": "78701"}, request=anon("192.0.2.99"))


@pytest.mark.parametrize("placeholder", ["-", "N/A", "", "  "])
def test_a_placeholder_postal_code_is_never_a_second_factor(account, placeholder):
    make_order(account, order_number="2001", postal_code=placeholder)
    result = resolve({"order_number": "2001", "recipient_postal_code": placeholder or "x"}, request=anon())
    assert result.access == Access.NONE


def test_postal_codes_with_a_hyphen_still_match(account):
    make_order(account, order_number="2002", country="US", postal_code="78701-1234")
    result = resolve({"order_number": "2002", "recipient_postal_code": "78701-1234"}, request=anon())
    assert result.access == Access.FULL
