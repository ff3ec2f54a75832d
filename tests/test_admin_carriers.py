"""What staff see and do about carrier polling: per-carrier health, per-shipment state, "poll now",
and an account's own carrier credentials (encrypted, write-only)."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest
from django.urls import reverse

from orders.carriers import registry
from orders.models import CarrierCredential, PollOutcome, Tracking

from .conftest import STEP, make_order, ship
from .test_admin import form_data
from .test_carrier_polling import poll_once

TRACKINGS = reverse("admin:orders_tracking_changelist")


def test_the_changelist_says_which_carriers_are_polled_and_how_the_last_hour_went(
    admin_client,
    sandbox,
    settings,
):
    settings.DHL_API_KEY = ""
    tracking = ship(make_order(), "1Z999AA10123456784", carrier="ups")
    sandbox.fail_next("ups", 500)
    poll_once("--carrier", "ups")

    page = admin_client.get(TRACKINGS).content.decode()
    start = page.index('id="carrier-apis"')
    table = page[start : page.index("</table>", start)]
    ups = table[table.index(">UPS<") :].split("</tr>")[0]
    dhl = table[table.index(">DHL<") :].split("</tr>")[0]
    assert "deployment" in ups
    assert "<strong>1</strong>" in ups  # one error in the last hour
    assert "HTTP 500" in ups
    assert "not polled: no credentials" in dhl
    assert tracking.tracking_number in page


def test_a_shipment_page_shows_its_polling_state(admin_client, sandbox, settings):
    tracking = ship(make_order(), "1Z999AA10123456784", carrier="ups")
    poll_once()
    page = admin_client.get(reverse("admin:orders_tracking_change", args=[tracking.pk])).content.decode()
    assert "Next poll due" in page
    assert "Updated" in page  # the last outcome

    settings.UPS_CLIENT_ID = ""
    page = admin_client.get(reverse("admin:orders_tracking_change", args=[tracking.pk])).content.decode()
    assert "Not polled: no UPS credentials" in page


def test_poll_now_asks_the_carrier_at_once(admin_client, sandbox, clock):
    tracking = ship(make_order(), "1Z999AA10123456784", carrier="ups")
    Tracking.objects.filter(pk=tracking.pk).update(next_poll_at=clock.now + timedelta(hours=5))
    sandbox.start(tracking.tracking_number, clock.now - STEP * 2)
    response = admin_client.post(
        TRACKINGS, {"action": "poll_now", "_selected_action": [tracking.pk]}, follow=True
    )
    assert "Polled 1 shipment(s). ok: 1" in response.content.decode()
    assert tracking.checkpoints.count() == 3


@pytest.fixture
def account_form(admin_client, account):
    url = reverse("admin:orders_account_change", args=[account.pk])
    data = form_data(admin_client.get(url))
    data.pop("logo", None)
    prefix = "carrier_credentials"
    data |= {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-0-account": str(account.pk),
        f"{prefix}-0-api": "ups",
        f"{prefix}-0-client_id": "shop-client",
        f"{prefix}-0-client_secret": "shop-secret-123",
        f"{prefix}-0-api_url": "",
    }
    return url, data


def test_an_accounts_carrier_secret_is_stored_encrypted_and_never_shown(admin_client, account, account_form):
    url, data = account_form
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    credential = CarrierCredential.objects.get(account=account, api="ups")
    assert credential.client_secret == "shop-secret-123"
    assert "shop-secret-123" not in credential.client_secret_encrypted
    page = admin_client.get(url).content.decode()
    assert "shop-secret-123" not in page
    assert "shop-client" in page

    # Saving again with the secret field left empty keeps the secret.
    data = form_data(admin_client.get(url))
    data.pop("logo", None)
    data["carrier_credentials-0-client_id"] = "renamed-client"
    assert admin_client.post(url, data).status_code == 302
    credential.refresh_from_db()
    assert (credential.client_id, credential.client_secret) == ("renamed-client", "shop-secret-123")


def test_an_account_credential_without_its_secret_is_refused(admin_client, account, account_form):
    url, data = account_form
    data["carrier_credentials-0-client_secret"] = ""
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "needs a client id and a client secret" in response.content.decode()
    assert not CarrierCredential.objects.exists()


def test_an_account_with_its_own_credentials_is_polled_with_them(db, settings, account):
    settings.UPS_CLIENT_ID = settings.UPS_CLIENT_SECRET = ""
    settings.UPS_API_URL = "http://carriers.test/ups"
    credential = CarrierCredential(account=account, api="ups", client_id="shop-client")
    credential.client_secret = "shop-secret"
    credential.save()
    seen = []

    def carrier(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(
                200, json={"access_token": "t", "token_type": "Bearer", "expires_in": "3599"}
            )
        return httpx.Response(503)

    registry.transport = httpx.MockTransport(carrier)
    try:
        tracking = ship(make_order(account=account), "1Z999AA10123456784", carrier="ups")
        output = poll_once("--carrier", "ups")
    finally:
        registry.transport = None
    expected = "Basic " + base64.b64encode(b"shop-client:shop-secret").decode()
    assert seen[0] == expected
    assert "ups: 1 polled" in output
    tracking.refresh_from_db()
    assert tracking.last_poll_outcome == PollOutcome.UNAVAILABLE
