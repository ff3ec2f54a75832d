"""Notifications: status emails rendered per second and webhook deliveries per second per worker.

Run: ``.venv/bin/python bench/notifications_throughput.py [N]`` (needs PostgreSQL on 127.0.0.1:5432).

1. Emails: N orders with a shipment; each renders one status email (context with signed page,
   widget and unsubscribe links, HTML + text templates, CSS inlined by css-inline). Baseline in
   the same run: the app's existing "email me my links" templates rendered for the same orders
   (no inlining). Also the share css-inline takes.
2. Webhooks: N deliveries to a receiver in its own process on localhost, made by one worker
   (claim, sign, POST through the SSRF-guarded shared client, log). Baseline in the same run: the
   same signed bodies POSTed bare with one httpx client (keep-alive, no database).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import PYTHON, ROOT, environment, fresh_database, manage


def timed(fn, items) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def main(n: int) -> None:
    with fresh_database("bench_notifications") as database:
        env = environment(database)
        manage(env, "migrate", "--noinput")
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "statuspage.settings"
        os.environ["ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "1"
        os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
        import django

        django.setup()
        run(n)


def run(n: int) -> None:
    import httpx
    from django.template.loader import render_to_string
    from django.utils import timezone, translation

    from orders import lifecycle
    from orders.models import Account, Order
    from orders.notifications import emails, merchant_webhooks
    from orders.notifications.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
    from orders.notifications.outbox import settle

    account = Account.objects.create(name="Bench Shop", slug="bench", support_email="help@bench.test")
    orders = []
    for i in range(n):
        order = Order.objects.create(account=account, order_number=f"B-{i}", recipient_email=f"s{i}@x.test")
        lifecycle.attach_tracking(order=order, tracking_number=f"1Z999AA1{i:010d}", carrier="ups")
        orders.append(Order.objects.select_related("account").get(pk=order.pk))
    settle(o.pk for o in orders)

    # 1. Emails rendered per second
    def links_email(order):
        with translation.override("en"):
            link = {
                "order": order,
                "url": order.status_url(kind="page"),
                "status": "Shipped",
                "ordered_on": "today",
            }
            context = {"links": [link], "shop": order.account, "days": 30, "lang": "en"}
            render_to_string("orders/email/order_links.txt", context)
            render_to_string("orders/email/order_links.html", context)

    for order in orders[:20]:  # warm template caches
        emails.render_event(order, "shipped")
        links_email(order)
    ours = timed(lambda o: emails.render_event(o, "shipped"), orders)
    baseline = timed(links_email, orders)
    html = render_to_string("orders/email/status.html", {"subject": "x", "brand_color": "#123456"})
    inline = timed(lambda _o: emails._inliner.inline(html), orders)
    print(f"emails rendered per second (1 process): {ours:,.0f}")
    print(f"  baseline, the 'email me my links' templates: {baseline:,.0f}  -> ratio {ours / baseline:.2f}")
    print(f"  css-inline alone on the status template: {inline:,.0f}/s ({ours / inline:.0%} of a render)")

    # 2. Webhook deliveries per second per worker
    receiver = subprocess.Popen(
        [str(PYTHON), str(ROOT / "bench" / "_webhook_receiver.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(receiver.stdout.readline())
        WebhookEndpoint.objects.create(account=account, url=f"http://127.0.0.1:{port}/hooks",
                                       events=["order.status_changed"])  # fmt: skip
        OutboxEvent.objects.filter(event="order.status_changed").update(handled_at=None)
        ids = []
        for order in orders:
            ids += merchant_webhooks.fan_out(order.pk)
        deliveries = list(WebhookDelivery.objects.filter(pk__in=ids).select_related("endpoint"))
        bodies = [(d.message_id, d.payload, d.endpoint.secret) for d in deliveries]
        ours = timed(lambda pk: merchant_webhooks.deliver(pk), ids)
        assert WebhookDelivery.objects.filter(status="sent").count() == len(ids)

        def bare(item):
            message_id, body, secret = item
            now = timezone.now()
            signature = merchant_webhooks.signature_header([secret], message_id, now, body)
            headers = {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                       "webhook-signature": signature, "content-type": "application/json"}  # fmt: skip
            bare_client.post(f"http://127.0.0.1:{port}/hooks", content=body.encode(), headers=headers)

        bare_client = httpx.Client()
        baseline = timed(bare, bodies)
        print(f"webhook deliveries per second (1 worker): {ours:,.0f}")
        print(
            f"  baseline, the same signed POSTs bare with httpx: {baseline:,.0f}"
            f"  -> ratio {ours / baseline:.2f}"
        )
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
