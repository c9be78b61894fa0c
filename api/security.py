"""Unguessable conversation ids and secret tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid


def new_conversation_id() -> str:
    return uuid.uuid4().hex


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str | None, token_hash: str) -> bool:
    return bool(token) and hmac.compare_digest(hash_token(token), token_hash)
