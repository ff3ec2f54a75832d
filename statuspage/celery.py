"""The Celery app: `celery -A statuspage worker` and `celery -A statuspage beat`.

Settings come from Django's (CELERY_*). Without CELERY_BROKER_URL every task runs eagerly in the
process that sends it, so nothing else has to run for the demo, the tests or a small deployment.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")

app = Celery("statuspage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["orders.carriers", "orders.notifications", "orders.privacy", "orders.webhooks"])
