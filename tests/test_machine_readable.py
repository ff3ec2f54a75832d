"""For machines and calendars (issue 13): schema.org ParcelDelivery JSON-LD at full access only,
and a signed .ics download parsed with the icalendar library."""

import json
import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import icalendar
import pytest
from django.utils import timezone

from orders.models import Tracking

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

# The properties schema.org defines for each type we emit (https://schema.org/<Type>, including
# the ones inherited from Thing/Intangible/Event), and the expected type of nested values.
SCHEMA_PROPERTIES = {
    "ParcelDelivery": {
        "deliveryAddress": "PostalAddress",
        "deliveryStatus": "DeliveryEvent",
        "expectedArrivalFrom": "Date",
        "expectedArrivalUntil": "Date",
        "hasDeliveryMethod": "DeliveryMethod",
        "itemShipped": "Product",
        "originAddress": "PostalAddress",
        "partOfOrder": "Order",
        "provider": "Organization",
        "carrier": "Organization",
        "trackingNumber": "Text",
        "trackingUrl": "URL",
        "name": "Text",
    },
    "DeliveryEvent": {
        "accessCode": "Text",
        "availableFrom": "DateTime",
        "availableThrough": "Date",
        "hasDeliveryMethod": "DeliveryMethod",
        "name": "Text",
        "startDate": "DateTime",
    },
    "Order": {
        "orderNumber": "Text",
        "orderDate": "DateTime",
        "orderStatus": "OrderStatus",
        "seller": "Organization",
        "merchant": "Organization",
    },
    "Organization": {"name": "Text", "url": "URL"},
    "PostalAddress": {
        "name": "Text",
        "streetAddress": "Text",
        "addressLocality": "Text",
        "addressRegion": "Text",
        "postalCode": "Text",
        "addressCountry": "Text",
    },
}
ORDER_STATUSES = {
    "OrderCancelled",
    "OrderDelivered",
    "OrderInTransit",
    "OrderPaymentDue",
    "OrderPickupAvailable",
    "OrderProblem",
    "OrderProcessing",
    "OrderReturned",
}
LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def validate(node: dict, expected_type: str) -> None:
    assert node["@type"] == expected_type
    allowed = SCHEMA_PROPERTIES[expected_type]
    for key, value in node.items():
        if key.startswith("@"):
            continue
        assert key in allowed, f"{expected_type} has no property {key}"
        kind = allowed[key]
        if kind in SCHEMA_PROPERTIES:
            validate(value, kind)
        elif kind == "Date":
            date.fromisoformat(value)
        elif kind == "DateTime":
            assert re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?)?", value), value
        elif kind == "URL":
            assert value.startswith("https://")
        elif kind == "OrderStatus":
            assert value.removeprefix("https://schema.org/") in ORDER_STATUSES
        else:
            assert isinstance(value, str) and value


@pytest.fixture
def coming(account):
    order = make_order(account, order_number="5005")
    tracking = ship(order, "1Z999AA10123456784")
    start = timezone.localdate() + timedelta(days=2)
    scan(tracking, "in_transit", days_ago(1), estimated_delivery_date=start)
    Tracking.objects.filter(pk=tracking.pk).update(estimated_delivery_date_end=start + timedelta(days=1))
    return order, start


def test_full_page_carries_a_valid_parcel_delivery(client, coming):
    order, start = coming
    html = client.get(order.status_url(absolute=False)).content.decode()
    data = json.loads(LD.search(html)[1])
    assert data["@context"] == "https://schema.org"
    validate(data, "ParcelDelivery")
    assert data["trackingNumber"] == "1Z999AA10123456784" and data["provider"]["name"] == "UPS"
    assert (data["expectedArrivalFrom"], data["expectedArrivalUntil"]) == (
        start.isoformat(),
        (start + timedelta(days=1)).isoformat(),
    )
    assert data["partOfOrder"]["orderStatus"] == "https://schema.org/OrderInTransit"
    assert data["deliveryStatus"]["name"] == "In transit"


def test_several_packages_give_a_list_and_delivered_ones_no_window(client, coming):
    order, _start = coming
    second = ship(order, "9400111899223197428490", carrier="usps", estimated_delivery_date=date(2025, 1, 1))
    scan(second, "delivered", days_ago(0.5))
    html = client.get(order.status_url(absolute=False)).content.decode()
    data = json.loads(LD.search(html)[1])
    assert [d["trackingNumber"] for d in data] == ["1Z999AA10123456784", "9400111899223197428490"]
    for node in data:
        validate(node, "ParcelDelivery")
    assert "expectedArrivalFrom" not in data[1]
    assert data[1]["partOfOrder"]["orderStatus"] == "https://schema.org/OrderDelivered"


def test_no_json_ld_below_full_access(client, coming):
    limited = client.get("/track/?tracking_number=1Z999AA10123456784").content.decode()
    assert "application/ld+json" not in limited
    verify = client.get("/track/?order_number=5005").content.decode()
    assert "application/ld+json" not in verify


def test_json_ld_cannot_close_its_script_element(client, account):
    order = make_order(account, order_number="6006", recipient_name="</script><script>alert(1)</script>")
    ship(order, "1Z999AA10123456784")
    html = client.get(order.status_url(absolute=False)).content.decode()
    block = LD.search(html)[1]
    assert "</script" not in block and json.loads(block)["deliveryAddress"]["name"].startswith("</script>")


def calendar_link(html: str) -> str:
    return re.search(r'class="calendar" href="([^"]+)"', html)[1].replace("&amp;", "&")


def test_ics_download_is_signed_like_the_page_and_parses(client, coming):
    order, start = coming
    html = client.get(order.status_url(absolute=False)).content.decode()
    link = calendar_link(html)
    assert "s=" in link and "shipment=1" in link
    response = client.get(link)
    assert response.status_code == 200 and response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="delivery-1.ics"'
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Delivery from Acme Outfitters"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(days=2)  # a two-day window, end exclusive
    assert "1Z999AA10123456784" in str(event["DESCRIPTION"])


def test_pickup_deadline_event_names_the_place_at_full_access_only(client, coming):
    order, _start = coming
    tracking = order.trackings.get()
    scan(tracking, "available_for_pickup", days_ago(0.1))
    deadline = timezone.localdate() + timedelta(days=5)
    Tracking.objects.filter(pk=tracking.pk).update(
        pickup_deadline=deadline, pickup_location_name="Corner Market", pickup_location_address="42 High St"
    )
    link = calendar_link(client.get(order.status_url(absolute=False, lang="de")).content.decode())
    event = icalendar.Calendar.from_ical(client.get(link).content).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == deadline
    assert str(event["SUMMARY"]) == "Letzter Tag zur Abholung Ihres Pakets von Acme Outfitters"
    assert str(event["LOCATION"]) == "Corner Market, 42 High St"
    limited = client.get("/track/calendar.ics?tracking_number=1Z999AA10123456784&shipment=1")
    event = icalendar.Calendar.from_ical(limited.content).walk("VEVENT")[0]
    assert "LOCATION" not in event


def test_ics_refuses_bad_signatures_and_bad_shipments(client, coming):
    order, _start = coming
    query = urlsplit(order.status_url(absolute=False)).query
    forged = re.sub(r"s=[^&]+", "s=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", query)
    assert client.get(f"/track/calendar.ics?{forged}&shipment=1").status_code == 404
    unknown = forged.replace("order_number=5005", "order_number=9999")
    assert client.get(f"/track/calendar.ics?{unknown}&shipment=1").status_code == 404
    for index in ("0", "2", "x", ""):
        assert client.get(f"/track/calendar.ics?{query}&shipment={index}").status_code == 400
