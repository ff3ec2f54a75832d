"""Errors that refuse a request before anything is written, shared by every way in (API, webhooks).

Services raise them; the API layer turns them into its error envelope without knowing who raised them.
"""

from __future__ import annotations


class RequestRefused(Exception):
    """A request refused with an HTTP status, a machine-readable code and a message for people."""

    def __init__(self, status: int, code: str, message: str, *, field: str = "", reason: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.reason = status, code, message, field, reason
