"""Response headers set on every answer, cheaply.

Django's ResponseHeaders checks and encodes each name and value it is given, and its `in` looks a
missing header up by raising and catching a KeyError: a few microseconds a header, on answers that
cost a few hundred. The headers set here are constants or dates checked once (by the tests, and
by Django where a value comes from a response), so they go straight into its store; anything
else still goes through Django.
"""

from __future__ import annotations

import functools

from django.http import HttpResponseBase
from django.utils.cache import patch_vary_headers


def store(response: HttpResponseBase) -> dict[str, tuple[str, str]]:
    """Django's own store of the response's headers: {lower-case name: (name, value)}."""
    return response.headers._store


def set_default(response: HttpResponseBase, name: str, value: str) -> None:
    """`response.headers.setdefault(name, value)` for a valid header name and value."""
    store(response).setdefault(name.lower(), (name, value))


def vary_on(response: HttpResponseBase, header: str) -> None:
    """`patch_vary_headers(response, [header])`, after a quick look whether Vary names it already
    (a kept page's does): Django parses and rewrites the header every time."""
    vary = store(response).get("vary")
    if vary is None or header.lower() not in _vary_names(vary[1]):
        patch_vary_headers(response, (header,))


@functools.lru_cache(maxsize=32)
def _vary_names(vary: str) -> frozenset[str]:
    return frozenset(name.strip().lower() for name in vary.split(","))
