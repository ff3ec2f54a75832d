"""OpenAPI description of the webhook bodies (the view reads them raw to check the signature)."""

from __future__ import annotations

from typing import Literal

from ninja import Schema

from orders import webhooks


class WebhookAck(Schema):
    status: Literal["applied", "stale", "parked", "accepted", "duplicate"]
    eventId: str
    outcome: Literal["pending", "applied", "stale", "parked", "rejected", "failed"]
    message: str | None = None


# The `data` objects' schemas, for the OpenAPI document's components (see orders.api.openapi).
DATA_SCHEMAS: dict[str, dict] = {}


def _data_schema(model) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    DATA_SCHEMAS.update(schema.pop("$defs", {}))
    DATA_SCHEMAS[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _body_schema() -> dict:
    variants = []
    for source, kinds in webhooks.EVENT_TYPES.items():
        by_schema: dict[type, list[str]] = {}
        for name, kind in kinds.items():
            by_schema.setdefault(kind.schema, []).append(name)
        for model, names in by_schema.items():
            variants.append(
                {
                    "type": "object",
                    "required": ["id", "type", "data"],
                    "properties": {
                        "id": {"type": "string", "minLength": 1, "maxLength": 200},
                        "type": {"type": "string", "enum": names},
                        "createdAt": {"type": "string", "format": "date-time"},
                        "data": _data_schema(model),
                    },
                    "description": f"Source `{source}`: {', '.join(names)}.",
                }
            )
    return {"oneOf": variants}


REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _body_schema()}},
    "description": "One event, signed with the account's webhook secret.",
}
