"""Invitation tokens: 256 bits from ``secrets``, stored only as SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
"""Entropy of a token in bytes (256 bits; at least 128 are required)."""


def new_token() -> tuple[str, str]:
    """A fresh ``(token, token_hash)``: URL-safe text for the link, hex SHA-256 for storage."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """Hex SHA-256 of ``token`` (the only form that is stored)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hashes_match(stored_hash: str, token: str) -> bool:
    """Constant-time comparison of a presented token against a stored hash."""
    return hmac.compare_digest(stored_hash, hash_token(token))
