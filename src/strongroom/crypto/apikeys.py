"""API keys in a GitHub-style format, and opaque random tokens.

    sr_live_<public id: 8 base62><secret: 32 base62><checksum: 6 base62>

with "_" after the public id. The checksum is the CRC32 of everything before it, so a typo
or a truncated paste is rejected without a database lookup, and secret scanners can
recognise leaked keys. The public id finds the key's row; only an HMAC of the secret (with
a server-side pepper) is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass, field

PREFIX = "sr_live_"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PUBLIC_ID_LENGTH = 8
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
API_KEY_LENGTH = len(PREFIX) + PUBLIC_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
_SHAPE = re.compile(
    rf"{PREFIX}([0-9A-Za-z]{{{PUBLIC_ID_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH}}})"
    rf"([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})"
)


@dataclass(frozen=True)
class ParsedApiKey:
    """A well-formed API key split into its lookup id and its secret (hidden in repr)."""

    public_id: str
    secret: str = field(repr=False)


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def _checksum(text: str) -> str:
    value = zlib.crc32(text.encode("ascii"))
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


def generate_api_key() -> str:
    """A new key: random public id and a 32-character (about 190-bit) secret, both CSPRNG."""
    body = f"{PREFIX}{_random_base62(PUBLIC_ID_LENGTH)}_{_random_base62(SECRET_LENGTH)}"
    return body + _checksum(body)


def parse_api_key(text: str) -> ParsedApiKey | None:
    """Split a key into public id and secret; None when the shape or checksum is wrong."""
    if not isinstance(text, str) or len(text) != API_KEY_LENGTH:
        return None
    match = _SHAPE.fullmatch(text)
    if match is None:
        return None
    expected = _checksum(text[:-CHECKSUM_LENGTH])
    if not hmac.compare_digest(expected, match.group(3)):
        return None
    return ParsedApiKey(public_id=match.group(1), secret=match.group(2))


def api_key_digest(pepper: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of the secret under the server's pepper: what the database stores.
    A plain (fast) MAC suffices because the secret has about 190 bits of entropy."""
    if len(pepper) < 16:
        raise ValueError("the pepper must be at least 16 bytes")
    return hmac.new(pepper, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def generate_opaque_token(nbytes: int = 24) -> str:
    """A random base64url token of `nbytes` (at least 16) CSPRNG bytes, for sessions etc."""
    if nbytes < 16:
        raise ValueError("opaque tokens need at least 16 random bytes")
    return secrets.token_urlsafe(nbytes)
