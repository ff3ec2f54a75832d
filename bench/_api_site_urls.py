"""The site's URLs plus /bench/trivial.json, a view that does no work (the baseline)."""

from django.http import JsonResponse
from django.urls import include, path


def trivial(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/trivial.json", trivial), path("", include("statuspage.urls"))]
