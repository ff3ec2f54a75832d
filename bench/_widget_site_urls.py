"""The production URLs plus two baselines that throughput ratios divide by.

- `/bench/trivial`: a view that does nothing at all.
- `/bench/cache-read`: the same plus one read from the configured cache, the least any response
  that must notice a change made by another worker can do (with Redis: one network round trip).
"""

from django.core.cache import cache
from django.http import HttpResponse
from django.urls import path

from statuspage.urls import urlpatterns as site_urlpatterns


def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


def cache_read(request):
    cache.get("bench:nothing-here")
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial", trivial, name="bench-trivial"),
    path("bench/cache-read", cache_read, name="bench-cache-read"),
    *site_urlpatterns,
]
