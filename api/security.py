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
    if not token:
        return False
    return hmac.compare_digest(hash_token(token), token_hash)


# ---------------------------------------------------------------------------------------------------------------
# Mediator passwords (argon2id, argon2-cffi's RFC 9106 low-memory profile) and login tokens.

_hasher = None


def _password_hasher():
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists: an unknown user is checked against a dummy hash."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _password_hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: str | None = None


def _dummy_hash() -> str:
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _password_hasher().hash(secrets.token_urlsafe(16))
    return _DUMMY


def needs_rehash(password_hash: str) -> bool:
    return _password_hasher().check_needs_rehash(password_hash)
