"""RFC 9421 HTTP Message Signatures with Ed25519 for worker <-> edge traffic.

Signature bases, Structured Field serialisation and the Ed25519 operations come from the
`http_message_signatures` library. That library leaves policy to its caller: it does not
track nonces, defaults to a one-day maximum age, and reads the wall clock itself. So this
module parses `Signature-Input` first and enforces the Strongroom profile (required
components and parameters, tag, a 60 s window against an injectable clock, key lookup,
Content-Digest, nonce replay) around the library's signature check, in the order the
worker protocol fixes: a forged request can never burn a nonce.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from strongroom.crypto.signature_checks import (
    KEY_ID_PATTERN,
    NONCE_PATTERN,
    SIGNATURE_LABEL,
    SignatureError,
    SignatureErrorCode,
    check_digest,
    check_tag,
    check_window,
    content_digest,
    content_digest_from_sha256,
    lower_headers,
    read_params,
    require,
    sha256_from_content_digest,
    signature_input,
)
from strongroom.crypto.signing_keys import (
    generate_private_key,
    private_key_from_pem,
    private_key_from_seed,
    private_key_to_pem,
    public_key_from_text,
    public_key_to_text,
)

__all__ = [
    "EDGE_TAG",
    "REQUEST_NONCE_HEADER",
    "WORKER_TAG",
    "SignatureError",
    "SignatureErrorCode",
    "SignedHeaders",
    "VerifiedRequest",
    "content_digest",
    "content_digest_from_sha256",
    "generate_private_key",
    "private_key_from_pem",
    "private_key_from_seed",
    "private_key_to_pem",
    "public_key_from_text",
    "public_key_to_text",
    "sha256_from_content_digest",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
]

WORKER_TAG = "strongroom-worker-v1"
EDGE_TAG = "strongroom-edge-v1"
REQUEST_NONCE_HEADER = "x-strongroom-request-nonce"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest")
RESPONSE_COMPONENTS = ("@status", "content-digest", REQUEST_NONCE_HEADER)
DEFAULT_LIFETIME = 60
MAX_SKEW = 5


# ---------------------------------------------------------------------------- messages


@dataclass
class _Request:
    method: str
    url: str
    headers: dict[str, str]


@dataclass
class _Response:
    status_code: int
    headers: dict[str, str]


@dataclass(frozen=True)
class SignedHeaders:
    """Headers to add to a request (Content-Digest, Signature-Input, Signature) and the
    nonce they carry (a signed response echoes it)."""

    headers: dict[str, str]
    nonce: str


@dataclass(frozen=True)
class VerifiedRequest:
    """What a verified request proved: who signed it, its nonce, and its time window."""

    key_id: str
    nonce: str
    created: int
    expires: int


def _sign(
    message: _Request | _Response,
    *,
    key: Ed25519PrivateKey,
    key_id: str,
    components: tuple[str, ...],
    tag: str,
    created: int,
    lifetime: int,
    nonce: str | None,
) -> None:
    if KEY_ID_PATTERN.fullmatch(key_id) is None:
        raise ValueError("key id must be 1-128 printable ASCII characters")
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: key}),
    )
    try:
        signer.sign(
            message,
            key_id=key_id,
            created=datetime.fromtimestamp(created, UTC),
            expires=datetime.fromtimestamp(created + lifetime, UTC),
            nonce=nonce,
            label=SIGNATURE_LABEL,
            tag=tag,
            covered_component_ids=components,
            use_existing_digest=True,
        )
    except HTTPMessageSignaturesException as exc:
        raise ValueError(f"cannot sign this message: {exc}") from None


def _clock(now: float | None) -> float:
    return time.time() if now is None else now


def sign_request(
    *,
    method: str,
    url: str,
    body: bytes | None,
    key: Ed25519PrivateKey,
    key_id: str,
    content_digest_value: str | None = None,
    now: float | None = None,
    lifetime: int = DEFAULT_LIFETIME,
) -> SignedHeaders:
    """Sign a worker request (label sig1, tag WORKER_TAG, covering @method, @target-uri and
    content-digest, with created/expires/nonce/keyid/alg). Pass `body`, or body=None and
    `content_digest_value` for a streamed body whose SHA-256 the caller computed. `url`
    must be the absolute, encoded URL exactly as it will be sent."""
    if (body is None) == (content_digest_value is None):
        raise ValueError("pass exactly one of body and content_digest_value")
    if content_digest_value is None:
        content_digest_value = content_digest(body or b"")
    sha256_from_content_digest(content_digest_value)
    if not 0 < lifetime <= 300:
        raise ValueError("lifetime must be between 1 and 300 seconds")
    nonce = secrets.token_urlsafe(16)
    message = _Request(method.upper(), url, {"Content-Digest": content_digest_value})
    created = int(_clock(now))
    _sign(
        message,
        key=key,
        key_id=key_id,
        components=REQUEST_COMPONENTS,
        tag=WORKER_TAG,
        created=created,
        lifetime=lifetime,
        nonce=nonce,
    )
    return SignedHeaders(headers=message.headers, nonce=nonce)


def sign_response(
    *,
    status: int,
    body: bytes,
    request_nonce: str,
    key: Ed25519PrivateKey,
    key_id: str = "edge",
    now: float | None = None,
) -> dict[str, str]:
    """Headers to add to an edge response: Content-Digest, the echoed request nonce,
    Signature-Input and Signature (covering @status, content-digest and the nonce header;
    tag EDGE_TAG)."""
    if NONCE_PATTERN.fullmatch(request_nonce) is None:
        raise ValueError("the request nonce is malformed")
    headers = {"Content-Digest": content_digest(body), REQUEST_NONCE_HEADER: request_nonce}
    message = _Response(status, headers)
    _sign(
        message,
        key=key,
        key_id=key_id,
        components=RESPONSE_COMPONENTS,
        tag=EDGE_TAG,
        created=int(_clock(now)),
        lifetime=DEFAULT_LIFETIME,
        nonce=None,
    )
    return message.headers


# ---------------------------------------------------------------------------- verification


class _PolicyVerifier(HTTPMessageVerifier):
    """The library's verifier without its own wall-clock window check: ours
    (signature_checks.check_window) already applied ours, against the caller's clock."""

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        del sig_input, max_age


