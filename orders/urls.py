"""Public URLs. Each feature keeps its views in its own module under orders/views/."""

from django.urls import path

from orders.views import health

app_name = "orders"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Shopper pages (issue: shopper status page)
    # PNG widget (issue: status widget)
    # JSON APIs and webhooks (issue: APIs and webhooks)
]
