"""Opaque tokens: 256 random bits for the client, their SHA-256 for the store."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    """A URL-safe token (43 characters) carrying 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What the store keeps: a leaked table does not give working tokens."""
    return hashlib.sha256(token.encode()).digest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two strings (False if either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def key_digest(value: str) -> str:
    """A short digest of an identifier (e-mail address) for throttle keys."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
