"""The info API answers as parcelLab's v4 order status API does: every answer for every demo order,
at every access level, validates against a JSON Schema written from the seed's example response
(tests/parcellab_v4/), and carries every field of that example the access level allows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings
from jsonschema import Draft202012Validator

from orders import apikeys
from orders.demo import seed_demo
from orders.models import Order, Tracking

from .conftest import make_order, scan, ship

pytestmark = pytest.mark.django_db

URL = "/v4/track/orders/info/"
HERE = Path(__file__).parent / "parcellab_v4"
SCHEMA = json.loads((HERE / "order_info.schema.json").read_text())
EXAMPLE = json.loads((HERE / "example_response.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)

# Objects we cannot always fill are left out rather than sent as null; article measures likewise.
MAY_BE_MISSING = {
    "trackings.action_box",
    "trackings.action_box.raw",
    "trackings.checkpoints.estimated_delivery_date",
    "trackings.articles.width",
    "trackings.articles.height",
    "trackings.articles.length",
    "trackings.articles.length_unit",
    "trackings.articles.weight",
    "trackings.articles.weight_unit",
    "trackings.articles.ANY_ADDITIONAL_PROPERTY",
    "trackings.additional_attributes.ANY_ADDITIONAL_PROPERTY",
}
PERSONAL = {
    "order_number",
    "order_date",
    "recipient_name",
    "recipient_email",
    "destination_country_iso3",
    "trackings.recipient_name",
    "trackings.recipient_email",
    "trackings.destination_country_iso3",
    "trackings.recipient_postal_code",
    "trackings.shipping_address",
    "trackings.articles",
    "trackings.action_box",
    "trackings.action_box.raw",
}


def missing_fields(answer, example, path="") -> list[str]:
    """Paths of the example's fields that the answer lacks (lists: every element is checked)."""
    if isinstance(example, dict):
        if not isinstance(answer, dict):
            return [path]
        found = []
        for key, value in example.items():
            child = f"{path}.{key}" if path else key
            if key not in answer:
                if child not in MAY_BE_MISSING:
                    found.append(child)
                continue
            found += missing_fields(answer[key], value, child)
        return found
    if isinstance(example, list) and example and isinstance(answer, list):
        return [p for item in answer for p in missing_fields(item, example[0], path)]
    return []


def present_paths(answer, path="") -> set[str]:
    if isinstance(answer, dict):
        paths = set()
        for key, value in answer.items():
            child = f"{path}.{key}" if path else key
            paths |= {child} | present_paths(value, child)
        return paths
    if isinstance(answer, list):
        return {p for item in answer for p in present_paths(item, path)}
    return set()


def schema_errors(answer) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(answer)]


def answers_for(client, order: Order, key: str) -> dict[str, dict]:
    """Every way the info API answers for this order: key, signed link, each tracking alone."""
    answers = {}
    response = client.get(URL, {"order_number": order.order_number}, headers={"X-API-Key": key})
    answers["api key"] = response
    answers["signed link"] = client.get(order.status_url(kind="info", absolute=False))
    answers["email"] = client.get(
        URL, {"order_number": order.order_number, "recipient_email": order.recipient_email}
    )
    for tracking in order.trackings.all():
        answers[f"tracking {tracking.tracking_number}"] = client.get(
            URL, {"tracking_number": tracking.tracking_number, "courier": tracking.carrier}
        )
        answers[f"tracking id {tracking.public_id}"] = client.get(URL, {"tracking_id": tracking.public_id})
    return answers


def test_the_schema_accepts_the_seeds_own_example():
    assert schema_errors(EXAMPLE) == []


def test_every_demo_answer_at_every_level_matches_the_seeds_contract(client):
    demo = seed_demo()
    orders = Order.objects.filter(pk__in=[d.order_id for d in demo])
    key = apikeys.create_key(account=orders[0].account, name="contract").secret
    problems, levels = [], {"full": 0, "limited": 0}
    for order in orders:
        for how, response in answers_for(client, order, key).items():
            where = f"order {order.order_number} by {how}"
            if response.status_code != 200:
                problems.append(f"{where}: HTTP {response.status_code}")
                continue
            answer = response.json()
            levels[answer["access"]] += 1
            problems += [f"{where}: {error}" for error in schema_errors(answer)]
            if answer["access"] == "full":
                problems += [f"{where}: missing {p}" for p in missing_fields(answer, EXAMPLE)]
            else:
                problems += [f"{where}: personal {p}" for p in sorted(present_paths(answer) & PERSONAL)]
                problems += [
                    f"{where}: missing {p}"
                    for p in missing_fields(answer, EXAMPLE)
                    if p not in PERSONAL and not any(p.startswith(q + ".") for q in PERSONAL)
                ]
    assert problems == []
    assert levels["full"] >= 3 * len(orders) and levels["limited"] >= 2 * Tracking.objects.count()