def _check_signature(
    message: _Request | _Response, key: Ed25519PublicKey, tag: str, required: tuple[str, ...]
) -> None:
    verifier = _PolicyVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=_OneKeyResolver(key),
    )
    try:
        verifier.verify(
            message,
            max_age=None,
            expect_tag=tag,
            expect_label=SIGNATURE_LABEL,
            require_components=required,
        )
    except (InvalidSignature, HTTPMessageSignaturesException):
        raise SignatureError(
            SignatureErrorCode.BAD_SIGNATURE, "the signature does not verify"
        ) from None


class _OneKeyResolver(MappingKeyResolver):
    """Resolves every key id to the one key already chosen by our own lookup."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        super().__init__(public_keys={}, private_keys={})
        self._key = key

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        del key_id
        return self._key


def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    resolve_key: Callable[[str], Ed25519PublicKey | None],
    remember_nonce: Callable[[str, str, int], bool],
    now: float | None = None,
    max_age: int = DEFAULT_LIFETIME,
    max_skew: int = MAX_SKEW,
) -> VerifiedRequest:
    """Verify a signed worker request or raise SignatureError with the reason's code.

    Checks, in order: parse; required components (@method, @target-uri, content-digest)
    and parameters; tag; time window (created at most `max_skew` s ahead, at most `max_age`
    s old, `expires` not passed); key (`resolve_key` returns None for unknown or revoked
    ids); signature; body digest (skipped when body=None, for a streamed body the caller
    hashes and compares with `sha256_from_content_digest(headers['content-digest'])`); and
    last the nonce: `remember_nonce(key_id, nonce, until)` returns False if already seen.
    `until` is the last Unix second this signature could be accepted; the cache must keep
    the nonce at least that long. Header names are matched case-insensitively."""
    fields = lower_headers(headers)
    covered, params = signature_input(fields)
    require(covered, REQUEST_COMPONENTS, fields)
    signed = read_params(params, need_nonce=True)
    check_tag(params, WORKER_TAG)
    check_window(signed, _clock(now), max_age, max_skew)
    key = resolve_key(signed.key_id)
    if key is None:
        raise SignatureError(SignatureErrorCode.UNKNOWN_KEY, "the key id is unknown or revoked")
    _check_signature(_Request(method.upper(), url, fields), key, WORKER_TAG, REQUEST_COMPONENTS)
    check_digest(fields, body)
    if not remember_nonce(
        signed.key_id, signed.nonce, min(signed.expires, signed.created + max_age)
    ):
        raise SignatureError(SignatureErrorCode.REPLAYED, "the nonce was already used")
    return VerifiedRequest(signed.key_id, signed.nonce, signed.created, signed.expires)


def verify_response(
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    request_nonce: str,
    public_key: Ed25519PublicKey,
    now: float | None = None,
    max_age: int = DEFAULT_LIFETIME,
) -> None:
    """Verify an edge response to the request that carried `request_nonce`; raise
    SignatureError otherwise ("replayed" when it answers a different request)."""
    fields = lower_headers(headers)
    covered, params = signature_input(fields)
    require(covered, RESPONSE_COMPONENTS, fields)
    signed = read_params(params, need_nonce=False)
    check_tag(params, EDGE_TAG)
    check_window(signed, _clock(now), max_age, MAX_SKEW)
    _check_signature(_Response(status, fields), public_key, EDGE_TAG, RESPONSE_COMPONENTS)
    check_digest(fields, body)
    if not hmac.compare_digest(fields[REQUEST_NONCE_HEADER].encode(), request_nonce.encode()):
        raise SignatureError(
            SignatureErrorCode.REPLAYED, "the response answers a different request"
        )
