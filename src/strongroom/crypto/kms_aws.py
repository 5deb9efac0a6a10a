"""Key-encryption keys held by AWS KMS (through boto3).

Wrapping a data key is one KMS `Encrypt` call with the envelope's wrap AAD (object id + key
id, base64) as the encryption context `{"aad": ...}`; KMS authenticates the context, so the
wrapped key only unwraps for the object it was made for. Unwrapping passes `KeyId` too, so a
ciphertext made under some other KMS key is refused rather than silently accepted. (KMS logs
the encryption context in CloudTrail: object ids appear there, data keys never do.)

`rewrap` uses `ReEncrypt`, which moves a wrapped key to the newest backing key of the same
KMS key without the plaintext data key ever leaving KMS.

Failures map onto the envelope's contract: a ciphertext or context that does not authenticate
raises ValueError (the envelope turns it into a DecryptionError naming the object and key
id); a disabled, deleted or pending-deletion key raises KeyUnavailableError when unwrapping;
refused credentials raise KeyProviderDenied; an unreachable or failing KMS raises
KeyProviderUnavailable. Messages hold the key id and the KMS error code, nothing else.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from strongroom.crypto.kek import KeyUnavailableError, validate_key_id
from strongroom.crypto.providers import (
    AWS_KEY_PATTERN,
    KekConfig,
    KeyProviderDenied,
    KeyProviderUnavailable,
)

__all__ = ["AwsKmsKek", "aws_kek_from_config"]

CONTEXT_KEY = "aad"
# KMS error codes (API reference, "Errors" of Encrypt/Decrypt/ReEncrypt).
_NOT_AUTHENTIC = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
_RETIRED = frozenset({"DisabledException", "KMSInvalidStateException", "NotFoundException"})
_DENIED = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignature",
        "ExpiredTokenException",
        "InvalidClientTokenId",
    }
)


def _context(aad: bytes) -> dict[str, str]:
    return {CONTEXT_KEY: base64.b64encode(aad).decode("ascii")}


class AwsKmsKek:
    """Wraps data keys with one AWS KMS symmetric key.

    `client` is a boto3 KMS client (typed Any: boto3 ships no type hints) allowed to
    kms:Encrypt, kms:Decrypt and (for rotation) kms:ReEncrypt* on `key`; `key` is the key
    id, alias (`alias/name`) or ARN, and the KEK id is `aws-kms:<key>`.
    """

    __slots__ = ("_client", "_key", "key_id")

    def __init__(self, client: Any, key: str) -> None:
        if AWS_KEY_PATTERN.fullmatch(key) is None:
            raise ValueError("AWS KMS key must be a key id, alias/<name>, or ARN")
        self._client = client
        self._key = key
        self.key_id = validate_key_id(f"aws-kms:{key}")

    def __repr__(self) -> str:
        return f"AwsKmsKek(key_id={self.key_id!r})"

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        """Encrypt `dek` under the KMS key, bound to `aad`."""
        with _kms_errors(self.key_id, unwrapping=False):
            response = self._client.encrypt(
                KeyId=self._key, Plaintext=dek, EncryptionContext=_context(aad)
            )
        return _blob(response, "CiphertextBlob", self.key_id)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Return the data key; ValueError if `wrapped`/`aad` do not authenticate."""
        with _kms_errors(self.key_id, unwrapping=True):
            response = self._client.decrypt(
                CiphertextBlob=wrapped, EncryptionContext=_context(aad), KeyId=self._key
            )
        return _blob(response, "Plaintext", self.key_id)

    def rewrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Re-encrypt `wrapped` under the key's newest backing key inside KMS (same `aad`);
        the data key never reaches this process. Errors as for `unwrap`."""
        context = _context(aad)
        with _kms_errors(self.key_id, unwrapping=True):
            response = self._client.re_encrypt(
                CiphertextBlob=wrapped,
                SourceEncryptionContext=context,
                SourceKeyId=self._key,
                DestinationKeyId=self._key,
                DestinationEncryptionContext=context,
            )
        return _blob(response, "CiphertextBlob", self.key_id)


def _blob(response: Any, name: str, key_id: str) -> bytes:
    value = response.get(name) if isinstance(response, dict) else None
    if not isinstance(value, bytes) or not value:
        raise KeyProviderUnavailable(f"AWS KMS's answer has no {name}", key_id=key_id)
    return value


def _error_code(exc: botocore.exceptions.ClientError) -> str:
    code = exc.response.get("Error", {}).get("Code", "")
    return code if isinstance(code, str) and code.isidentifier() else "unknown"


@contextmanager
def _kms_errors(key_id: str, *, unwrapping: bool) -> Iterator[None]:
    """Translate botocore failures into the KEK contract; `from None` keeps the raw botocore
    text (request ids, ARNs, endpoint) out of what gets logged."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        raise _client_error(_error_code(exc), key_id, unwrapping=unwrapping) from None
    except botocore.exceptions.ParamValidationError:
        # Raised before sending: an empty or oversized blob cannot be a valid wrapped key.
        if unwrapping:
            raise ValueError("wrapped key is not a valid AWS KMS ciphertext") from None
        raise
    except botocore.exceptions.NoCredentialsError:
        raise KeyProviderDenied("no AWS credentials are configured", key_id=key_id) from None
    except botocore.exceptions.BotoCoreError as exc:
        reason = f"AWS KMS is unreachable ({type(exc).__name__})"
        raise KeyProviderUnavailable(reason, key_id=key_id) from None


def _client_error(code: str, key_id: str, *, unwrapping: bool) -> Exception:
    if code in _NOT_AUTHENTIC and unwrapping:
        return ValueError("wrapped key does not authenticate in AWS KMS")
    if code in _RETIRED:
        reason = f"the AWS KMS key is disabled, deleted or pending deletion ({code})"
        if unwrapping:
            return KeyUnavailableError(reason, key_id=key_id)
        return KeyProviderUnavailable(reason, key_id=key_id)
    if code in _DENIED:
        return KeyProviderDenied(f"AWS KMS refused the request ({code})", key_id=key_id)
    return KeyProviderUnavailable(f"AWS KMS answered with an error ({code})", key_id=key_id)


def aws_kek_from_config(config: KekConfig) -> AwsKmsKek:
    """An AwsKmsKek for a validated `aws` KekConfig, with its own boto3 KMS client. Credentials
    come from boto3's default chain; retries are bounded so an outage fails in seconds."""
    retry_config = botocore.config.Config(
        connect_timeout=config.timeout,
        read_timeout=config.timeout,
        retries={"mode": "standard", "total_max_attempts": 3},
    )
    client = boto3.session.Session().client(
        "kms",
        region_name=config.region,
        endpoint_url=config.endpoint or None,
        verify=str(config.ca_file) if config.ca_file else True,
        config=retry_config,
    )
    return AwsKmsKek(client, config.key)