def test_types_of_the_fields_we_fill(client, account):
    order = make_order(account, order_number="1001", estimated_delivery_date="2030-01-10")
    tracking = ship(order, "1Z999AA10123456784")
    tracking.pickup_location_name = "Corner Shop"
    tracking.pickup_location_address = "5 Elm St"
    tracking.pickup_opening_hours = [{"day": "mon", "open": "09:00", "close": "18:00"}]
    tracking.save()
    scan(tracking, "in_transit", estimated_delivery_date="2030-01-09")
    scan(tracking, "failed_attempt", message="Nobody home")
    key = apikeys.create_key(account=account, name="k").secret
    info = client.get(URL, {"order_number": "1001"}, headers={"X-API-Key": key}).json()
    assert schema_errors(info) == []
    shipment = info["trackings"][0]
    assert shipment["action_box"]["opening_hours"] == [
        {"day": "mon", "open": "09:00:00", "close": "18:00:00"}
    ]
    assert shipment["shipping_address"]["first_name"] == "Jane"
    assert shipment["shipping_address"]["last_name"] == "Shopper"
    assert shipment["shipping_address"]["country_iso3"] == "USA"
    assert shipment["recipient_postal_code"] == "78701"
    assert shipment["reporting_info"]["has_failed_attempt"] is True
    assert shipment["reporting_info"]["exception_messages"] == ["Nobody home"]
    assert shipment["last_delivery_status"]["exception_type"] == "failed_attempt"
    estimate = next(c for c in shipment["checkpoints"] if "estimated_delivery_date" in c)
    assert estimate["estimated_delivery_date"]["start_date"] == "2030-01-09"
    assert shipment["announced_delivery_date"] == "2030-01-09"
    assert shipment["supports_live_refresh"] is False
    assert shipment["articles"] == []  # the item is not assigned to this shipment
    assert info["articles"][0]["unit_price"] == "89.90"
    assert info["client_key"] == "acme"
    # Without a pickup point there is no action box at all (not null).
    tracking.pickup_location_name = tracking.pickup_location_address = ""
    tracking.save()
    from orders import lifecycle

    lifecycle.update_order_details(order)
    again = client.get(URL, {"order_number": "1001", "lang": "de"}, headers={"X-API-Key": key}).json()
    assert "action_box" not in again["trackings"][0]


def test_limited_answers_use_the_orders_language_like_full_ones(client, account):
    account.default_language = "de"
    account.save()
    order = make_order(account, order_number="1001", language="fr")
    scan(ship(order), "in_transit")
    limited = client.get(URL, {"tracking_number": "1Z999AA10123456784"})
    full = client.get(URL, {"order_number": "1001", "recipient_postal_code": "78701"})
    assert (limited.json()["access"], limited["Content-Language"]) == ("limited", "fr")
    assert (full.json()["access"], full["Content-Language"]) == ("full", "fr")
    assert limited.json()["status_text"] == full.json()["status_text"]
    english = client.get(URL, {"tracking_number": "1Z999AA10123456784", "lang": "en"})
    assert english["Content-Language"] == "en"


def test_supports_live_refresh_follows_the_carriers_adapter_and_credentials(client, account):
    order = make_order(account, order_number="1001")
    ship(order, "1Z999AA10123456784")
    ship(order, "SOMETHING123", carrier="other")
    key = apikeys.create_key(account=account, name="k").secret

    def flags():
        cache.clear()
        info = client.get(URL, {"order_number": "1001"}, headers={"X-API-Key": key}).json()
        return {t["courier_info"]["courier"]: t["supports_live_refresh"] for t in info["trackings"]}

    assert flags() == {"ups": False, "other": False}  # no credentials for UPS
    with override_settings(UPS_CLIENT_ID="client", UPS_CLIENT_SECRET="secret"):
        assert flags() == {"ups": True, "other": False}  # "other" has no adapter
