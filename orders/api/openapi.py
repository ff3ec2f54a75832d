"""Completes django-ninja's OpenAPI document with what the server does outside the operations:
response headers set by the middleware and the error envelope, the 405 every path answers for a
method it does not take, the webhook signature header, and the server's own URL."""

from __future__ import annotations

from django.conf import settings

from orders.webhooks import SIGNATURE_HEADER, SOURCES
from orders.webhooks.docs import DATA_SCHEMAS

ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
HEADERS = {
    "X-Request-Id": {
        "description": "Names the request in our logs; a caller's own id (8–100 of [A-Za-z0-9._:-]) is kept",
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}},
    "Allow": {"description": "The methods this path takes", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same key",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WWW-Authenticate": {"description": "How to authenticate", "schema": {"type": "string"}},
}
HEADERS_BY_STATUS = {"401": ["WWW-Authenticate"], "405": ["Allow"], "429": ["Retry-After"]}
SIGNATURE_PARAMETER = {
    "name": SIGNATURE_HEADER,
    "in": "header",
    "required": True,
    "description": (
        't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the account\'s webhook '
        "secret>; several v1= values may be sent"
    ),
    "schema": {"type": "string"},
}


def _headers(*names: str) -> dict:
    return {name: HEADERS[name] for name in names}


def complete(document: dict) -> dict:
    document["servers"] = [{"url": settings.SITE_URL}]
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in DATA_SCHEMAS.items():
        schemas.setdefault(name, schema)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses[405] = {"description": "Method not allowed", "content": ERROR_REF}
            for status, response in responses.items():
                names = ["X-Request-Id", *HEADERS_BY_STATUS.get(str(status), [])]
                if operation.get("operationId") == "create_order" and str(status) == "201":
                    names.append("Idempotent-Replayed")
                response.setdefault("headers", {}).update(_headers(*names))
            if path == "/webhooks/{source}/" and method == "post":
                _webhook_parameters(operation)
    return document


def _webhook_parameters(operation: dict) -> None:
    parameters = operation.setdefault("parameters", [])
    for parameter in parameters:
        if parameter["in"] == "path" and parameter["name"] == "source":
            parameter["schema"] = {"type": "string", "enum": list(SOURCES)}
            parameter["description"] = "The sender: order system, fulfilment vendor or carrier feed"
    if not any(p["name"] == SIGNATURE_HEADER for p in parameters):
        parameters.append(SIGNATURE_PARAMETER)
