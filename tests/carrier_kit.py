"""What the carrier adapter tests share: the documented answers in tests/fixtures/carriers/<code>/,
clients against the in-process sandbox or against scripted HTTP answers, and the fixtures that
give every test fresh tokens and a sandbox with a fixed clock.

A test module names its carrier and clock once:

    fixture = carrier_kit.fixtures("ups")
    sandbox = carrier_kit.sandbox_at(NOW)
    _fresh_tokens = carrier_kit.fresh_tokens
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from orders.carriers.base import Credentials, forget_tokens
from orders.carriers.sandbox import SandboxCarrierServer

FIXTURES = Path(__file__).parent / "fixtures" / "carriers"
SANDBOX_URL = "http://sandbox.test"


def fixtures(carrier: str) -> Callable[[str], dict]:
    """A loader of one carrier's documented answers, by file name."""

    def load(name: str) -> dict:
        return json.loads((FIXTURES / carrier / name).read_text())

    return load


@pytest.fixture(autouse=True)
def fresh_tokens():
    """No OAuth token cached by another test leaks into this one, nor out of it."""
    forget_tokens()
    yield
    forget_tokens()


def sandbox_at(now: datetime):
    """A `sandbox` fixture: the fake carrier server, its clock stopped at `now`."""

    @pytest.fixture(name="sandbox")
    def sandbox() -> SandboxCarrierServer:
        return SandboxCarrierServer(clock=lambda: now)

    return sandbox


def client(adapter, transport: httpx.BaseTransport, base_url: str, *, options=None, **credentials):
    """`adapter.Client` with these credentials over `transport` (a sandbox or a scripted one)."""
    return adapter.Client(
        Credentials(base_url=base_url, **credentials), transport=transport, **(options or {})
    )


def sandbox_transport(server: SandboxCarrierServer) -> httpx.WSGITransport:
    return httpx.WSGITransport(app=server)


def granting_tokens(token_path: str, token: Callable[[], dict], answer):
    """A MockTransport handler: tokens are granted at `token_path`, anything else gets `answer(request)`."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == token_path:
            return httpx.Response(200, json=token())
        return answer(request)

    return handler
