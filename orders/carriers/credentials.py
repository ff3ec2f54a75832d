"""Carrier secrets encrypted at rest (Fernet), with a key derived from SECRET_KEY.

Keys in SECRET_KEY_FALLBACKS still decrypt, so rotating SECRET_KEY does not lose an account's
carrier credentials; staff re-save them to encrypt with the new key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(b"statuspage carrier credentials\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _box() -> MultiFernet:
    return MultiFernet([_fernet(key) for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)])


def encrypt(plain: str) -> str:
    return _box().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The secret, or "" when there is none or no current key opens it (treated as not configured)."""
    if not token:
        return ""
    try:
        return _box().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return ""
