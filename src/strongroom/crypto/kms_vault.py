"""Key-encryption keys held by a HashiCorp Vault transit key (through hvac).

Wrapping a data key is one transit `encrypt` call: the DEK is the plaintext and the envelope's
wrap AAD (object id + key id) goes in as `associated_data`, so Vault's AES-GCM binds the
wrapped key to its object exactly as `LocalKek` does. The wrapped form stored in the object
header is Vault's own ciphertext string (`vault:v<version>:<base64>`), which carries the
transit key version, so a key rotated in Vault keeps decrypting old objects while new ones use
the newest version. The KEK id (`vault:<mount>/<name>`) does not change on rotation.

Rotation of stored objects goes through unwrap + wrap (`datakeys.rewrap_key` with this
same KEK): Vault's `rewrap` endpoint takes no `associated_data`, so it cannot re-encrypt a
ciphertext bound to one (hashicorp/vault#29532).

Failures map onto the envelope's contract: a ciphertext that does not authenticate raises
ValueError (the envelope turns it into a DecryptionError naming the object and key id); a
retired key version or a deleted key raises KeyUnavailableError; a refused token raises
KeyProviderDenied; an unreachable, sealed or failing Vault raises KeyProviderUnavailable.
No message ever holds the token, the data key, or Vault's raw response.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hvac
import hvac.exceptions
import requests

from strongroom.crypto.kek import KeyUnavailableError, validate_key_id
from strongroom.crypto.providers import (
    VAULT_KEY_NAME_PATTERN,
    VAULT_MOUNT_PATTERN,
    VAULT_TOKEN_PATTERN,
    KekConfig,
    KekConfigError,
    KeyProviderDenied,
    KeyProviderUnavailable,
)

__all__ = ["VaultTransitKek", "vault_kek_from_config", "wrapped_key_version"]

_CIPHERTEXT = re.compile(r"vault:v([1-9][0-9]{0,9}):[A-Za-z0-9+/]+={0,2}")
# Vault's own wording for these conditions (builtin/logical/transit, sdk/helper/keysutil).
_KEY_MISSING = "encryption key not found"
_TOO_OLD = "disallowed by policy (too old)"
_TOO_NEW = "version is too new"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class VaultTransitKek:
    """Wraps data keys with a Vault transit key (type aes256-gcm96 or chacha20-poly1305).

    `client` is an `hvac.Client` (typed Any: hvac ships no type hints) whose token may
    `update` `<mount>/encrypt/<name>` and `<mount>/decrypt/<name>`.
    """

    __slots__ = ("_client", "_mount", "_name", "key_id")

    def __init__(self, client: Any, key_name: str, *, mount: str = "transit") -> None:
        if VAULT_KEY_NAME_PATTERN.fullmatch(key_name) is None:
            raise ValueError("Vault transit key names are 1-128 of [A-Za-z0-9_.-]")
        if VAULT_MOUNT_PATTERN.fullmatch(mount) is None:
            raise ValueError("Vault mount must be a path such as 'transit'")
        self._client = client
        self._name = key_name
        self._mount = mount
        self.key_id = validate_key_id(f"vault:{mount}/{key_name}")

    def __repr__(self) -> str:
        return f"VaultTransitKek(key_id={self.key_id!r})"

    def wrap(self, dek: bytes, aad: bytes) -> bytes:
        """Encrypt `dek` with the newest version of the transit key, bound to `aad`."""
        with _vault_errors(self.key_id, unwrapping=False):
            response = self._client.secrets.transit.encrypt_data(
                self._name, plaintext=_b64(dek), associated_data=_b64(aad), mount_point=self._mount
            )
        ciphertext = _data_field(response, "ciphertext", self.key_id)
        if _CIPHERTEXT.fullmatch(ciphertext) is None:
            raise KeyProviderUnavailable(
                "Vault returned a malformed ciphertext", key_id=self.key_id
            )
        return ciphertext.encode("ascii")

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        """Return the data key; ValueError if `wrapped`/`aad` do not authenticate."""
        wrapped_key_version(wrapped)  # reject malformed input before any network call
        with _vault_errors(self.key_id, unwrapping=True):
            response = self._client.secrets.transit.decrypt_data(
                self._name,
                ciphertext=wrapped.decode("ascii"),
                associated_data=_b64(aad),
                mount_point=self._mount,
            )
        plaintext = _data_field(response, "plaintext", self.key_id)
        try:
            return base64.b64decode(plaintext, validate=True)
        except (binascii.Error, ValueError):
            raise KeyProviderUnavailable(
                "Vault returned a malformed plaintext", key_id=self.key_id
            ) from None


def wrapped_key_version(wrapped: bytes) -> int:
    """The transit key version a wrapped key was made with (`vault:v<N>:...`), so a rotation
    job can skip objects already on the newest version. ValueError if it is not a Vault
    transit ciphertext (as for any wrapped key that does not authenticate)."""
    try:
        match = _CIPHERTEXT.fullmatch(wrapped.decode("ascii"))
    except UnicodeDecodeError:
        match = None
    if match is None:
        raise ValueError("wrapped key is not a Vault transit ciphertext")
    return int(match.group(1))


def _data_field(response: Any, name: str, key_id: str) -> str:
    # hvac returns the decoded JSON body for a 200; anything else is a protocol error.
    data = response.get("data") if isinstance(response, dict) else None
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise KeyProviderUnavailable(f"Vault's answer has no {name}", key_id=key_id)
    return value


def _first_error(exc: hvac.exceptions.VaultError) -> str:
    errors = exc.errors if isinstance(exc.errors, list) else []
    return str(errors[0]) if errors else ""


@contextmanager
def _vault_errors(key_id: str, *, unwrapping: bool) -> Iterator[None]:
    """Translate hvac/requests failures into the KEK contract. `from None` drops the hvac
    exception, whose text carries Vault's URL and raw answer, from what gets logged."""
    try:
        yield
    except hvac.exceptions.InvalidRequest as exc:
        raise _invalid_request(_first_error(exc), key_id, unwrapping=unwrapping) from None
    except (hvac.exceptions.Unauthorized, hvac.exceptions.Forbidden):
        raise KeyProviderDenied(
            "Vault refused the token (permission denied for this transit key)", key_id=key_id
        ) from None
    except hvac.exceptions.InvalidPath:
        raise KeyProviderUnavailable(
            "Vault has no such transit mount or key", key_id=key_id
        ) from None
    except hvac.exceptions.VaultDown:
        raise KeyProviderUnavailable("Vault is sealed or in maintenance", key_id=key_id) from None
    except hvac.exceptions.VaultError as exc:
        reason = f"Vault answered with an error ({type(exc).__name__})"
        raise KeyProviderUnavailable(reason, key_id=key_id) from None
    except requests.RequestException:
        raise KeyProviderUnavailable("Vault is unreachable", key_id=key_id) from None


