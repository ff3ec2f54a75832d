"""Demo data: one shop ("Northwind Outfitters") whose orders show every state the status page knows.

Everything is built through `orders.lifecycle`, so the demo obeys the same rules as real data,
and every date is relative to *now*: the delayed order stays delayed and "out for delivery" is
today, on whatever day the demo is seeded. Seeding is idempotent: an order number that already
exists is left alone, so running it twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from orders import lifecycle
from orders.carriers import detect_carriers, get_carrier
from orders.carriers.sandbox.route import scenario_for
from orders.models import Account, LineItem, Order, OrderStatus

ACCOUNT = {
    "slug": "northwind",
    "name": "Northwind Outfitters",
    "brand_color": "#1f6f5c",
    "support_email": "support@northwind-outfitters.example",
    "support_url": "https://northwind-outfitters.example/help",
    "default_language": "en",
}
# Stable external ids: the same order number always gets the same UUID.
EXTERNAL_ID_NAMESPACE = uuid.UUID("6f1c7a52-3b0e-4d43-9a39-2f5d8c1e7b10")

WEEKDAY_HOURS = [{"day": d, "open": "08:00", "close": "19:00"} for d in ("mon", "tue", "wed", "thu", "fri")]


def with_check_digit(body: str, fmt: str) -> str:
    """Complete `body` with the one check digit that makes `fmt` (e.g. "ups-1z") detect as valid."""
    for digit in "0123456789":
        candidates = detect_carriers(body + digit)
        if candidates and candidates[0].format == fmt and candidates[0].check_digit_valid:
            return body + digit
    raise ValueError(f"no check digit makes {body!r} a valid {fmt} number")


def ups(body: str) -> str:
    return with_check_digit(body, "ups-1z")


def fedex(body: str) -> str:
    return with_check_digit(body, "fedex-12")


def usps(body: str) -> str:
    return with_check_digit(body, "usps-impb-22")


def dhl(body: str) -> str:
    return with_check_digit(body, "dhl-express-10")


# --- The orders, declared -----------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A carrier scan `days` days before today at local `time` (today's scans never lie ahead)."""

    days: int
    time: str
    status: str
    message: str
    location: str = ""
    country: str = "US"
    eta: int | None = None  # new estimate carried by the scan, in days from today


@dataclass(frozen=True)
class Shipment:
    carrier: str
    number: str
    events: tuple[Event, ...] = ()
    eta: int | None = None  # announced at dispatch, in days from today
    is_return: bool = False
    pickup: dict = field(default_factory=dict)  # pickup_location_* fields of the tracking
    # Live: no scripted events; the sandbox carrier moves it while the demo runs (polling).
    live: bool = False


@dataclass(frozen=True)
class Item:
    name: str
    sku: str
    price: str
    quantity: int = 1
    shipment: int | None = None  # index into OrderSpec.shipments


@dataclass(frozen=True)
class OrderSpec:
    number: str
    name: str
    email: str
    phone: str
    street1: str
    city: str
    state: str
    postal_code: str
    country: str
    ordered: tuple[int, str]  # (days ago, "HH:MM")
    items: tuple[Item, ...]
    shipments: tuple[Shipment, ...] = ()
    status: str = OrderStatus.PROCESSING  # for unshipped orders; shipped ones follow their trackings
    language: str = "en"
    currency: str = "USD"
    eta: int | None = None  # the order's own estimate, in days from today
    customer_number: str = ""
    street2: str = ""
    notes: str = ""


