"""RFC 9421 request/response signing under the Strongroom worker profile."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import http_sf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.crypto.signing import (
    EDGE_TAG,
    WORKER_TAG,
    SignatureError,
    content_digest,
    content_digest_from_sha256,
    generate_private_key,
    sha256_from_content_digest,
    sign_request,
    verify_request,
)

NOW = 1_800_000_000.0
URL = "https://edge.example:8443/internal/worker/claim?grant=abc.def&x=1"
BODY = b'{"wait": 5}'
KEY = generate_private_key()
KEY_ID = "wrk_0123"


@dataclass
class NonceCache:
    seen: set[tuple[str, str]] = field(default_factory=set)
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def remember(self, key_id: str, nonce: str, until: int) -> bool:
        self.calls.append((key_id, nonce, until))
        if (key_id, nonce) in self.seen:
            return False
        self.seen.add((key_id, nonce))
        return True


def sf_dict(value: str) -> dict[str, Any]:
    """Parse a Structured Field Dictionary header independently of the code under test."""
    parsed = http_sf.parse(value.encode(), tltype="dictionary")
    assert isinstance(parsed, dict)
    return cast(dict[str, Any], parsed)


def resolver(key_id: str) -> Ed25519PublicKey | None:
    return KEY.public_key() if key_id == KEY_ID else None


def signed(**overrides: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "method": "POST",
        "url": URL,
        "body": BODY,
        "key": KEY,
        "key_id": KEY_ID,
        "now": NOW,
    }
    args.update(overrides)
    return sign_request(**args).headers


def verify(
    headers: dict[str, str],
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes | None = BODY,
    now: float = NOW + 1,
    cache: NonceCache | None = None,
    resolve: Callable[[str], Ed25519PublicKey | None] = resolver,
) -> object:
    return verify_request(
        method=method,
        url=url,
        headers=headers,
        body=body,
        resolve_key=resolve,
        remember_nonce=(cache or NonceCache()).remember,
        now=now,
    )


def code_of(headers: dict[str, str], **kwargs: Any) -> str:
    with pytest.raises(SignatureError) as info:
        verify(headers, **kwargs)
    return str(info.value.code)


def test_a_valid_request_passes() -> None:
    cache = NonceCache()
    result = verify_request(
        method="POST",
        url=URL,
        headers=signed(),
        body=BODY,
        resolve_key=resolver,
        remember_nonce=cache.remember,
        now=NOW + 1,
    )
    assert result.key_id == KEY_ID
    assert result.created == int(NOW)
    assert result.expires == int(NOW) + 60
    assert cache.calls == [(KEY_ID, result.nonce, int(NOW) + 60)]


def test_header_names_are_case_insensitive() -> None:
    headers = {name.upper(): value for name, value in signed().items()}
    verify(headers)
    headers = {name.lower(): value for name, value in signed().items()}
    verify(headers)


def test_an_empty_body_is_signed_with_its_digest() -> None:
    headers = signed(body=b"", method="GET")
    assert headers["Content-Digest"] == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    verify(headers, body=b"", method="GET")


def test_it_rejects_a_flipped_body_byte() -> None:
    assert code_of(signed(), body=b'{"wait": 6}') == "digest_mismatch"


def test_it_rejects_a_changed_method() -> None:
    assert code_of(signed(), method="PUT") == "bad_signature"


@pytest.mark.parametrize(
    "url",
    [
        URL.replace("/claim", "/complete"),
        URL.replace("x=1", "x=2"),
        URL.replace("grant=abc.def&", ""),
        URL.replace("edge.example", "evil.example"),
        URL.replace(":8443", ""),
        URL.replace("https", "http"),
    ],
)
def test_it_rejects_a_changed_target_uri(url: str) -> None:
    assert code_of(signed(), url=url) == "bad_signature"


def test_it_rejects_a_changed_covered_header() -> None:
    other = b'{"wait": 25}'
    headers = signed()
    headers["Content-Digest"] = content_digest(other)
    assert code_of(headers, body=other) == "bad_signature"


def test_it_rejects_a_replayed_nonce() -> None:
    cache, headers = NonceCache(), signed()
    verify(headers, cache=cache)
    assert code_of(headers, cache=cache) == "replayed"


def test_it_rejects_a_signature_older_than_60_seconds() -> None:
    assert code_of(signed(lifetime=300), now=NOW + 61) == "expired"
    verify(signed(lifetime=300), now=NOW + 60)


def test_it_rejects_a_request_created_too_far_in_the_future() -> None:
    assert code_of(signed(now=NOW + 6), now=NOW) == "not_yet_valid"
    verify(signed(now=NOW + 5), now=NOW)


def test_it_rejects_a_request_whose_expires_has_passed() -> None:
    headers = signed(lifetime=10)
    verify(headers, now=NOW + 10)
    assert code_of(headers, now=NOW + 11) == "expired"


def test_it_rejects_an_unknown_or_revoked_key() -> None:
    assert code_of(signed(), resolve=lambda _key_id: None) == "unknown_key"
    assert code_of(signed(key_id="wrk_other")) == "unknown_key"


def test_it_rejects_a_signature_by_another_key_under_a_known_id() -> None:
    assert code_of(signed(key=generate_private_key())) == "bad_signature"


def test_it_rejects_a_missing_content_digest_header() -> None:
    headers = signed()
    del headers["Content-Digest"]
    assert code_of(headers) == "missing_component"


@pytest.mark.parametrize("component", ['"@method" ', '"@target-uri" ', ' "content-digest"'])
def test_it_rejects_a_signature_missing_a_covered_component(component: str) -> None:
    headers = signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(component, "", 1)
    assert code_of(headers) == "missing_component"


def test_it_rejects_the_wrong_tag() -> None:
    headers = signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(WORKER_TAG, EDGE_TAG)
    assert code_of(headers) == "wrong_tag"
    headers["Signature-Input"] = headers["Signature-Input"].replace(f';tag="{EDGE_TAG}"', "")
    assert code_of(headers) == "wrong_tag"


@pytest.mark.parametrize(
    ("param", "replacement"),
    [
        ('alg="ed25519"', 'alg="hmac-sha256"'),
        ('keyid="wrk_0123"', 'keyid=""'),
        ('keyid="wrk_0123"', "keyid=5"),
        ("created=", "created=1.5;x="),
        ("created=", f"created={int(NOW)};unknown="),
        ("expires=", 'expires="soon";old='),
        ("nonce=", 'nonce="short";old='),
    ],
)
def test_it_rejects_missing_or_mistyped_parameters(param: str, replacement: str) -> None:
    headers = signed()
    headers["Signature-Input"] = headers["Signature-Input"].replace(param, replacement, 1)
    assert code_of(headers) in {"malformed", "bad_signature"}


def test_it_rejects_a_request_without_nonce_or_keyid_as_malformed() -> None:
    for name in ("nonce", "keyid", "created", "expires", "alg"):
        headers = signed()
        parsed = sf_dict(headers["Signature-Input"])
        members, params = parsed["sig1"]
        params = {k: v for k, v in params.items() if k != name}
        headers["Signature-Input"] = http_sf.ser({"sig1": (members, params)})
        assert code_of(headers) == "malformed", name


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_signature"),
        ({"Signature": "sig1=:AAAA:"}, "missing_signature"),
        ({"Signature-Input": "sig1=()", "Signature": "sig1=:AAAA:"}, "missing_component"),
        ({"Signature-Input": "((((", "Signature": "sig1=:AAAA:"}, "malformed"),
        ({"Signature-Input": "sig1=1", "Signature": "sig1=:AAAA:"}, "malformed"),
        ({"Signature-Input": 'sig1=("@method")', "Signature": "sig1=(1)"}, "malformed"),
        (
            {"Signature-Input": 'other=("@method")', "Signature": "other=:AAAA:"},
            "missing_signature",
        ),
        ({"Signature-Input": "sig1=(\u00e9)", "Signature": "sig1=:AAAA:"}, "malformed"),
        ({"Signature-Input": "sig1=(" + "a" * 5000 + ")", "Signature": "x"}, "malformed"),
        ({"Signature-Input": "sig1=(@method)", "Signature": "sig1=:AAAA:"}, "malformed"),
    ],
)
def test_it_rejects_garbage_signature_headers(headers: dict[str, str], code: str) -> None:
    assert code_of({"Content-Digest": content_digest(BODY), **headers}) == code


def test_a_signed_content_digest_without_sha256_is_malformed() -> None:
    sha512 = "sha-512=:" + base64.b64encode(hashlib.sha512(BODY).digest()).decode() + ":"
    with pytest.raises(SignatureError) as info:
        signed(body=None, content_digest_value=sha512)
    assert info.value.code == "malformed"


def test_a_forged_request_does_not_burn_its_nonce() -> None:
    cache = NonceCache()
    headers = signed()
    assert code_of(headers, method="DELETE", cache=cache) == "bad_signature"
    assert code_of(headers, body=b"other", cache=cache) == "digest_mismatch"
    assert cache.calls == []
    verify(headers, cache=cache)


def test_the_nonce_is_remembered_only_as_long_as_the_request_could_be_accepted() -> None:
    cache = NonceCache()
    verify(signed(lifetime=300), cache=cache)
    assert cache.calls[0][2] == int(NOW) + 60


def test_a_streamed_body_is_verified_by_the_caller_against_the_signed_digest() -> None:
    payload = b"x" * 10_000
    digest = hashlib.sha256(payload).digest()
    headers = sign_request(
        method="PUT",
        url=URL,
        body=None,
        key=KEY,
        key_id=KEY_ID,
        content_digest_value=content_digest_from_sha256(digest),
        now=NOW,
    ).headers
    verify(headers, method="PUT", body=None)
    assert sha256_from_content_digest(headers["Content-Digest"]) == digest


def test_a_streamed_body_still_needs_a_covered_digest_header() -> None:
    headers = signed()
    del headers["Content-Digest"]
    assert code_of(headers, body=None) == "missing_component"


def test_sign_request_needs_exactly_one_of_body_and_digest() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        sign_request(method="GET", url=URL, body=None, key=KEY, key_id=KEY_ID)
    with pytest.raises(ValueError, match="exactly one"):
        sign_request(
            method="GET",
            url=URL,
            body=b"",
            key=KEY,
            key_id=KEY_ID,
            content_digest_value=content_digest(b""),
        )


@pytest.mark.parametrize("url", ["/relative/path", "https://host/a b", "https://h\u00e9/"])
def test_sign_request_refuses_urls_that_are_not_absolute_and_encoded(url: str) -> None:
    with pytest.raises(ValueError):
        sign_request(method="GET", url=url, body=b"", key=KEY, key_id=KEY_ID)


def test_signature_input_is_rfc_9421_structured_field_syntax() -> None:
    result = sign_request(method="post", url=URL, body=BODY, key=KEY, key_id=KEY_ID, now=NOW)
    value = result.headers["Signature-Input"]
    parsed = sf_dict(value)
    assert list(parsed) == ["sig1"]
    members, params = parsed["sig1"]
    assert [(name, item_params) for name, item_params in members] == [
        ("@method", {}),
        ("@target-uri", {}),
        ("content-digest", {}),
    ]
    assert params == {
        "created": int(NOW),
        "keyid": KEY_ID,
        "alg": "ed25519",
        "expires": int(NOW) + 60,
        "nonce": result.nonce,
        "tag": WORKER_TAG,
    }
    assert len(base64.urlsafe_b64decode(result.nonce + "==")) == 16
    # Re-serialising gives back the exact header: it is canonical SF syntax.
    assert http_sf.ser(parsed) == value
    assert value.startswith('sig1=("@method" "@target-uri" "content-digest");created=1800000000;')
    signature = sf_dict(result.headers["Signature"])
    assert len(signature["sig1"][0]) == 64


def test_the_library_reproduces_the_rfc_9421_ed25519_test_vector() -> None:
    """RFC 9421 appendix B.2.6, through our key loaders."""
    from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

    from strongroom.crypto.signing import private_key_from_pem, public_key_to_text

    pem = (
        b"-----BEGIN PRIVATE KEY-----\n"
        b"MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
        b"-----END PRIVATE KEY-----\n"
    )
    key = private_key_from_pem(pem)
    assert public_key_to_text(key.public_key()) == "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"

    @dataclass
    class Request:
        method: str
        url: str
        headers: dict[str, str]

    request = Request(
        "POST",
        "https://example.com/foo?param=Value&Pet=dog",
        {
            "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
            "Content-Type": "application/json",
            "Content-Length": "18",
        },
    )
    from datetime import UTC, datetime

    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={"test-key-ed25519": key}),
    ).sign(
        request,
        key_id="test-key-ed25519",
        created=datetime.fromtimestamp(1618884473, UTC),
        label="sig-b26",
        include_alg=False,
        covered_component_ids=(
            "date",
            "@method",
            "@path",
            "@authority",
            "content-type",
            "content-length",
        ),
    )
    assert request.headers["Signature-Input"] == (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    assert request.headers["Signature"] == (
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPp"
        "BKRCw==:"
    )
