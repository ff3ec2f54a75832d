"""Public URLs. Each feature keeps its views in its own module under orders/views/."""

from django.urls import path, re_path

from orders.api import main as api
from orders.views import brand, calendar, health, pages, unsubscribe
from orders.views.widget import info_widget

app_name = "orders"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Shopper pages (issue: shopper status page)
    path("", pages.home, name="home"),
    path("track/", pages.track, name="track"),
    path("track/status/", pages.track_status, name="track-status"),
    path("track/timeline/", pages.track_timeline, name="track-timeline"),
    path("track/calendar.ics", calendar.shipment_ics, name="track-calendar"),
    path("brand/<int:account_id>.css", brand.brand_css, name="brand-css"),
    # Status emails' one-click unsubscribe (RFC 8058) and its page
    path("notifications/unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    # PNG widget (issue: status widget)
    path("v4/track/orders/info-widget/", info_widget, name="info-widget"),
    # JSON APIs and webhooks (issue: APIs and webhooks): /v1/orders…, /v4/track/orders/info/ ("info"),
    # /webhooks/<source>/, /v1/openapi.json, /v1/docs; other /v1/ paths get a JSON 404.
    *api.urlpatterns(),
    re_path(r"^v1/(?P<path>.*)$", api.not_found),
]
