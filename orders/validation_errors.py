"""pydantic validation errors as the APIs report them: a dotted field path and a sentence."""

from __future__ import annotations


def join_path(parts, start: str = "") -> str:
    """["items", 0, "quantity"] → "items[0].quantity" (after `start`, e.g. "data")."""
    path = start
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else ("." if path else "") + str(part)
    return path


def error_location(error: dict) -> tuple:
    """A pydantic error's location, down to the field a model-level check names (see
    orders.payloads._field_error)."""
    loc = tuple(error.get("loc", ()))
    extra = (error.get("ctx") or {}).get("field")
    return (*loc, extra) if extra else loc


def reason(error: dict) -> str:
    """A pydantic error's message, as a sentence for people."""
    kind, message = error.get("type", ""), str(error.get("msg", ""))
    if kind == "missing":
        return "This field is required."
    if kind == "extra_forbidden":
        return "Unknown field."
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message[:1].upper() + message[1:] if message else "Invalid value."
