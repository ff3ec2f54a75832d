"""Carrier event text as UPS, FedEx, USPS, DHL, DPD, GLS, Hermes/Evri, PostNL, La Poste, Correos,
Poste Italiane/BRT and InPost/Poczta Polska write it: the people in it never reach the limited view
or the widget; everything else does."""

import pytest

from orders.privacy.scrub import scrub

# (carrier text, what the limited view shows, personal bits that must be gone)
PERSONAL = [
    # UPS / FedEx / USPS / DHL Express (en)
    ("Delivered - Signed for by : J SMITH", "Delivered - Signed for", ["SMITH"]),
    ("DELIVERED - SIGNED FOR BY: JOHN SMITH", "DELIVERED - SIGNED FOR", ["JOHN", "SMITH"]),
    ("Delivered. Signed for by: J.SMITH", "Delivered. Signed for", ["SMITH"]),
    (
        "Delivered; Received By: MILLER; Left At: Front Door",
        "Delivered; Received; Left At: Front Door",
        ["MILLER"],
    ),
    ("Left with neighbour J. MILLER at 14 Oak Road", "Left with neighbour", ["MILLER", "Oak Road", "14"]),
    ("Delivered, Left with Individual", "Delivered, Left with Individual", []),
    (
        "Your package was released to a neighbour: A BROWN",
        "Your package was released to a neighbour",
        ["BROWN"],
    ),
    # DPD UK / Evri (en)
    (
        "Your parcel was delivered to your neighbour at No. 12 and signed for by JONES",
        "Your parcel was delivered to your neighbour and signed for",
        ["JONES", "12"],
    ),
    ("Delivered to your neighbour at 12 High Street", "Delivered to your neighbour", ["High Street", "12"]),
    (
        "Delivered to Mrs Jones, 4 Park Lane, London W1K 1AA",
        "Delivered, London",
        ["Jones", "Park Lane", "W1K"],
    ),
    # DHL Paket, Hermes, DPD, GLS (de)
    (
        "Die Sendung wurde beim Nachbarn Herrn Schulz zugestellt.",
        "Die Sendung wurde beim Nachbarn zugestellt.",
        ["Schulz"],
    ),
    (
        "Zustellung erfolgt an Nachbar Meier, Lindenstraße 12",
        "Zustellung erfolgt an Nachbar",
        ["Meier", "Lindenstraße", "12"],
    ),
    ("Die Sendung wurde zugestellt. Empfänger: Müller", "Die Sendung wurde zugestellt.", ["Müller"]),
    ("Zugestellt an Frau Anna Schmidt, Hauptstr. 5", "Zugestellt", ["Anna", "Schmidt", "Hauptstr"]),
    # La Poste / Colissimo / Chronopost (fr)
    (
        "Votre colis a été remis à votre voisin M. DUPONT, 12 rue de la Paix.",
        "Votre colis a été remis à votre voisin.",
        ["DUPONT", "rue de la Paix", "12"],
    ),
    ("Livré. Réceptionné par : Mme LEFEBVRE", "Livré. Réceptionné", ["LEFEBVRE"]),
    ("Votre colis est livré à Jean Martin", "Votre colis est livré", ["Jean", "Martin"]),
    # Correos / SEUR (es)
    ("Entregado. Receptor: JUAN GARCIA LOPEZ", "Entregado.", ["JUAN", "GARCIA", "LOPEZ"]),
    ("Entregado a vecino JUAN GARCIA", "Entregado a vecino", ["JUAN", "GARCIA"]),
    ("Firmado por: María López, Calle Mayor 5", "Firmado", ["María", "López", "Mayor"]),
    # PostNL (nl)
    ("Zending is bij de buren bezorgd, huisnummer 14", "Zending is bij de buren bezorgd", ["14"]),
    ("Bezorgd. Getekend door: de Vries", "Bezorgd. Getekend", ["Vries"]),
    ("Afgeleverd aan J. Jansen, Kerkstraat 14", "Afgeleverd", ["Jansen", "Kerkstraat"]),
    # Poste Italiane / BRT (it)
    ("Consegnata al vicino di casa Sig. Rossi", "Consegnata al vicino di casa", ["Rossi"]),
    ("Consegnato. Firmato da: MARIO ROSSI", "Consegnato. Firmato", ["MARIO", "ROSSI"]),
    ("Consegnato in Via Roma 10", "Consegnato in", ["Roma", "10"]),
    # InPost / Poczta Polska / DPD Polska (pl)
    (
        "Przesyłka doręczona do sąsiada: Jan Kowalski, ul. Polna 5/2",
        "Przesyłka doręczona do sąsiada",
        ["Jan", "Kowalski", "Polna"],
    ),
    ("Doręczono. Odebrał: KOWALSKI", "Doręczono. Odebrano", ["KOWALSKI"]),
    ("Przesyłka wydana Pani Nowak", "Przesyłka wydano", ["Nowak"]),
    ("Delivered. Left with receptionist SARAH.", "Delivered. Left with receptionist.", ["SARAH"]),
    ("Recibido por el portero Luis", "Recibido por el portero", ["Luis"]),
    ("Ihre Sendung wurde an Herrn Müller übergeben.", "Ihre Sendung wurde an übergeben.", ["Müller"]),
    # contact details anywhere
    ("Please contact jane.doe@example.com to rearrange", "Please contact to rearrange", ["jane.doe"]),
    ("Call +44 7700 900123 to arrange a new delivery", "Call to arrange a new delivery", ["7700"]),
    ("Recipient phone (512) 555-0100 not answered", "Recipient phone not answered", ["555"]),
    (
        "Delivered to 123 Main St, Apt 4B, Austin TX 78701-1234",
        "Delivered, Austin TX",
        ["Main St", "1234"],
    ),
]

