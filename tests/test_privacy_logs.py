"""Second factors never reach a log: our log lines, Django's development-server lines and
gunicorn's access log (run for real with the shipped gunicorn.conf.py) show them masked. The
shipped gunicorn.conf.py trusts forwarding headers only when proxies are configured."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orders.privacy.logs import mask_query, mask_text, mask_url

ROOT = Path(__file__).resolve().parent.parent
EMAIL, POSTAL = "jane.shopper@example.com", "78701"


@pytest.mark.parametrize(
    ("query", "masked"),
    [
        ("order_number=1001&recipient_email=jane%40example.com", "order_number=1001&recipient_email=***"),
        ("recipient_postal_code=SW1A+1AA&lang=de", "recipient_postal_code=***&lang=de"),
        ("email=a@b.c&postal_code=78701&zip_code=1&zip=2", "email=***&postal_code=***&zip_code=***&zip=***"),
        ("recipient%5Femail=a@b.c&Recipient_Email=x", "recipient%5Femail=***&Recipient_Email=***"),
        ("tracking_number=1Z999&s=abc&recipient_email=", "tracking_number=1Z999&s=abc&recipient_email="),
    ],
)
def test_query_strings_are_masked_and_nothing_else_changes(query, masked):
    assert mask_query(query) == masked
    assert mask_url(f"/track/?{query}#x") == f"/track/?{masked}#x"


def test_text_is_masked_in_urls_and_in_reprs():
    line = f"GET /track/?order_number=1&recipient_email={EMAIL} HTTP/1.1 {{'postal_code': ['{POSTAL}']}}"
    masked = "GET /track/?order_number=1&recipient_email=*** HTTP/1.1 {'postal_code': ['***']}"
    assert mask_text(line) == masked


@pytest.fixture
def written():
    """What the configured log handlers (settings.LOGGING) write, whatever pytest captures."""
    handlers = [
        handler
        for logger in (logging.getLogger(), logging.getLogger("django.server"))
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and type(handler).__name__ == "StreamHandler"
    ]
    assert handlers, "settings.LOGGING configures stream handlers"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def test_our_log_lines_mask_second_factors_in_messages_and_tracebacks(written):
    url = f"/v4/track/orders/info/?order_number=1001&recipient_email={EMAIL}&recipient_postal_code={POSTAL}"
    logging.getLogger("orders.api").warning("GET %s -> 404", url)
    try:
        raise ValueError(f"could not look up {url}")
    except ValueError:
        logging.getLogger("orders.widget").exception("widget failed")
    out = written.getvalue()
    assert "recipient_email=***" in out and "recipient_postal_code=***" in out
    assert "ValueError: could not look up" in out
    assert EMAIL not in out and POSTAL not in out


def test_development_server_lines_are_masked(written):
    # What django.core.servers.basehttp.WSGIRequestHandler.log_message writes for each request.
    request_line = f"GET /track/?order_number=1001&recipient_email={EMAIL.replace('@', '%40')} HTTP/1.1"
    logging.getLogger("django.server").info('"%s" %s %s', request_line, "200", "512")
    out = written.getvalue()
    assert "recipient_email=*** HTTP/1.1" in out and "jane.shopper" not in out


# --- gunicorn, for real ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, tmp_path: Path, **env: str):
        self.port = _free_port()
        self.log = tmp_path / f"gunicorn-{self.port}.log"
        environment = {
            **os.environ,
            "SECRET_KEY": "gunicorn-test-secret-key-0123456789-abcdefghijklmnop",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CACHE_URL": "locmem://",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "1",
            "DJANGO_SETTINGS_MODULE": "statuspage.settings",
            **env,
        }
        environment.pop("DEBUG", None)
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "statuspage.wsgi"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(gunicorn, cwd=ROOT, env=environment, stdout=out, stderr=out)
        for _attempt in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gunicorn did not start: {self.output()}")

    def get(self, path: str, headers: dict[str, str] | None = None) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=60) as response:  # a loaded machine boots slowly
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def gunicorn(tmp_path):
    servers: list[Gunicorn] = []

    def start(**env: str) -> Gunicorn:
        servers.append(Gunicorn(tmp_path, **env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_gunicorn_access_log_masks_second_factors_in_the_request_line_and_referer(gunicorn):
    server = gunicorn()
    query = f"order_number=1001&recipient_email={EMAIL.replace('@', '%40')}&postal_code={POSTAL}"
    referer = f"https://shop.example/orders?email={EMAIL}"
    assert server.get(f"/healthz?{query}", headers={"Referer": referer}) == 200
    server.stop()
    log = server.output()
    assert "/healthz?order_number=1001&recipient_email=***&postal_code=***" in log, log
    assert "https://shop.example/orders?email=***" in log
    assert "jane.shopper" not in log and POSTAL not in log


def test_gunicorn_trusts_no_forwarding_headers_without_proxies(gunicorn):
    """`X-Forwarded-Proto: https` from localhost would skip the HTTPS redirect if trusted;
    gunicorn's own default trusts localhost, the shipped configuration does not."""
    server = gunicorn()
    assert server.get("/v1/no-such-path", headers={"X-Forwarded-Proto": "https"}) == 301


def test_gunicorn_trusts_forwarding_headers_behind_configured_proxies(gunicorn):
    server = gunicorn(TRUSTED_PROXY_COUNT="1", FORWARDED_ALLOW_IPS="127.0.0.1")
    # Trusted: the request counts as HTTPS and reaches the app (an API 404 for an unknown path).
    assert server.get("/v1/no-such-path", headers={"X-Forwarded-Proto": "https"}) == 404
    assert server.get("/v1/no-such-path") == 301
