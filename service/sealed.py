"""Sealed cookie values: JSON encrypted and authenticated with AES-256-GCM (``cryptography``).

``Sealer(secret).seal(purpose, payload, ttl_seconds)`` gives URL-safe text that only a sealer
with the same secret can open, for the same ``purpose`` (the cookie's name is the associated
data, so one cookie's value cannot be replayed as another's), before ``ttl_seconds`` have
passed. ``open`` answers ``None`` for anything else: tampered, expired, another purpose,
another key, not ours. Nothing is logged; values may hold an invitation token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class Sealer:
    """Seal and open small JSON objects (see the module's docstring). ``secret``: any text of
    32+ characters (its SHA-256 is the key); ``clock``: seconds since the epoch."""

    def __init__(self, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._aead = AESGCM(hashlib.sha256(secret.encode("utf-8")).digest())
        self._clock = clock

    def seal(self, purpose: str, payload: dict[str, Any], ttl_seconds: float) -> str:
        """``payload`` sealed for ``purpose`` until ``ttl_seconds`` from now."""
        body = json.dumps({"p": payload, "exp": self._clock() + ttl_seconds}, separators=(",", ":"))
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, body.encode("utf-8"), purpose.encode("utf-8"))
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    def open(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        """The payload sealed for ``purpose`` if ``value`` is one that has not expired, else ``None``."""
        if not value or len(value) > 8192:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("utf-8"))
            body = json.loads(plain)
        except (ValueError, InvalidTag, binascii.Error):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("p"), dict):
            return None
        expires = body.get("exp")
        if not isinstance(expires, int | float) or self._clock() >= expires:
            return None
        payload: dict[str, Any] = body["p"]
        return payload
