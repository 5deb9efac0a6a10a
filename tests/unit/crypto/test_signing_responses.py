"""RFC 9421 signed edge responses, and Content-Digest values."""

from __future__ import annotations

from typing import Any

import http_sf
import pytest

from strongroom.crypto.signing import (
    EDGE_TAG,
    REQUEST_NONCE_HEADER,
    WORKER_TAG,
    SignatureError,
    content_digest,
    content_digest_from_sha256,
    generate_private_key,
    sha256_from_content_digest,
    sign_response,
    verify_response,
)

NOW = 1_800_000_000.0


NONCE = "AAAAAAAAAAAAAAAAAAAAAA"
EDGE = generate_private_key()


def response_code(headers: dict[str, str], **kwargs: Any) -> str:
    args: dict[str, Any] = {
        "status": 200,
        "headers": headers,
        "body": b"{}",
        "request_nonce": NONCE,
        "public_key": EDGE.public_key(),
        "now": NOW + 1,
    }
    args.update(kwargs)
    with pytest.raises(SignatureError) as info:
        verify_response(**args)
    return str(info.value.code)


def edge_headers(**kwargs: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "status": 200,
        "body": b"{}",
        "request_nonce": NONCE,
        "key": EDGE,
        "now": NOW,
    }
    args.update(kwargs)
    return sign_response(**args)


def test_a_signed_response_round_trips() -> None:
    headers = edge_headers()
    assert headers[REQUEST_NONCE_HEADER] == NONCE
    assert set(headers) == {"Content-Digest", REQUEST_NONCE_HEADER, "Signature-Input", "Signature"}
    params: Any = http_sf.parse(headers["Signature-Input"].encode(), tltype="dictionary")
    assert params["sig1"][1]["tag"] == EDGE_TAG
    assert params["sig1"][1]["keyid"] == "edge"
    verify_response(
        status=200,
        headers=headers,
        body=b"{}",
        request_nonce=NONCE,
        public_key=EDGE.public_key(),
        now=NOW + 1,
    )


def test_a_response_with_a_changed_body_is_refused() -> None:
    assert response_code(edge_headers(), body=b'{"a":1}') == "digest_mismatch"


def test_a_response_with_a_changed_status_is_refused() -> None:
    assert response_code(edge_headers(), status=204) == "bad_signature"


def test_a_response_replayed_onto_another_request_is_refused() -> None:
    assert response_code(edge_headers(), request_nonce="B" * 22) == "replayed"


def test_a_response_with_an_edited_nonce_header_is_refused() -> None:
    headers = edge_headers()
    headers[REQUEST_NONCE_HEADER] = "B" * 22
    assert response_code(headers, request_nonce="B" * 22) == "bad_signature"


def test_a_response_signed_by_another_key_is_refused() -> None:
    assert response_code(edge_headers(key=generate_private_key())) == "bad_signature"


def test_an_unsigned_or_stale_response_is_refused() -> None:
    assert response_code({"Content-Digest": content_digest(b"{}")}) == "missing_signature"
    assert response_code(edge_headers(), now=NOW + 61) == "expired"
    assert response_code(edge_headers(now=NOW + 30)) == "not_yet_valid"


def test_a_worker_signature_is_not_accepted_as_a_response() -> None:
    headers = edge_headers()
    headers["Signature-Input"] = headers["Signature-Input"].replace(EDGE_TAG, WORKER_TAG)
    assert response_code(headers) == "wrong_tag"


def test_sign_response_refuses_a_malformed_request_nonce() -> None:
    with pytest.raises(ValueError, match="nonce"):
        edge_headers(request_nonce="bad nonce\r\nx: y")


# ---------------------------------------------------------------------------- digests


def test_content_digest_has_the_rfc_9530_form() -> None:
    assert content_digest(b'{"hello": "world"}') == (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "sha-256=:AAAA:",
        "sha-512=:" + "A" * 86 + "==:",
        "sha-256=abc",
        "sha-256=\u00e9",
    ],
)
def test_sha256_from_content_digest_rejects_other_values(value: str) -> None:
    with pytest.raises(SignatureError) as info:
        sha256_from_content_digest(value)
    assert info.value.code == "malformed"


def test_content_digest_from_sha256_needs_32_bytes() -> None:
    with pytest.raises(ValueError, match="32"):
        content_digest_from_sha256(b"short")
