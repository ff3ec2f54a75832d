"""Languages: English, German, French and Spanish, picked by `lang`, the order's language, then the
browser's Accept-Language; the compiled catalogues ship with the code."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from orders.formatting import localized
from orders.presentation import short_date

from .conftest import days_ago, make_order, scan, ship

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "orders" / "locale"
# What a shopper reads on a page with one shipment out for delivery, and the weekday of a date.
EXPECTED = {
    "en": ["Out for delivery", "Carrier", "Tracking number", "Shipping address", "Step 4 of 5"],
    "de": ["In Zustellung", "Versanddienstleister", "Sendungsnummer", "Lieferadresse", "Schritt 4 von 5"],
    "fr": [
        "En cours de livraison",
        "Transporteur",
        "Numéro de suivi",
        "Adresse de livraison",
        "Étape 4 sur 5",
    ],
    "es": ["En reparto", "Transportista", "Número de seguimiento", "Dirección de envío", "Paso 4 de 5"],
}


@pytest.fixture
def out_for_delivery(account):
    order = make_order(account, order_number="5005", language="")
    tracking = ship(
        order, "1Z999AA10123456784", estimated_delivery_date=timezone.localdate() + timedelta(days=1)
    )
    scan(tracking, "in_transit", days_ago(1))
    scan(tracking, "out_for_delivery", days_ago(0.1))
    return order


@pytest.mark.parametrize("lang", EXPECTED)
def test_lang_parameter_picks_the_page_language(client, out_for_delivery, lang):
    response = client.get(out_for_delivery.status_url(absolute=False, lang=lang))
    html = response.text
    assert response.status_code == 200
    assert response["Content-Language"] == lang and f'<html lang="{lang}">' in html
    for text in EXPECTED[lang]:
        assert text in html, text
    assert f'<h1 id="headline" class="headline">{EXPECTED[lang][0]}</h1>' in html


@pytest.mark.parametrize("lang", EXPECTED)
def test_dates_are_formatted_in_the_page_language(client, out_for_delivery, lang):
    eta = timezone.localdate() + timedelta(days=1)
    with translation.override(lang), localized(out_for_delivery.account, lang):
        expected = short_date(eta)  # the per-language format, pinned in test_presentation
    html = client.get(out_for_delivery.status_url(absolute=False, lang=lang)).text
    assert str(eta.day) in expected
    assert re.search(rf"[> ]{re.escape(expected)}[ <]", html)


def test_order_language_is_used_without_lang(client, out_for_delivery):
    out_for_delivery.language = "de"
    out_for_delivery.save()
    response = client.get(out_for_delivery.status_url(absolute=False), HTTP_ACCEPT_LANGUAGE="fr")
    assert "In Zustellung" in response.text and response["Content-Language"] == "de"
    assert "In Zustellung" not in client.get(out_for_delivery.status_url(absolute=False, lang="es")).text


def test_accept_language_is_used_when_nothing_else_says(client, out_for_delivery):
    response = client.get("/track/?tracking_number=1Z999AA10123456784", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert "En reparto" in response.text and response["Content-Language"] == "es"


def test_limited_page_does_not_reveal_the_order_language(client, out_for_delivery):
    out_for_delivery.language = "de"
    out_for_delivery.save()
    response = client.get("/track/?tracking_number=1Z999AA10123456784", HTTP_ACCEPT_LANGUAGE="en")
    assert "Out for delivery" in response.text and "In Zustellung" not in response.text


def test_unsupported_lang_falls_back_to_the_browser_language(client, out_for_delivery):
    response = client.get(out_for_delivery.status_url(absolute=False, lang="xx"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200 and "En cours de livraison" in response.text


@pytest.mark.parametrize(
    ("lang", "text"), [("de", "Wo ist meine Bestellung?"), ("fr", "Où est ma commande ?"), ("es", "¿Dónde")]
)
def test_lookup_form_and_its_errors_are_translated(client, account, lang, text):
    assert text in client.get(f"/?lang={lang}").text
    response = client.post(
        f"/?lang={lang}", {"mode": "order", "order_number": "1", "verification": "x@example.org"}
    )
    assert response.status_code == 404 and text in response.text
    assert "couldn't find" not in response.text
    assert text in client.get("/", HTTP_ACCEPT_LANGUAGE=lang).text


def test_language_links_keep_the_signed_link(client, out_for_delivery):
    url = out_for_delivery.status_url(absolute=False)
    html = client.get(url).text
    german = re.search(r'href="([^"]+)" lang="de"', html)[1].replace("&amp;", "&")
    assert german == url + "&lang=de"
    assert "In Zustellung" in client.get(german).text


def test_emailed_links_are_written_in_the_page_language(client, out_for_delivery):
    client.post("/?lang=fr", {"mode": "email", "email": "jane.shopper@example.com"})
    message = mail.outbox[0]
    assert message.subject == "Vos commandes chez Acme Outfitters"
    assert "Commande 5005 du" in message.body and "lang=fr" in message.body
    assert '<html lang="fr">' in message.alternatives[0][0]


@pytest.mark.parametrize("lang", ["de", "fr", "es"])
def test_compiled_catalogue_matches_the_translations(lang):
    """The .mo files are committed; they must be compiled from the current .po files."""
    po = (LOCALE / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert (LOCALE / lang / "LC_MESSAGES" / "django.mo").exists()
    singles = re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.+)"\nmsgstr "(.*)"$', po, re.M)
    assert len(singles) > 100
    untranslated = [msgid for _context, msgid, msgstr in singles if not msgstr]
    assert untranslated == []
    with translation.override(lang):
        stale = [
            msgid
            for context, msgid, msgstr in singles
            if "\\" not in msgid
            and (pgettext(context, msgid) if context else gettext(msgid)) != msgstr.replace('\\"', '"')
        ]
    assert stale == []
    assert "#, fuzzy" not in po
