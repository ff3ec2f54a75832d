"""A NUL character in any parameter, and a form in a charset other than UTF-8, are a 400 in the
endpoint's own shape at every endpoint, and write nothing. (On PostgreSQL a NUL that reached a
query used to be a 500.)"""

import pytest
from django.contrib.auth.models import User

from orders import webhooks
from orders.models import Order, WebhookEvent

from .conftest import make_order, ship

pytestmark = pytest.mark.django_db

NUMBER = "1Z999AA10123456784"


@pytest.fixture
def shipped(account):
    order = make_order(account, order_number="1001")
    ship(order, NUMBER)
    return order


HTML_PATHS = ["/", "/track/", "/track/status/", "/track/timeline/"]
QUERIES = [
    "account=%00",
    "account=1&order_number=%00",
    f"tracking_number={NUMBER}&lang=%00",
    f"tracking_number={NUMBER}&open=%00",
    f"tracking_number={NUMBER}&%00=1",
    "order_number=1001&recipient_email=a%00@example.com",
    "mode=tracking&tracking_number=%00",
]


@pytest.mark.parametrize("path", HTML_PATHS)
@pytest.mark.parametrize("query", QUERIES)
def test_a_nul_in_a_page_parameter_is_the_check_the_link_page(client, shipped, path, query):
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert "Please check the link" in response.text and "NUL characters are not allowed." in response.text
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize("query", QUERIES)
def test_a_nul_in_an_info_api_parameter_is_a_json_400(client, shipped, query):
    response = client.get(f"/v4/track/orders/info/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (
        error["code"] == "validation_error"
        and error["details"]["reason"] == "NUL characters are not allowed."
    )


@pytest.mark.parametrize("query", [*QUERIES, f"tracking_number={NUMBER}&width=%00"])
def test_a_nul_in_a_widget_parameter_is_a_png_400(client, shipped, query):
    response = client.get(f"/v4/track/orders/info-widget/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "image/png" and response.content.startswith(b"\x89PNG")


def test_a_nul_in_an_orders_api_parameter_is_a_json_400(client, account, shipped):
    from orders import apikeys

    headers = {"X-API-Key": apikeys.create_key(account=account, name="test").secret}
    response = client.get("/v1/orders/1001?expand=%00", headers=headers)
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "expand"
    body = b'{"orderNumber": "2002"}'
    response = client.post("/v1/orders?x=%00", body, content_type="application/json", headers=headers)
    assert response.status_code == 400 and Order.objects.count() == 1


def test_a_nul_in_the_webhook_query_is_a_json_400_and_stores_nothing(client, account):
    body = b'{"id": "evt_1", "type": "order.cancelled", "data": {"orderId": "X1"}}'
    response = client.post(
        "/webhooks/nimbus/?account=%00", body, content_type="application/json",
        headers={"Statuspage-Signature": webhooks.sign(account.webhook_secret, body)},
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "account"
    assert not WebhookEvent.objects.exists()


def test_a_nul_in_the_admin_search_is_a_400(client, shipped):
    staff = User.objects.create_superuser("staff", "staff@example.com", "pw-for-tests")
    client.force_login(staff)
    assert client.get("/admin/orders/order/?q=1001").status_code == 200
    assert client.get("/admin/orders/order/?q=%00").status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"mode": "order", "order_number": "1001", "verification": "787\x0001"},
        {"mode": "tracking", "tracking_number": "\x00"},
        {"mode": "order\x00", "order_number": "1001", "verification": "78701"},
    ],
)
@pytest.mark.parametrize("path", ["/", "/track/"])
def test_a_nul_in_a_form_field_is_a_400(client, shipped, path, data):
    response = client.post(path, data)
    assert response.status_code == 400


FOREIGN_FORMS = [
    (
        "application/x-www-form-urlencoded; charset=latin-1",
        "order_number=1001&verification=caf\xe9".encode("latin-1"),
    ),
    ("application/x-www-form-urlencoded; charset=utf-16", "order_number=1001".encode("utf-16")),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"order_number=1001"),
    (
        "multipart/form-data; boundary=XX; charset=latin-1",
        b'--XX\r\nContent-Disposition: form-data; name="order_number"\r\n\r\n1001\xe9\r\n--XX--\r\n',
    ),
]


@pytest.mark.parametrize(("content_type", "body"), FOREIGN_FORMS)
@pytest.mark.parametrize("path", ["/", "/track/", "/admin/login/"])
def test_a_form_in_another_charset_is_a_400_and_writes_nothing(client, shipped, path, content_type, body):
    response = client.generic("POST", path, body, content_type=content_type)
    assert response.status_code == 400
    assert Order.objects.count() == 1


@pytest.mark.parametrize(("content_type", "body"), FOREIGN_FORMS[:2])
def test_a_form_in_another_charset_at_an_api_is_a_json_400(client, account, content_type, body):
    response = client.generic("POST", "/webhooks/nimbus/", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["reason"] == "Send forms encoded as UTF-8."
    assert not WebhookEvent.objects.exists()


def test_a_utf8_form_still_works(client, shipped):
    response = client.generic(
        "POST", "/", b"mode=tracking&tracking_number=" + NUMBER.encode(),
        content_type="application/x-www-form-urlencoded; charset=UTF-8",
    )  # fmt: skip
    assert response.status_code == 303
