"""Admin: email switches per account, status emails per order with resend and previews,
webhook endpoints (secret shown once, https, rotation) and their delivery log with resend."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from orders.notifications.models import (
    EmailNotification,
    NotificationSettings,
    WebhookDelivery,
    WebhookEndpoint,
)

from .conftest import ship
from .test_merchant_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_adding_an_endpoint_shows_its_secret_once(admin_client, account, settings):
    settings.DEBUG = False
    url = reverse("admin:orders_webhookendpoint_add")
    hooks = "https://shop.example.com/hooks"
    form = {"account": account.pk, "url": hooks, "events": ["order.status_changed"], "is_active": "on"}
    response = admin_client.post(url, form, follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in response.content.decode()
    change = admin_client.get(reverse("admin:orders_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200 and endpoint.secret not in change.content.decode()


def test_an_http_endpoint_is_refused_outside_debug(admin_client, account, settings):
    settings.DEBUG = False
    form = {"account": account.pk, "url": "http://shop.example.com/hooks", "events": ["order.status_changed"]}
    response = admin_client.post(reverse("admin:orders_webhookendpoint_add"), form)
    assert response.status_code == 200 and "https://" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_rotating_shows_the_new_secret_and_keeps_the_old_one_signing(admin_client, account):
    endpoint = WebhookEndpoint.objects.create(
        account=account, url="https://shop.example.com/", events=["order.status_changed"]
    )
    old = endpoint.secret
    response = admin_client.post(
        reverse("admin:orders_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    assert endpoint.signing_secrets() == [endpoint.secret, old]


def test_the_delivery_log_shows_attempts_and_resend_delivers(admin_client, account, order, commit, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_TARGETS = True
    receiver = Receiver()
    try:
        receiver.script = [(500, {})]
        endpoint = WebhookEndpoint.objects.create(
            account=account, url=receiver.url, events=["order.status_changed"]
        )
        with commit():
            ship(order)
        delivery = WebhookDelivery.objects.get()
        log = admin_client.get(
            reverse("admin:orders_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        )
        assert "order.status_changed" in log.content.decode() and ">500<" in log.content.decode()
        detail = admin_client.get(reverse("admin:orders_webhookdelivery_change", args=[delivery.pk]))
        assert order.order_number in detail.content.decode()  # the request body
        admin_client.post(
            reverse("admin:orders_webhookdelivery_changelist"),
            {"action": "resend", "_selected_action": [delivery.pk]},
        )
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("sent", 2, 2)
    finally:
        receiver.close()


def test_an_orders_status_emails_are_listed_and_can_be_sent_again(admin_client, order, commit):
    with commit():
        ship(order)
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Status emails" in page and "Jane.Shopper@example.com" in page
    notification = EmailNotification.objects.get()
    admin_client.post(
        reverse("admin:orders_emailnotification_changelist"),
        {"action": "resend", "_selected_action": [notification.pk]},
    )
    assert len(mail.outbox) == 2 and mail.outbox[0].subject == mail.outbox[1].subject
    assert EmailNotification.objects.filter(status="sent").count() == 2


def test_an_order_page_shows_its_latest_status_emails_and_links_to_all(admin_client, order, account):
    from orders.admin.notifications import STATUS_EMAILS_SHOWN

    from .conftest import make_order

    other = make_order(account, order_number="NW-OTHER")
    EmailNotification.objects.create(order=other, to="other@example.com", language="en", event="shipped")
    for n in range(STATUS_EMAILS_SHOWN + 2):
        EmailNotification.objects.create(order=order, to=f"s{n}@example.com", language="en", event="shipped")
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    shown = [n for n in range(STATUS_EMAILS_SHOWN + 2) if f"s{n}@example.com" in page]
    assert shown == list(range(2, STATUS_EMAILS_SHOWN + 2))  # the newest ten
    link = reverse("admin:orders_emailnotification_changelist") + f"?order__id__exact={order.pk}"
    assert f'href="{link}"' in page.replace("&amp;", "&")
    listed = admin_client.get(link)
    assert listed.status_code == 200
    assert len(listed.context["cl"].result_list) == STATUS_EMAILS_SHOWN + 2  # not the other order's


def test_every_template_can_be_previewed_in_every_language(admin_client, order):
    preview = reverse("admin:orders_emailnotification_preview")
    index = admin_client.get(preview).content.decode()
    assert index.count("&amp;lang=") >= 8 * 4
    german = admin_client.get(preview, {"order": order.pk, "event": "delivered", "lang": "de"})
    assert (
        german.status_code == 200
        and f"Ihre Bestellung {order.order_number} wurde zugestellt" in german.content.decode()
    )
    text = admin_client.get(
        preview, {"order": order.pk, "event": "failed_attempt", "lang": "es", "part": "text"}
    )
    assert "Qué hacer" in text.content.decode()
    assert admin_client.get(preview, {"event": "nope", "lang": "de"}).status_code == 400


def test_an_account_switches_email_events_off(admin_client, account):
    url = reverse("admin:orders_account_change", args=[account.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "logo"}
    data |= {"name": account.name, "slug": account.slug, "default_language": "en", "brand_color": "#1f6feb"}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data |= {f"{inline.formset.prefix}-{k}": v for k, v in management.initial.items()}
    data |= {"notification_settings-0-emails_enabled": "on", "notification_settings-0-shipped": "on",
             "notification_settings-0-delivered": "on"}  # fmt: skip
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    switches = NotificationSettings.objects.get(account=account)
    assert switches.shipped and switches.delivered and not switches.out_for_delivery
