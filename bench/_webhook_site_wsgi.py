"""The webhook benchmark's WSGI application: /bench/… behind Django's default middleware, every
other path (the webhooks) behind the project's, in one gunicorn worker."""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_webhook_site")
site = get_wsgi_application()


class DefaultMiddlewareHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        from django.conf import settings

        with override_settings(MIDDLEWARE=settings.DJANGO_DEFAULT_MIDDLEWARE):
            super().load_middleware(is_async)


baseline = DefaultMiddlewareHandler()


def application(environ, start_response):
    handler = baseline if environ.get("PATH_INFO", "").startswith("/bench/") else site
    return handler(environ, start_response)