def demo_orders() -> tuple[OrderSpec, ...]:
    tent = Item("Trailhead 2-Person Tent", "NW-TENT-2P", "249.00")
    socks = Item("Merino Wool Hiking Socks (3-pack)", "NW-SOCK-M3", "34.00")
    jacket = Item("Cascade Rain Jacket, Men's M", "NW-RJ-M-M", "159.00")
    return (
        OrderSpec(
            number="NW-1001",
            name="Emily Carter",
            email="emily.carter@example.com",
            phone="+1 503 555 0142",
            street1="1420 NW Lovejoy St",
            street2="Apt 5B",
            city="Portland",
            state="OR",
            postal_code="97209",
            country="US",
            ordered=(0, "09:12"),
            items=(Item("Summit 40L Daypack, Slate", "NW-PACK-40S", "129.00"),),
            status=OrderStatus.PENDING,
            eta=6,
            customer_number="C-20417",
        ),
        OrderSpec(
            number="NW-1002",
            name="Marcus Johnson",
            email="marcus.johnson@example.com",
            phone="+1 312 555 0178",
            street1="2150 N Halsted St",
            city="Chicago",
            state="IL",
            postal_code="60614",
            country="US",
            ordered=(1, "19:47"),
            items=(
                Item("Insulated Camp Mug, 16 oz", "NW-MUG-16", "24.00", quantity=2),
                Item("Packable Down Vest, Men's L", "NW-DV-M-L", "119.00"),
            ),
            status=OrderStatus.PROCESSING,
            eta=4,
            customer_number="C-20388",
        ),
        OrderSpec(
            number="NW-1003",
            name="Sophia Martinez",
            email="sophia.martinez@example.com",
            phone="+1 210 555 0133",
            street1="315 E Commerce St",
            city="San Antonio",
            state="TX",
            postal_code="78205",
            country="US",
            ordered=(1, "11:05"),
            items=(Item("Trail Runner Shoe, Women's 8", "NW-TR-W-8", "139.00"),),
            # The shop printed the label; UPS has not scanned anything yet.
            shipments=(Shipment("ups", ups("1ZA5R791034927581"), eta=4),),
            customer_number="C-20391",
        ),
        OrderSpec(
            number="NW-1004",
            name="Olivia Bennett",
            email="olivia.bennett@example.com",
            phone="+1 206 555 0191",
            street1="701 5th Ave N",
            city="Seattle",
            state="WA",
            postal_code="98109",
            country="US",
            ordered=(4, "08:30"),
            items=(replace(tent, shipment=0), replace(socks, shipment=1)),
            shipments=(
                Shipment(
                    "ups",
                    "1Z999AA10123456784",
                    eta=2,
                    events=(
                        Event(3, "17:20", "info_received", "Shipper created a label", "Reno, NV"),
                        Event(2, "19:05", "in_transit", "Pickup Scan", "Reno, NV"),
                        Event(2, "23:48", "in_transit", "Departed from Facility", "Reno, NV"),
                        Event(1, "06:12", "in_transit", "Arrived at Facility", "Sacramento, CA"),
                        Event(0, "03:40", "in_transit", "Departed from Facility", "Sacramento, CA", eta=2),
                    ),
                ),
                Shipment(
                    "amazon",
                    "TBA123456789000",
                    eta=0,
                    events=(
                        Event(2, "14:02", "info_received", "Shipment information received", "Kent, WA"),
                        Event(1, "21:36", "in_transit", "Package arrived at an Amazon facility", "Kent, WA"),
                        Event(0, "04:15", "in_transit", "Package has left an Amazon facility", "Kent, WA"),
                        Event(0, "08:05", "out_for_delivery", "Out for delivery", "Seattle, WA"),
                    ),
                ),
            ),
            customer_number="C-19820",
        ),
        OrderSpec(
            number="NW-1005",
            name="David Kim",
            email="david.kim@example.net",
            phone="+1 720 555 0116",
            street1="1550 Wewatta St",
            city="Denver",
            state="CO",
            postal_code="80202",
            country="US",
            ordered=(2, "13:40"),
            items=(Item("Alpine Trekking Poles (pair)", "NW-POLE-AL", "89.00"),),
            shipments=(
                Shipment(
                    "fedex",
                    fedex("78424136281"),
                    eta=3,
                    events=(
                        Event(
                            0,
                            "06:30",
                            "info_received",
                            "Shipment information sent to FedEx",
                            "Salt Lake City, UT",
                        ),
                    ),
                ),
            ),
            customer_number="C-20402",
        ),
        OrderSpec(
            number="NW-1006",
            name="Ashley Thompson",
            email="ashley.thompson@example.com",
            phone="+1 404 555 0167",
            street1="990 Peachtree St NE",
            city="Atlanta",
            state="GA",
            postal_code="30309",
            country="US",
            ordered=(9, "10:22"),
            items=(jacket, Item("Waterproof Stuff Sack, 10L", "NW-SACK-10", "22.00")),
            # Promised three days ago and still on its way: the delayed one.
            shipments=(
                Shipment(
                    "usps",
                    usps("940011189922319742849"),
                    eta=-3,
                    events=(
                        Event(8, "15:10", "info_received", "Shipping Label Created, USPS Awaiting Item"),
                        Event(7, "18:44", "in_transit", "Accepted at USPS Origin Facility", "Reno, NV"),
                        Event(
                            6,
                            "02:31",
                            "in_transit",
                            "Arrived at USPS Regional Facility",
                            "Salt Lake City, UT",
                        ),
                        Event(5, "09:58", "in_transit", "In Transit to Next Facility"),
                        Event(
                            2,
                            "07:15",
                            "in_transit",
                            "Your package will arrive later than expected, but is still on its way.",
                            "Memphis, TN",
                        ),
                    ),
                ),
            ),
            customer_number="C-19744",
        ),
        OrderSpec(
            number="NW-1007",
            name="Michael Rodriguez",
            email="michael.rodriguez@example.com",
            phone="+1 305 555 0124",
            street1="1101 Brickell Ave",
            street2="Suite 800",
            city="Miami",
            state="FL",
            postal_code="33131",
            country="US",
            ordered=(5, "16:55"),
            items=(Item("Ultralight Sleeping Bag, 30°F", "NW-SB-30", "219.00"),),
            shipments=(
                Shipment(
                    "ups",
                    ups("1ZA5R791034927602"),
                    eta=1,
                    events=(
                        Event(4, "18:00", "info_received", "Shipper created a label", "Reno, NV"),
                        Event(3, "20:12", "in_transit", "Pickup Scan", "Reno, NV"),
                        Event(2, "05:47", "in_transit", "Arrived at Facility", "Louisville, KY"),
                        Event(
                            1,
                            "11:30",
                            "exception",
                            "A severe weather condition has delayed delivery.",
                            "Louisville, KY",
                            eta=3,
                        ),
                    ),
                ),
            ),
            customer_number="C-20005",
        ),
        OrderSpec(
            number="NW-1008",
            name="Jessica Nguyen",
            email="jessica.nguyen@example.org",
            phone="+1 713 555 0150",
            street1="1400 Smith St",
            city="Houston",
            state="TX",
            postal_code="77002",
            country="US",
            ordered=(5, "07:58"),
            items=(Item("Camp Kitchen Cook Set", "NW-COOK-4", "74.00"),),
            shipments=(
                Shipment(
                    "fedex",
                    fedex("78424136292"),
                    eta=1,
                    events=(
                        Event(
                            4, "12:10", "info_received", "Shipment information sent to FedEx", "Memphis, TN"
                        ),
                        Event(3, "17:35", "in_transit", "Picked up", "Memphis, TN"),
                        Event(2, "22:18", "in_transit", "Departed FedEx hub", "Memphis, TN"),
                        Event(1, "06:41", "in_transit", "At local FedEx facility", "Houston, TX"),
                        Event(1, "08:55", "out_for_delivery", "On FedEx vehicle for delivery", "Houston, TX"),
                        Event(
                            1,
                            "16:20",
                            "failed_attempt",
                            "Delivery exception: Customer not available or business closed",
                            "Houston, TX",
                            eta=1,
                        ),
                    ),
                ),
            ),
            customer_number="C-19988",
        ),
        OrderSpec(
            number="NW-1009",
            name="Christopher Lee",
            email="chris.lee@example.com",
            phone="+1 617 555 0108",
            street1="200 Clarendon St",
            city="Boston",
            state="MA",
            postal_code="02116",
            country="US",
            ordered=(6, "20:14"),
            items=(Item("Headlamp 400 Lumen", "NW-HL-400", "49.00"), socks),
            shipments=(
                Shipment(
                    "ups",
                    ups("1ZA5R791034927613"),
                    eta=1,
                    pickup={
                        "pickup_location_name": "The UPS Store #4521",
                        "pickup_location_address": "699 Boylston St, Boston, MA 02116",
                        "pickup_opening_hours": [
                            *WEEKDAY_HOURS,
                            {"day": "sat", "open": "09:00", "close": "17:00"},
                        ],
                    },
                    events=(
                        Event(5, "15:30", "info_received", "Shipper created a label", "Reno, NV"),
                        Event(4, "19:02", "in_transit", "Departed from Facility", "Reno, NV"),
                        Event(2, "04:25", "in_transit", "Arrived at Facility", "Chelsea, MA"),
                        Event(1, "08:10", "out_for_delivery", "Out For Delivery Today", "Boston, MA"),
                        Event(
                            1,
                            "15:40",
                            "failed_attempt",
                            "The receiver was not available for delivery. We'll deliver the package "
                            "to a UPS Access Point location.",
                            "Boston, MA",
                        ),
                        Event(
                            1,
                            "18:05",
                            "available_for_pickup",
                            "Delivered to UPS Access Point. Ready for pickup.",
                            "Boston, MA",
                        ),
                    ),
                ),
            ),
            customer_number="C-19702",
        ),
        OrderSpec(
            number="NW-1010",
            name="Amanda Wilson",
            email="amanda.wilson@example.com",
            phone="+1 615 555 0185",
            street1="500 Church St",
            city="Nashville",
            state="TN",
            postal_code="37203",
            country="US",
            ordered=(7, "12:00"),
            items=(Item("Hammock with Tree Straps", "NW-HAM-1", "69.00"),),
            shipments=(
                Shipment(
                    "ups",
                    ups("1ZA5R791034927624"),
                    eta=2,
                    events=(
                        Event(6, "16:45", "info_received", "Shipper created a label", "Reno, NV"),
                        Event(5, "19:30", "in_transit", "Pickup Scan", "Reno, NV"),
                        Event(4, "03:10", "in_transit", "Departed from Facility", "Salt Lake City, UT"),
                        Event(3, "11:22", "in_transit", "Arrived at Facility", "Nashville, TN"),
                        Event(2, "07:48", "out_for_delivery", "Out For Delivery Today", "Nashville, TN"),
                        Event(2, "14:12", "delivered", "Delivered, front door", "Nashville, TN"),
                    ),
                ),
            ),
            customer_number="C-19655",
        ),
        OrderSpec(
            number="NW-1011",
            name="Ryan Patel",
            email="ryan.patel@example.com",
            phone="+1 619 555 0139",
            street1="600 W Broadway",
            city="San Diego",
            state="CA",
            postal_code="92101",
            country="US",
            ordered=(12, "09:36"),
            items=(Item("Cascade Rain Jacket, Men's L", "NW-RJ-M-L", "159.00", shipment=0),),
            notes="Exchange requested: size L too large, return label sent.",
            shipments=(
                Shipment(
                    "fedex",
                    fedex("78424136303"),
                    eta=-8,
                    events=(
                        Event(11, "13:00", "info_received", "Shipment information sent to FedEx", "Reno, NV"),
                        Event(10, "18:25", "in_transit", "Picked up", "Reno, NV"),
                        Event(9, "06:50", "in_transit", "At local FedEx facility", "San Diego, CA"),
                        Event(
                            8, "09:14", "out_for_delivery", "On FedEx vehicle for delivery", "San Diego, CA"
                        ),
                        Event(8, "13:37", "delivered", "Delivered, left at front desk", "San Diego, CA"),
                    ),
                ),
                Shipment(
                    "usps",
                    usps("920019030345678901234"),
                    eta=2,
                    is_return=True,
                    events=(
                        Event(3, "10:02", "info_received", "Shipping Label Created, USPS Awaiting Item"),
                        Event(2, "16:40", "in_transit", "Accepted at USPS Origin Facility", "San Diego, CA"),
                        Event(1, "04:18", "in_transit", "Arrived at USPS Regional Facility", "Las Vegas, NV"),
                    ),
                ),
            ),
            customer_number="C-19311",
        ),
        OrderSpec(
            number="NW-1012",
            name="Daniel Brown",
            email="daniel.brown@example.org",
            phone="+1 602 555 0147",
            street1="2 N Central Ave",
            city="Phoenix",
            state="AZ",
            postal_code="85004",
            country="US",
            ordered=(3, "22:10"),
            items=(Item("Solar Camp Lantern", "NW-LANT-S", "39.00", quantity=2),),
            status=OrderStatus.CANCELLED,
            notes="Cancelled at the customer's request before packing.",
            customer_number="C-20310",
        ),
        OrderSpec(
            number="NW-1013",
            name="Brittany Clark",
            email="brittany.clark@example.com",
            phone="+1 614 555 0172",
            street1="88 E Broad St",
            city="Columbus",
            state="OH",
            postal_code="43215",
            country="US",
            ordered=(11, "14:25"),
            items=(Item("Fleece Quarter-Zip, Women's S", "NW-FQZ-W-S", "79.00"),),
            shipments=(
                Shipment(
                    "fedex",
                    fedex("78424136314"),
                    eta=-5,
                    events=(
                        Event(10, "11:15", "info_received", "Shipment information sent to FedEx", "Reno, NV"),
                        Event(9, "17:50", "in_transit", "Picked up", "Reno, NV"),
                        Event(7, "05:30", "in_transit", "At local FedEx facility", "Columbus, OH"),
                        Event(
                            6, "10:40", "exception", "Incorrect address - Unable to deliver", "Columbus, OH"
                        ),
                        Event(4, "15:05", "returned", "Returning package to shipper", "Columbus, OH"),
                    ),
                ),
            ),
            customer_number="C-19577",
        ),
        OrderSpec(
            number="NW-1014",
            name="Lukas Schneider",
            email="lukas.schneider@example.de",
            phone="+49 30 1234 5678",
            street1="Torstraße 112",
            city="Berlin",
            state="",
            postal_code="10119",
            country="DE",
            language="de",
            currency="EUR",
            ordered=(6, "18:40"),
            items=(Item("Trailhead 2-Person Tent", "NW-TENT-2P", "239.00"),),
            shipments=(
                Shipment(
                    "dhl",
                    dhl("548230176"),
                    eta=2,
                    events=(
                        Event(5, "16:20", "info_received", "Shipment information received", "Reno, NV"),
                        Event(4, "19:45", "in_transit", "Shipment picked up", "Reno, NV"),
                        Event(3, "04:10", "in_transit", "Processed at CINCINNATI HUB - USA", "Hebron, KY"),
                        Event(
                            2,
                            "13:55",
                            "in_transit",
                            "Arrived at Sort Facility LEIPZIG - GERMANY",
                            "Leipzig",
                            "DE",
                        ),
                        Event(
                            1,
                            "09:30",
                            "in_transit",
                            "Customs clearance status updated",
                            "Leipzig",
                            "DE",
                            eta=1,
                        ),
                    ),
                ),
            ),
            customer_number="C-30021",
        ),
        OrderSpec(
            number="NW-1015",
            name="Camille Dubois",
            email="camille.dubois@example.fr",
            phone="+33 4 72 00 12 34",
            street1="12 Rue de la République",
            city="Lyon",
            state="",
            postal_code="69002",
            country="FR",
            language="fr",
            currency="EUR",
            ordered=(10, "10:05"),
            items=(Item("Merino Base Layer Top, Women's M", "NW-MBL-W-M", "89.00"),),
            shipments=(
                Shipment(
                    "dhl",
                    dhl("548230187"),
                    eta=-3,
                    events=(
                        Event(9, "15:00", "info_received", "Shipment information received", "Reno, NV"),
                        Event(8, "20:10", "in_transit", "Shipment picked up", "Reno, NV"),
                        Event(
                            6,
                            "07:25",
                            "in_transit",
                            "Arrived at DHL Delivery Facility LYON - FRANCE",
                            "Lyon",
                            "FR",
                        ),
                        Event(5, "08:40", "out_for_delivery", "With delivery courier", "Lyon", "FR"),
                        Event(5, "12:18", "delivered", "Delivered - Signed for by: DUBOIS", "Lyon", "FR"),
                    ),
                ),
            ),
            customer_number="C-30007",
        ),
        OrderSpec(
            number="NW-1016",
            name="Lucía García",
            email="lucia.garcia@example.es",
            phone="+34 91 123 45 67",
            street1="Calle de Alcalá 48",
            street2="3º izquierda",
            city="Madrid",
            state="",
            postal_code="28014",
            country="ES",
            language="es",
            currency="EUR",
            ordered=(5, "21:15"),
            items=(Item("Packable Down Vest, Women's S", "NW-DV-W-S", "115.00"), socks),
            shipments=(
                Shipment(
                    "dhl",
                    dhl("548230198"),
                    eta=0,
                    events=(
                        Event(4, "17:05", "info_received", "Shipment information received", "Reno, NV"),
                        Event(3, "20:30", "in_transit", "Shipment picked up", "Reno, NV"),
                        Event(2, "03:50", "in_transit", "Processed at CINCINNATI HUB - USA", "Hebron, KY"),
                        Event(
                            1,
                            "11:05",
                            "in_transit",
                            "Arrived at Sort Facility MADRID - SPAIN",
                            "Madrid",
                            "ES",
                        ),
                        Event(0, "07:35", "out_for_delivery", "With delivery courier", "Madrid", "ES"),
                    ),
                ),
            ),
            customer_number="C-30044",
        ),
        *live_orders(),
    )


