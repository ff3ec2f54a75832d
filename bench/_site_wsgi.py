"""The benchmark server's WSGI entry: the production site plus an honest baseline, one process.

gunicorn loads `bench._site_wsgi:application` (never the app itself). Requests under `/bench/`
go to a second Django handler that runs a one-line view behind Django's *default* middleware —
the list `django-admin startproject` writes, not the project's — with a URLconf holding only
that view. Everything else goes to `statuspage.wsgi.application`, exactly what production runs
(settings, middleware, URLs). Both share the worker process, its settings, database connection
and cache clients, so a throughput ratio compares the site with what any Django project costs.

`/bench/middleware` lists the middleware each handler really chains, so the benchmark can check
that the baseline runs the default list and nothing else.
"""

from __future__ import annotations

import json
import types

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from statuspage.wsgi import application as production

# `django-admin startproject`'s MIDDLEWARE (Django 5.2), in its order.
DEFAULT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
BASELINE_PREFIX = "/bench/"


def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt
def trivial_post(request):
    """The POST baseline (webhook_throughput): reads the body, answers like an accepted webhook."""
    request.body  # noqa: B018
    return HttpResponse(b'{"status":"accepted"}', status=202, content_type="application/json")


@csrf_exempt
def bare_insert(request):
    """The POST baseline plus one plain INSERT of the body into a table of its own (created by
    webhook_throughput): the least that storing a request costs."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare_insert (body) VALUES (%s)", [request.body.decode()])
    return HttpResponse(b'{"status":"accepted"}', status=202, content_type="application/json")


def middleware(request):
    """What each handler chains, read from the chains themselves (not from settings)."""
    chains = {"baseline": middleware_chain(baseline), "production": middleware_chain(production)}
    return HttpResponse(json.dumps(chains), content_type="application/json")


urlpatterns = [
    path("bench/trivial", trivial),
    path("bench/post", trivial_post),
    path("bench/insert", bare_insert),
    path("bench/middleware", middleware),
]


class DefaultMiddlewareHandler(WSGIHandler):
    """Django's WSGI handler with the default middleware and this module's URLconf."""

    def load_middleware(self, is_async=False):
        project_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = DEFAULT_MIDDLEWARE  # read once, here; restored before any request
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = project_middleware

    def get_response(self, request):
        request.urlconf = __name__
        return super().get_response(request)


def middleware_chain(handler) -> list[str] | None:
    """Dotted class names of the middleware `handler` calls, outermost first; None when the
    handler is not a plain Django handler (then its chain cannot be read)."""
    step = getattr(handler, "_middleware_chain", None)
    if step is None:
        return None
    names = []
    while True:
        current = getattr(step, "__wrapped__", step)  # convert_exception_to_response's wrapper
        if isinstance(current, types.MethodType) and current.__func__ is BaseHandler._get_response:
            return names
        names.append(f"{type(current).__module__}.{type(current).__qualname__}")
        step = getattr(current, "get_response", None)
        if step is None:
            return [*names, "?"]


baseline = DefaultMiddlewareHandler()


def application(environ, start_response):
    handler = baseline if environ.get("PATH_INFO", "").startswith(BASELINE_PREFIX) else production
    return handler(environ, start_response)
