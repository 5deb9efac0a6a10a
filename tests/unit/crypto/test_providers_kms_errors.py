"""How KMS failures map onto the KEK contract, for answers the local stand-ins cannot give
(a sealed Vault, a disabled AWS key, throttling). Transports are stubbed with `responses`
(Vault, over hvac's requests session) and botocore's Stubber (AWS); no sockets."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import hvac
import pytest
import requests
import responses
from botocore.stub import Stubber

from strongroom.crypto.kek import KeyUnavailableError
from strongroom.crypto.kms_aws import AwsKmsKek
from strongroom.crypto.kms_vault import VaultTransitKek, wrapped_key_version
from strongroom.crypto.providers import KeyProviderDenied, KeyProviderUnavailable

VAULT = "https://vault.test:8200"
TOKEN = "hvs.unit-" + secrets.token_hex(8)
DECRYPT = f"{VAULT}/v1/transit/decrypt/objects"
ENCRYPT = f"{VAULT}/v1/transit/encrypt/objects"
WRAPPED = b"vault:v1:" + b"QUJD" * 10
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def vault_http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def vault_kek() -> VaultTransitKek:
    return VaultTransitKek(hvac.Client(url=VAULT, token=TOKEN), "objects")


def _vault_error(mock: responses.RequestsMock, url: str, status: int, message: str) -> None:
    mock.add(responses.POST, url, json={"errors": [message] if message else []}, status=status)


@pytest.mark.parametrize(
    ("status", "message", "error", "reason"),
    [
        (400, "cipher: message authentication failed", ValueError, "authenticate"),
        (400, "invalid ciphertext: could not decode base64", ValueError, "authenticate"),
        (400, "ciphertext or signature version is disallowed by policy (too old)",
         KeyUnavailableError, "retired"),
        (400, "invalid ciphertext: version is too new", KeyUnavailableError, "newer"),
        (400, "encryption key not found", KeyUnavailableError, "does not exist"),
        (403, "permission denied", KeyProviderDenied, "refused the token"),
        (404, "", KeyProviderUnavailable, "no such transit mount"),
        (503, "Vault is sealed", KeyProviderUnavailable, "sealed"),
        (500, "internal error", KeyProviderUnavailable, "InternalServerError"),
        (429, "rate limited", KeyProviderUnavailable, "RateLimitExceeded"),
    ],
)  # fmt: skip
def test_vault_decrypt_failures_map_to_the_kek_contract(
    vault_http: responses.RequestsMock,
    vault_kek: VaultTransitKek,
    status: int,
    message: str,
    error: type[Exception],
    reason: str,
) -> None:
    _vault_error(vault_http, DECRYPT, status, message)
    with pytest.raises(error, match=reason) as info:
        vault_kek.unwrap(WRAPPED, b"aad")
    if not isinstance(info.value, ValueError):
        assert "vault:transit/objects" in str(info.value)
    assert TOKEN not in str(info.value)
    assert VAULT not in str(info.value)  # hvac's text (URL, raw answer) is dropped


@pytest.mark.parametrize(
    ("status", "message", "error", "reason"),
    [
        (400, "encryption key not found", KeyProviderUnavailable, "does not exist"),
        (400, "key type does not support encryption", KeyProviderUnavailable, "rejected"),
        (403, "permission denied", KeyProviderDenied, "refused the token"),
        (503, "Vault is sealed", KeyProviderUnavailable, "sealed"),
    ],
)
def test_vault_encrypt_failures_never_look_like_tampering(
    vault_http: responses.RequestsMock,
    vault_kek: VaultTransitKek,
    status: int,
    message: str,
    error: type[Exception],
    reason: str,
) -> None:
    _vault_error(vault_http, ENCRYPT, status, message)
    with pytest.raises(error, match=reason):
        vault_kek.wrap(b"d" * 32, b"aad")


def test_an_unreachable_vault_is_unavailable(
    vault_http: responses.RequestsMock, vault_kek: VaultTransitKek
) -> None:
    vault_http.add(responses.POST, DECRYPT, body=requests.ConnectionError("refused"))
    with pytest.raises(KeyProviderUnavailable, match="unreachable"):
        vault_kek.unwrap(WRAPPED, b"aad")


@pytest.mark.parametrize(
    "body",
    [{}, {"data": {}}, {"data": {"ciphertext": 7}}, {"data": {"ciphertext": "plain:v1:AAAA"}}],
)
def test_a_malformed_vault_answer_is_unavailable(
    vault_http: responses.RequestsMock, vault_kek: VaultTransitKek, body: dict[str, Any]
) -> None:
    vault_http.add(responses.POST, ENCRYPT, json=body)
    with pytest.raises(KeyProviderUnavailable, match="vault:transit/objects"):
        vault_kek.wrap(b"d" * 32, b"aad")


def test_a_non_base64_plaintext_answer_is_unavailable(
    vault_http: responses.RequestsMock, vault_kek: VaultTransitKek
) -> None:
    vault_http.add(responses.POST, DECRYPT, json={"data": {"plaintext": "not base64!"}})
    with pytest.raises(KeyProviderUnavailable, match="malformed plaintext"):
        vault_kek.unwrap(WRAPPED, b"aad")


@pytest.mark.parametrize(
    "wrapped", [b"", b"vault:v0:AAAA", b"vault:v1:", b"vault:v1:AA AA", b"\xff\xfe", b"v1:AAAA"]
)
def test_a_malformed_wrapped_key_is_refused_before_any_request(
    vault_http: responses.RequestsMock, vault_kek: VaultTransitKek, wrapped: bytes
) -> None:
    with pytest.raises(ValueError, match="not a Vault transit ciphertext"):
        vault_kek.unwrap(wrapped, b"aad")
    assert len(vault_http.calls) == 0


def test_wrapped_key_version_reads_the_version_prefix() -> None:
    assert wrapped_key_version(b"vault:v12:QUJD") == 12


@pytest.mark.parametrize("name", ["", "a/b", "../x"])
def test_a_vault_kek_refuses_bad_key_names(name: str) -> None:
    with pytest.raises(ValueError, match="key names"):
        VaultTransitKek(hvac.Client(url=VAULT, token=TOKEN), name)


@pytest.fixture
def kms() -> Any:
    return boto3.session.Session().client(
        "kms", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


@pytest.mark.parametrize(
    ("code", "error", "reason"),
    [
        ("InvalidCiphertextException", ValueError, "authenticate"),
        ("IncorrectKeyException", ValueError, "authenticate"),
        ("DisabledException", KeyUnavailableError, "disabled"),
        ("KMSInvalidStateException", KeyUnavailableError, "pending deletion"),
        ("NotFoundException", KeyUnavailableError, "deleted"),
        ("AccessDeniedException", KeyProviderDenied, "AccessDeniedException"),
        ("UnrecognizedClientException", KeyProviderDenied, "UnrecognizedClientException"),
        ("ThrottlingException", KeyProviderUnavailable, "ThrottlingException"),
        ("KMSInternalException", KeyProviderUnavailable, "KMSInternalException"),
    ],
)
def test_kms_decrypt_failures_map_to_the_kek_contract(
    kms: Any, code: str, error: type[Exception], reason: str
) -> None:
    kek = AwsKmsKek(kms, KEY)
    with Stubber(kms) as stub:
        stub.add_client_error(
            "decrypt", service_error_code=code, service_message="secret detail arn:x"
        )
        with pytest.raises(error, match=reason) as info:
            kek.unwrap(b"blob", b"aad")
    assert "secret detail" not in str(info.value)
    if not isinstance(info.value, ValueError):
        assert f"aws-kms:{KEY}" in str(info.value)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("DisabledException", KeyProviderUnavailable),
        ("InvalidCiphertextException", KeyProviderUnavailable),
        ("AccessDeniedException", KeyProviderDenied),
    ],
)
def test_kms_encrypt_failures_never_look_like_tampering(
    kms: Any, code: str, error: type[Exception]
) -> None:
    kek = AwsKmsKek(kms, KEY)
    with Stubber(kms) as stub:
        stub.add_client_error("encrypt", service_error_code=code)
        with pytest.raises(error) as info:
            kek.wrap(b"d" * 32, b"aad")
    assert not isinstance(info.value, (ValueError, KeyUnavailableError))


def test_kms_requests_carry_the_key_and_the_aad_as_encryption_context(kms: Any) -> None:
    kek = AwsKmsKek(kms, KEY)
    context = {"aad": "YWFk"}  # base64 of b"aad"
    with Stubber(kms) as stub:
        stub.add_response(
            "encrypt",
            {"CiphertextBlob": b"sealed", "KeyId": KEY},
            {"KeyId": KEY, "Plaintext": b"d" * 32, "EncryptionContext": context},
        )
        stub.add_response(
            "decrypt",
            {"Plaintext": b"d" * 32, "KeyId": KEY},
            {"CiphertextBlob": b"sealed", "EncryptionContext": context, "KeyId": KEY},
        )
        assert kek.unwrap(kek.wrap(b"d" * 32, b"aad"), b"aad") == b"d" * 32
        stub.assert_no_pending_responses()


def test_an_empty_kms_answer_is_unavailable(kms: Any) -> None:
    kek = AwsKmsKek(kms, KEY)
    with Stubber(kms) as stub:
        stub.add_response("decrypt", {"KeyId": KEY})
        with pytest.raises(KeyProviderUnavailable, match="no Plaintext"):
            kek.unwrap(b"blob", b"aad")


@pytest.mark.parametrize("key", ["", "objects", "alias/"])
def test_an_aws_kek_refuses_bad_key_ids(kms: Any, key: str) -> None:
    with pytest.raises(ValueError, match="AWS KMS key"):
        AwsKmsKek(kms, key)
