"""Data for the fault suite, written into its own PostgreSQL by the app's own code; prints what
the request loop needs as JSON. Run with the app's environment: python -m tests.faults.seed"""

import json

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from orders import apikeys, lifecycle  # noqa: E402
from orders.models import Account, Order  # noqa: E402

ORDERS = 6


def main() -> None:
    call_command("migrate", verbosity=0, interactive=False)
    account = Account.objects.create(name="Faults Inc", slug="faults", support_email="help@faults.test")
    orders = []
    for n in range(ORDERS):
        order = Order.objects.create(
            account=account,
            order_number=f"F-{n}",
            recipient_name="Jane Shopper",
            recipient_email=f"jane{n}@example.com",
            postal_code="78701",
            country="US",
            language="en",
        )
        tracking = lifecycle.attach_tracking(order=order, tracking_number=f"1ZFAULT{n:011d}", carrier="ups")
        orders.append(
            {
                "pk": order.pk,
                "number": order.order_number,
                "email": order.recipient_email,
                "tracking": tracking.tracking_number,
                "page": order.status_url(kind="page", absolute=False),
                "info": order.status_url(kind="info", absolute=False),
                "widget": order.status_url(kind="widget", absolute=False),
            }
        )
    get_user_model().objects.create_superuser("staff", "staff@faults.test", "staff-password")
    key = apikeys.create_key(account=account, name="storefront").secret
    print(json.dumps({"account": account.pk, "secret": account.webhook_secret, "key": key, "orders": orders}))


if __name__ == "__main__":
    main()