def live_number(make: Callable[[str], str], prefix: str, width: int, scenario: str) -> str:
    """The first valid number after ``prefix`` whose sandbox route tells ``scenario``."""
    for serial in range(10_000):
        number = make(f"{prefix}{serial:0{width}d}")
        if scenario_for(number) == scenario:
            return number
    raise ValueError(f"no {scenario} number with prefix {prefix}")


def live_orders() -> tuple[OrderSpec, ...]:
    """Orders the sandbox carrier moves while `manage.py demo` runs: one per carrier and story."""
    lantern = Item("Rechargeable Camp Lantern", "NW-LANT-R", "59.00")
    stories = (
        ("NW-1101", "Liam Walker", "ups", live_number(ups, "1ZLV0000030", 6, "delivered"), "97202"),
        ("NW-1102", "Ava Thompson", "fedex", live_number(fedex, "77", 9, "failed_attempt"), "97205"),
        ("NW-1103", "Noah Davis", "usps", live_number(usps, "92612903", 13, "pickup"), "97209"),
        ("NW-1104", "Mia Robinson", "dhl", live_number(dhl, "88", 7, "exception"), "97210"),
    )
    return tuple(
        OrderSpec(
            number=number,
            name=name,
            email=f"{name.lower().replace(' ', '.')}@example.com",
            phone="+1 503 555 0190",
            street1="742 Evergreen Terrace",
            city="Portland",
            state="OR",
            postal_code=postal_code,
            country="US",
            ordered=(0, "08:00"),
            items=(lantern,),
            shipments=(Shipment(carrier, tracking_number, eta=3, live=True),),
            customer_number=f"C-4{number[-3:]}",
        )
        for number, name, carrier, tracking_number, postal_code in stories
    )


