"""A fake carrier server shaped like the carriers' real APIs, for the demo and the tests.

``SandboxCarrierServer`` is a WSGI app. Each carrier lives under its own prefix (``/ups``,
``/fedex``, ``/usps``, ``/dhl``, ``/aftership``), so ``UPS_API_URL=http://127.0.0.1:8001/ups``
points the real UPS adapter at it. Below the prefix every path, header and JSON shape is the
carrier's own (see the carrier's module in this package).

Parcels move along a scripted route (``route.py``): a number's clock starts when the sandbox
first hears of it, and one scan happens every ``step`` (two minutes in the demo). Tests drive the
clock, inject failures (``fail_next``), expire tokens, and read ``calls``.

Use it in-process with ``httpx.WSGITransport(app=server)`` or on localhost with ``serve()``.
"""

from __future__ import annotations

import importlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from orders.carriers.sandbox.route import SandboxShipment, shipment_for

__all__ = ["SandboxCarrierServer", "SandboxRequest", "SandboxResponse", "SandboxShipment", "serve"]

SANDBOX_CARRIERS = ("ups", "fedex", "usps", "dhl", "aftership")


@dataclass
class SandboxRequest:
    method: str
    path: str  # below the carrier prefix, starting with "/"
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("latin-1")).items()}

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[-1]

    def bearer(self) -> str:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth[:7].lower() == "bearer " else ""


@dataclass
class SandboxResponse:
    status: int
    body: object = None  # JSON-serialisable, or str/bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: str | None


class SandboxCarrierServer:
    """The fake carriers. Thread-safe: the demo serves it from a thread while the app polls."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        step: timedelta = timedelta(minutes=2),
        token_lifetime: int = 3599,
    ):
        self.clock = clock or (lambda: datetime.now(UTC))
        self.step = step
        self.token_lifetime = token_lifetime
        self.calls: list[tuple[str, str, str]] = []  # (carrier, method, path)
        self.unknown_numbers: set[str] = set()
        self._started: dict[str, datetime] = {}
        self._tokens: dict[str, set[str]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._lock = threading.Lock()

    # -- what tests and the demo control --
    def start(self, number: str, at: datetime | None = None) -> None:
        """Start a parcel's route now (or at ``at``); numbers start on first sight otherwise."""
        with self._lock:
            self._started[number] = at or self.clock()

    def fail_next(self, carrier: str, status: int, *, count: int = 1, retry_after: str | None = None) -> None:
        """Answer the carrier's next ``count`` track requests with HTTP ``status``."""
        with self._lock:
            self._failures.setdefault(carrier, []).append(_Failure(status, count, retry_after))

    def expire_tokens(self, carrier: str) -> None:
        with self._lock:
            self._tokens.pop(carrier, None)

    def calls_to(self, carrier: str, *, tokens: bool = False) -> list[tuple[str, str, str]]:
        return [c for c in self.calls if c[0] == carrier and tokens == self.is_token_path(c[2])]

    @staticmethod
    def is_token_path(path: str) -> bool:
        return "oauth" in path or path.endswith("/token")

    # -- what the carrier modules use --
    def issue_token(self, carrier: str) -> tuple[str, int]:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.setdefault(carrier, set()).add(token)
        return token, self.token_lifetime

    def token_ok(self, carrier: str, token: str) -> bool:
        with self._lock:
            return bool(token) and token in self._tokens.get(carrier, set())

    def shipment(self, carrier: str, number: str) -> SandboxShipment | None:
        """The parcel as the carrier sees it now; None for a number it does not know."""
        if number in self.unknown_numbers:
            return None
        with self._lock:
            started = self._started.setdefault(number, self.clock())
        return shipment_for(carrier, number, started=started, now=self.clock(), step=self.step)

    # -- WSGI --
    def _take_failure(self, carrier: str, path: str) -> _Failure | None:
        if self.is_token_path(path):
            return None
        with self._lock:
            queue = self._failures.get(carrier) or []
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure

    def handle(self, request: SandboxRequest, carrier: str) -> SandboxResponse:
        self.calls.append((carrier, request.method, request.path))
        failure = self._take_failure(carrier, request.path)
        if failure:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return SandboxResponse(failure.status, {"error": "injected failure"}, headers)
        module = importlib.import_module(f"orders.carriers.sandbox.{carrier}")
        return module.handle(self, request)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        carrier, _, rest = path.lstrip("/").partition("/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = SandboxRequest(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path="/" + rest,
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers={
                key[5:].replace("_", "-").lower(): value
                for key, value in environ.items()
                if key.startswith("HTTP_")
            }
            | {"content-type": environ.get("CONTENT_TYPE", "")},
            body=environ["wsgi.input"].read(length) if length else b"",
        )
        if carrier not in SANDBOX_CARRIERS:
            response = SandboxResponse(404, {"error": f"no sandbox carrier {carrier!r}"})
        else:
            response = self.handle(request, carrier)
        if isinstance(response.body, bytes):
            body, content_type = response.body, "application/octet-stream"
        elif isinstance(response.body, str):
            body, content_type = response.body.encode(), "text/plain; charset=utf-8"
        else:
            body, content_type = json.dumps(response.body).encode(), "application/json"
        headers = {"Content-Type": content_type, **response.headers, "Content-Length": str(len(body))}
        start_response(f"{response.status} X", list(headers.items()))
        return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the demo's console is for the app's own lines
        pass


class _ThreadingWSGIServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        threading.Thread(target=self._handle, args=(request, client_address), daemon=True).start()

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


def serve(server: SandboxCarrierServer, host: str = "127.0.0.1", port: int = 0) -> tuple[WSGIServer, str]:
    """Serve the sandbox on localhost from a daemon thread; returns (server, base URL)."""
    httpd = make_server(host, port, server, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True, name="carrier-sandbox").start()
    return httpd, f"http://{host}:{httpd.server_port}"