def _invalid_request(message: str, key_id: str, *, unwrapping: bool) -> Exception:
    if _KEY_MISSING in message:
        if unwrapping:
            return KeyUnavailableError("the Vault transit key does not exist", key_id=key_id)
        return KeyProviderUnavailable("the Vault transit key does not exist", key_id=key_id)
    if not unwrapping:
        return KeyProviderUnavailable("Vault rejected the encrypt request", key_id=key_id)
    if _TOO_OLD in message:
        return KeyUnavailableError(
            "the Vault key version is retired (below min_decryption_version)", key_id=key_id
        )
    if _TOO_NEW in message:
        return KeyUnavailableError(
            "the wrapped key names a Vault key version newer than the key's latest", key_id=key_id
        )
    # Everything else Vault says about a decrypt input (bad prefix, bad base64, AEAD failure)
    # is a verdict on the ciphertext: the envelope reports it as tampered or wrong-key.
    return ValueError("wrapped key does not authenticate in Vault")


def vault_kek_from_config(config: KekConfig) -> VaultTransitKek:
    """A VaultTransitKek for a validated `vault` KekConfig, with its own hvac client. The
    token is read from `token_file` now (KekConfigError if unreadable or empty)."""
    client = hvac.Client(
        url=config.url,
        token=_token(config),
        verify=str(config.ca_file) if config.ca_file else True,
        timeout=config.timeout,
        # A redirect would resend the X-Vault-Token header to wherever it points.
        allow_redirects=False,
        namespace=config.namespace or None,
    )
    return VaultTransitKek(client, config.key, mount=config.mount)


def _token(config: KekConfig) -> str:
    if config.token_file is None:
        return config.token
    try:
        token = config.token_file.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise KekConfigError(f"token_file cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise KekConfigError("token_file does not hold an ASCII token") from None
    if VAULT_TOKEN_PATTERN.fullmatch(token) is None:
        raise KekConfigError("token_file must hold one token of printable ASCII")
    return token
