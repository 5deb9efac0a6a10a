"""The Strongroom RFC 9421 profile's checks on a received message, apart from the
cryptographic signature check itself (see `strongroom.crypto.signing`): parsing the
signature fields, required components and parameters, tag, time window, Content-Digest.
Each failure is a SignatureError with a stable code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import http_sf

SIGNATURE_LABEL = "sig1"
ALGORITHM = "ed25519"
NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEY_ID_PATTERN = re.compile(r"[\x21-\x7e]{1,128}")
_MAX_FIELD_LENGTH = 4096


class SignatureErrorCode(StrEnum):
    MISSING_SIGNATURE = "missing_signature"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REPLAYED = "replayed"
    UNKNOWN_KEY = "unknown_key"
    DIGEST_MISMATCH = "digest_mismatch"
    MISSING_COMPONENT = "missing_component"
    WRONG_TAG = "wrong_tag"


class SignatureError(Exception):
    """A signed message was refused. `code` is a stable SignatureErrorCode; the message is
    a short sentence safe to return to the client."""

    def __init__(self, code: SignatureErrorCode, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")


def content_digest_from_sha256(digest: bytes) -> str:
    """The RFC 9530 Content-Digest value for a SHA-256 digest: 'sha-256=:<base64>:'."""
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest is 32 bytes")
    return "sha-256=:" + base64.b64encode(digest).decode("ascii") + ":"


def content_digest(body: bytes) -> str:
    """The Content-Digest value of `body` (also defined for an empty body)."""
    return content_digest_from_sha256(hashlib.sha256(body).digest())


def sha256_from_content_digest(value: str) -> bytes:
    """The 32-byte SHA-256 in a Content-Digest value; SignatureError("malformed") if the
    value does not parse or carries no sha-256 member."""
    try:
        parsed: Any = http_sf.parse(value.encode("ascii"), tltype="dictionary")
        digest = parsed["sha-256"][0]
    except (ValueError, KeyError, TypeError, IndexError, UnicodeEncodeError):
        raise SignatureError(
            SignatureErrorCode.MALFORMED, "Content-Digest has no sha-256"
        ) from None
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise SignatureError(SignatureErrorCode.MALFORMED, "Content-Digest sha-256 is malformed")
    return digest


@dataclass(frozen=True)
class SignedParams:
    """The signature parameters the profile relies on, type-checked."""

    key_id: str
    created: int
    expires: int
    nonce: str


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with lowercase names, for case-insensitive lookups."""
    return {name.lower(): value for name, value in headers.items()}


def parse_dictionary(value: str, name: str) -> dict[str, Any]:
    """Parse a Structured Field Dictionary header; SignatureError("malformed") if it isn't."""
    if len(value) > _MAX_FIELD_LENGTH:
        raise SignatureError(SignatureErrorCode.MALFORMED, f"{name} is too long")
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError):
        raise SignatureError(
            SignatureErrorCode.MALFORMED, f"{name} is not a structured field"
        ) from None
    if not isinstance(parsed, dict):
        raise SignatureError(SignatureErrorCode.MALFORMED, f"{name} is not a dictionary")
    return parsed


def signature_input(fields: Mapping[str, str]) -> tuple[list[str], dict[str, Any]]:
    """The covered component names and the parameters of the sig1 signature.
    "missing_signature" when absent, "malformed" when the fields do not parse."""
    if "signature-input" not in fields or "signature" not in fields:
        raise SignatureError(SignatureErrorCode.MISSING_SIGNATURE, "the request is not signed")
    inputs = parse_dictionary(fields["signature-input"], "Signature-Input")
    signatures = parse_dictionary(fields["signature"], "Signature")
    if SIGNATURE_LABEL not in inputs or SIGNATURE_LABEL not in signatures:
        raise SignatureError(
            SignatureErrorCode.MISSING_SIGNATURE, f"no {SIGNATURE_LABEL} signature"
        )
    members, params = inputs[SIGNATURE_LABEL]
    if not isinstance(members, list) or not isinstance(signatures[SIGNATURE_LABEL][0], bytes):
        raise SignatureError(SignatureErrorCode.MALFORMED, "signature fields have the wrong shape")
    if any(not isinstance(name, str) or item_params for name, item_params in members):
        raise SignatureError(SignatureErrorCode.MALFORMED, "covered components must be plain names")
    return [name for name, _ in members], params


def require(covered: list[str], required: tuple[str, ...], fields: Mapping[str, str]) -> None:
    """ "missing_component" unless every required component is covered and, for a header
    component, present in `fields`."""
    for component in required:
        if component not in covered:
            raise SignatureError(
                SignatureErrorCode.MISSING_COMPONENT, f"{component} is not covered"
            )
        if not component.startswith("@") and component not in fields:
            raise SignatureError(
                SignatureErrorCode.MISSING_COMPONENT, f"the {component} header is missing"
            )


def read_params(params: Mapping[str, Any], *, need_nonce: bool) -> SignedParams:
    """created, expires, keyid, alg="ed25519" (and a nonce when `need_nonce`) with the
    right types, else "malformed"."""
    created, expires = params.get("created"), params.get("expires")
    key_id, nonce = params.get("keyid"), params.get("nonce", "")
    if type(created) is not int or type(expires) is not int or expires < created:
        raise SignatureError(SignatureErrorCode.MALFORMED, "created/expires are missing or invalid")
    if not isinstance(key_id, str) or KEY_ID_PATTERN.fullmatch(key_id) is None:
        raise SignatureError(SignatureErrorCode.MALFORMED, "keyid is missing or invalid")
    if params.get("alg") != ALGORITHM:
        raise SignatureError(SignatureErrorCode.MALFORMED, f'alg must be "{ALGORITHM}"')
    if not isinstance(nonce, str) or (need_nonce and NONCE_PATTERN.fullmatch(nonce) is None):
        raise SignatureError(SignatureErrorCode.MALFORMED, "nonce is missing or invalid")
    return SignedParams(key_id=key_id, created=created, expires=expires, nonce=nonce)


def check_tag(params: Mapping[str, Any], tag: str) -> None:
    """ "wrong_tag" unless the signature's tag is `tag`."""
    if params.get("tag") != tag:
        raise SignatureError(SignatureErrorCode.WRONG_TAG, f'the signature tag must be "{tag}"')


def check_window(signed: SignedParams, now: float, max_age: int, max_skew: int) -> None:
    """ "not_yet_valid" if created is more than `max_skew` s ahead of `now`; "expired" if it
    is more than `max_age` s old or `expires` has passed."""
    # Skew is tolerated only for clocks running ahead; age and expiry are strict, so the
    # nonce cache never has to remember a nonce past `min(expires, created + max_age)`.
    if signed.created > now + max_skew:
        raise SignatureError(SignatureErrorCode.NOT_YET_VALID, "created is in the future")
    if now - signed.created > max_age:
        raise SignatureError(SignatureErrorCode.EXPIRED, f"the signature is older than {max_age} s")
    if now > signed.expires:
        raise SignatureError(SignatureErrorCode.EXPIRED, "the signature has expired")


def check_digest(fields: Mapping[str, str], body: bytes | None) -> None:
    """ "malformed" unless Content-Digest holds a sha-256; "digest_mismatch" if `body` is
    given and differs. With body=None only the header's shape is checked."""
    expected = sha256_from_content_digest(fields["content-digest"])
    if body is not None and not hmac.compare_digest(expected, hashlib.sha256(body).digest()):
        raise SignatureError(
            SignatureErrorCode.DIGEST_MISMATCH, "the body does not match Content-Digest"
        )