UNCHANGED = [
    "Arrived at DHL Sort Facility LEIPZIG - GERMANY",
    "Shipment information received",
    "Out for delivery",
    "Delivered, In/At Mailbox",
    "Delivered, Front Door/Porch",
    "Left at front door. Signature Service not requested.",
    "The parcel has been delivered at the neighbour's (see signature).",
    "Das Paket wurde beim Nachbarn zugestellt (siehe Unterschrift).",
    "Die Sendung wurde im Start-Paketzentrum bearbeitet.",
    "Der Empfänger hat die Sendung aus der Packstation abgeholt.",
    "Votre colis est en cours d'acheminement.",
    "Tu envío está en tránsito.",
    "Zending is gesorteerd",
    "In consegna",
    "Przesyłka w drodze",
    "Arrived at facility 12.01.2024 14:05",
    "Delivered to UPS Access Point™",
    "Departed from FedEx location MEMPHIS, TN",
    "Sendung 00340434161094042557 wurde zugestellt",
    "Package delivered to recipient address - release authorized",
    "Your parcel has been delivered to your safe place: Porch",
    "Zugestellt an Empfänger",
    "Votre colis a été livré au destinataire",
    "Entregado al destinatario",
    "Consegnato al destinatario",
    "Doręczono do adresata",
    "Bezorgd bij de ontvanger",
]


@pytest.mark.parametrize(("text", "expected", "gone"), PERSONAL)
def test_people_and_places_leave_carrier_text(text, expected, gone):
    scrubbed = scrub(text)
    assert scrubbed == expected
    for bit in gone:
        assert bit not in scrubbed


@pytest.mark.parametrize("text", UNCHANGED)
def test_impersonal_carrier_text_is_untouched(text):
    assert scrub(text) == text


def test_empty_text_stays_empty():
    assert scrub("") == ""


# --- where the text is shown ------------------------------------------------------------------------

SIGNED = "Delivered - Signed for by : J SMITH"
NEIGHBOUR = "Left with neighbour J. MILLER at 14 Oak Road"
NUMBER = "1Z999AA10123456784"


@pytest.fixture
def delivered_to_neighbour(account):
    from .conftest import days_ago, make_order, scan, ship

    order = make_order(account, order_number="1001")
    tracking = ship(order, NUMBER)
    scan(tracking, "out_for_delivery", days_ago(0.5), message=NEIGHBOUR, location="Austin, TX")
    scan(tracking, "delivered", days_ago(0.2), message=SIGNED, location="14 Oak Road, Austin")
    return order


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        f"/track/?tracking_number={NUMBER}&all=1",
        f"/track/status/?tracking_number={NUMBER}",
        f"/track/timeline/?tracking_number={NUMBER}&shipment=1",
        f"/v4/track/orders/info/?tracking_number={NUMBER}",
    ],
)
def test_the_limited_view_shows_carrier_text_without_the_people(client, delivered_to_neighbour, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert "SMITH" not in body and "MILLER" not in body and "Oak Road" not in body
    assert "Signed for" in body and "Left with neighbour" in body


@pytest.mark.django_db
def test_the_limited_info_api_scrubs_details_and_places(client, delivered_to_neighbour):
    info = client.get(f"/v4/track/orders/info/?tracking_number={NUMBER}").json()
    tracking = info["trackings"][0]
    assert info["access"] == "limited"
    assert tracking["last_delivery_status"]["status_details"] == "Delivered - Signed for"
    assert [c["status_details"] for c in tracking["checkpoints"]] == [
        "Delivered - Signed for",
        "Left with neighbour",
    ]
    assert tracking["checkpoints"][0]["location"] == "Austin, US"


@pytest.mark.django_db
def test_full_access_shows_the_carrier_text_as_written(client, delivered_to_neighbour):
    page = client.get(delivered_to_neighbour.status_url(absolute=False) + "&all=1").content.decode()
    assert "J SMITH" in page and "J. MILLER at 14 Oak Road" in page
    info = client.get(delivered_to_neighbour.status_url(kind="info", absolute=False)).json()
    assert info["access"] == "full"
    assert info["trackings"][0]["last_delivery_status"]["status_details"] == SIGNED


@pytest.mark.django_db
def test_the_widget_never_names_who_took_the_parcel_even_at_full_access(delivered_to_neighbour):
    from orders.lookup import resolve
    from orders.widget import state as widget_state

    result = resolve(delivered_to_neighbour.link_params())
    assert result.is_full
    state = widget_state.build_state(result, lang="en")
    assert "SMITH" not in repr(state) and "Oak Road" not in repr(state)
    assert "Signed for" in state.shipments[0].detail


@pytest.mark.django_db
def test_scrubbing_never_changes_what_is_stored(client, delivered_to_neighbour):
    from orders.models import Checkpoint

    client.get(f"/v4/track/orders/info/?tracking_number={NUMBER}")
    assert set(Checkpoint.objects.values_list("message", flat=True)) == {SIGNED, NEIGHBOUR}


@pytest.mark.parametrize("text", ["Scan number 4", "Delivery attempt number 2", "Sorted on belt 12"])
def test_numbers_that_are_not_house_numbers_stay(text):
    assert scrub(text) == text
