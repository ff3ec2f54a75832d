"""The production URLs plus the webhook benchmark's two baselines.

- `POST /bench/trivial`: a view that does nothing (what any POST costs).
- `POST /bench/insert`: one plain INSERT of the body into a table of its own (the least that
  storing a request costs).
"""

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from statuspage.urls import urlpatterns as site_urlpatterns


@csrf_exempt
def trivial(request):
    return JsonResponse({"ok": True}, status=202)


@csrf_exempt
def insert(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare_insert (body) VALUES (%s)", [request.body.decode()])
    return JsonResponse({"ok": True}, status=202)


urlpatterns = [path("bench/trivial", trivial), path("bench/insert", insert), *site_urlpatterns]
