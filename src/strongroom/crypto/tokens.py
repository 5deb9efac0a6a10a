"""Short signed capability tokens (signed URLs, worker grants).

Format: base64url(JSON claims) + "." + base64url(HMAC-SHA256(key, first part)), without
padding, so a token fits in a URL query parameter as is. Claims are flat: string or
integer values only. An `exp` claim (Unix seconds) is always added. The token is signed,
not encrypted: never put a secret in a claim.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

MIN_KEY_SIZE = 32
MAX_TOKEN_LENGTH = 4096
_B64URL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class TokenErrorCode(StrEnum):
    INVALID = "invalid"
    EXPIRED = "expired"


class TokenError(Exception):
    """The token is unusable. `code` is "invalid" (malformed, forged) or "expired"."""

    def __init__(self, code: TokenErrorCode, detail: str) -> None:
        self.code = code
        super().__init__(detail)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    raw = text.encode("ascii")
    if not raw or not set(raw) <= _B64URL:
        raise TokenError(TokenErrorCode.INVALID, "token is not base64url")
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(TokenErrorCode.INVALID, "token is not base64url") from None


def _mac(key: bytes, payload: str) -> bytes:
    if len(key) < MIN_KEY_SIZE:
        raise ValueError(f"token keys must be at least {MIN_KEY_SIZE} bytes")
    return hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()


def _check_claim(name: object, value: object) -> None:
    if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("claims must map strings to strings or integers")


def issue_token(
    key: bytes, claims: Mapping[str, str | int], *, ttl: int, now: float | None = None
) -> str:
    """Sign `claims` plus `exp` = now + ttl (seconds, > 0). `key` is at least 32 bytes;
    `claims` may not set `exp` itself."""
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    if "exp" in claims:
        raise ValueError("the exp claim is set from ttl")
    for name, value in claims.items():
        _check_claim(name, value)
    body = {**claims, "exp": int(time.time() if now is None else now) + ttl}
    payload = _b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return payload + "." + _b64encode(_mac(key, payload))


def read_token(key: bytes, token: str, *, now: float | None = None) -> dict[str, str | int]:
    """Return the claims (including `exp`) of a token signed with `key`.
    TokenError("invalid") for anything malformed or forged, TokenError("expired") once
    now >= exp. The signature is checked (in constant time) before anything is parsed."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TokenError(TokenErrorCode.INVALID, "token is malformed")
    payload, dot, signature = token.partition(".")
    if not dot or not hmac.compare_digest(_mac(key, payload), _b64decode(signature)):
        raise TokenError(TokenErrorCode.INVALID, "token signature does not verify")
    claims, expiry = _parse_claims(_b64decode(payload))
    if (time.time() if now is None else now) >= expiry:
        raise TokenError(TokenErrorCode.EXPIRED, "token has expired")
    return claims


def _parse_claims(raw: bytes) -> tuple[dict[str, str | int], int]:
    try:
        claims: Any = json.loads(raw)
        if not isinstance(claims, dict):
            raise TypeError("not an object")
        for name, value in claims.items():
            _check_claim(name, value)
    except (ValueError, TypeError):
        raise TokenError(TokenErrorCode.INVALID, "token claims are malformed") from None
    expiry = claims.get("exp")
    if not isinstance(expiry, int):
        raise TokenError(TokenErrorCode.INVALID, "token has no expiry")
    return claims, expiry