# --- Building -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoTracking:
    carrier: str  # display name, e.g. "UPS"
    number: str
    status: str
    is_return: bool


@dataclass(frozen=True)
class DemoOrder:
    """What seed_demo reports per order: enough to look it up on the status page."""

    order_id: int
    order_number: str
    email: str
    postal_code: str
    status: str
    language: str
    trackings: tuple[DemoTracking, ...]
    created: bool  # False when the order was already there


def _moment(now: datetime, days: int, time: str) -> datetime:
    """Local `time` on the day `days` before today; never later than now."""
    hour, minute = (int(part) for part in time.split(":"))
    local = timezone.localtime(now) - timedelta(days=days)
    return min(local.replace(hour=hour, minute=minute, second=0, microsecond=0), now)


def _in_days(today: date, days: int | None) -> date | None:
    return None if days is None else today + timedelta(days=days)


def _build(account: Account, spec: OrderSpec, now: datetime) -> Order:
    today = timezone.localdate(now)
    order = Order.objects.create(
        account=account,
        order_number=spec.number,
        external_order_id=uuid.uuid5(EXTERNAL_ID_NAMESPACE, spec.number),
        customer_number=spec.customer_number,
        recipient_name=spec.name,
        recipient_email=spec.email,
        recipient_phone=spec.phone,
        street1=spec.street1,
        street2=spec.street2,
        city=spec.city,
        state=spec.state,
        postal_code=spec.postal_code,
        country=spec.country,
        language=spec.language,
        notes=spec.notes,
        order_date=_moment(now, *spec.ordered),
        estimated_delivery_date=_in_days(today, spec.eta),
    )
    if spec.shipments or spec.status != OrderStatus.PENDING:
        target = OrderStatus.PROCESSING if spec.shipments else spec.status
        lifecycle.transition_order(order, target)

    trackings = []
    for shipment in spec.shipments:
        tracking = lifecycle.attach_tracking(
            order=order,
            tracking_number=shipment.number,
            carrier=shipment.carrier,
            estimated_delivery_date=_in_days(today, shipment.eta),
            is_return=shipment.is_return,
        )
        if shipment.pickup:  # where the parcel waits; the checkpoints below make it "ready"
            for name, value in shipment.pickup.items():
                setattr(tracking, name, value)
            tracking.save(update_fields=list(shipment.pickup))
        if not shipment.live:  # demo history, told by the script below: no carrier to ask
            tracking.next_poll_at = None
            tracking.save(update_fields=["next_poll_at"])
        for event in shipment.events:
            lifecycle.record_checkpoint(
                tracking=tracking,
                occurred_at=_moment(now, event.days, event.time),
                status=event.status,
                message=event.message,
                location=event.location,
                country=event.country,
                estimated_delivery_date=_in_days(today, event.eta),
            )
        trackings.append(tracking)

    LineItem.objects.bulk_create(
        LineItem(
            order=order,
            tracking=trackings[item.shipment] if item.shipment is not None else None,
            name=item.name,
            sku=item.sku,
            quantity=item.quantity,
            unit_price=Decimal(item.price),
            currency=spec.currency,
        )
        for item in spec.items
    )
    return order


