"""Second factors never reach a log: their values are masked in every line we, Django's
development server and gunicorn's access log write.

A second factor (the recipient's email address or postal code) opens an order. Sent in a URL
(`GET /track/?order_number=…&recipient_email=…`) it would be written down by every access log on
its way, so log lines show `recipient_email=***` instead. The pages never put one in a URL (their
forms post it; see docs/api.md), but a storefront or a shopper may.

Wiring: `MaskingFormatter` formats our console log (settings.LOGGING), `django.server` included;
`GunicornLogger` is gunicorn's `logger_class` (gunicorn.conf.py). This module imports no Django
models, so gunicorn can load it before the application.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

MASK = "***"
# Parameters that carry a second factor: the v4 lookup's, the forms', and common aliases.
SECOND_FACTORS = frozenset(
    {"recipient_email", "email", "recipient_postal_code", "postal_code", "zip_code", "zip", "verification"}
)

_KEY = r"(?:recipient(?:_|%5f))?(?:email|postal(?:_|%5f)code)|zip(?:(?:_|%5f)code)?|verification"
# key=value in a query string or form body (after ?, &, ; or the start of a word)
_IN_QUERY = re.compile(rf"(?i)((?:^|(?<=[?&;\s\"'(]))(?:{_KEY})=)([^&\s\"'#<>]+)")
# 'key': 'value' or 'key': ['value'] in a dict or QueryDict repr
_IN_REPR = re.compile(rf"(?i)(['\"](?:{_KEY})['\"]\s*:\s*\[?\s*['\"])([^'\"]+)")


def mask_text(text: str) -> str:
    """`text` (a log line, a URL, a traceback) with the values of second factors masked."""
    if "=" not in text and ":" not in text:
        return text
    text = _IN_QUERY.sub(lambda m: m.group(1) + MASK, text)
    return _IN_REPR.sub(lambda m: m.group(1) + MASK, text)


def mask_query(query: str) -> str:
    """A raw query string with second factors' values masked; everything else byte for byte."""
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        if sep and value and unquote_plus(name).strip().lower() in SECOND_FACTORS:
            value = MASK
        parts.append(f"{name}{sep}{value}")
    return "&".join(parts)


def mask_url(url: str) -> str:
    """A path or URL with its query string masked (see mask_query)."""
    path, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = rest.partition("#")
    return f"{path}?{mask_query(query)}{hash_sep}{fragment}"


class MaskingFormatter(logging.Formatter):
    """A Formatter whose output (message, arguments and traceback alike) has second factors masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class MaskingServerFormatter(MaskingFormatter):
    """Django's development-server formatter (colours, `server_time`), masked."""

    def __init__(self, *args, **kwargs):
        from django.utils.log import ServerFormatter

        super().__init__(*args, **kwargs)
        self._server = ServerFormatter(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(self._server.format(record))


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is a dependency; this keeps the module importable
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with the request line, query string and Referer masked in the access
    log, and every error-log line masked too."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        masks = {"r": mask_text, "q": mask_query, "f": mask_url, "{referer}i": mask_url}
        for name, mask in masks.items():
            if isinstance(atoms.get(name), str):
                atoms[name] = mask(atoms[name])
        return atoms

    def setup(self, cfg):
        super().setup(cfg)
        for handler in [*self.error_log.handlers, *self.access_log.handlers]:
            handler.setFormatter(_MaskedFormatter(handler.formatter))


class _MaskedFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(self.inner.format(record))