def _record(order: Order, created: bool) -> DemoOrder:
    return DemoOrder(
        order_id=order.pk,
        order_number=order.order_number,
        email=order.recipient_email,
        postal_code=order.postal_code,
        status=order.status,
        language=order.language,
        trackings=tuple(
            DemoTracking(get_carrier(t.carrier).name, t.tracking_number, t.status, t.is_return)
            for t in order.trackings.all()
        ),
        created=created,
    )


def seed_demo() -> list[DemoOrder]:
    """Create the demo account and whichever demo orders are missing; report every demo order.

    Run it inside a transaction (the `seed_demo` command does), so a failure leaves no half demo.
    """
    now = timezone.now()
    account, _ = Account.objects.get_or_create(slug=ACCOUNT["slug"], defaults=ACCOUNT)
    specs = demo_orders()
    existing = set(
        Order.objects.filter(account=account, order_number__in=[s.number for s in specs]).values_list(
            "order_number", flat=True
        )
    )
    created = {spec.number for spec in specs if spec.number not in existing}
    for spec in specs:
        if spec.number in created:
            _build(account, spec, now)

    orders = {
        order.order_number: order
        for order in Order.objects.filter(
            account=account, order_number__in=[s.number for s in specs]
        ).prefetch_related("trackings")
    }
    return [_record(orders[spec.number], spec.number in created) for spec in specs]
