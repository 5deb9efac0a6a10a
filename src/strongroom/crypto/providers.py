"""Key providers behind one interface: configuration in, a `Keyring` out.

The object KEK lives in one of three places, chosen by configuration, never by code forks:

- `local`: the embedded profile's master key (key file created 0600 at first start, or
  `STRONGROOM_MASTER_KEY` / `STRONGROOM_MASTER_KEY_FILE`), see `keyfile`, plus the random
  KEKs `strongroom keys rotate` adds to the object key file (`kek_file`), see `local_keks`;
- `vault`: a HashiCorp Vault transit key (`kms_vault`, through hvac);
- `aws`: an AWS KMS key (`kms_aws`, through boto3).

A keyring has one primary provider (it wraps new data keys) and any number of retired ones
that still unwrap old objects, so moving from a key file to a KMS, or from one KMS key to
another, keeps every stored object readable. The KMS modules are imported only when such a
provider is configured, so the embedded profile never loads hvac or boto3.

The errors a KMS-backed key raises besides the `kek` ones live here too: a KMS that cannot be
reached (or refuses us) is not a property of the object being read, so it is neither a
`DecryptionError` nor retried as one; every message names the key id, never a token or key.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from strongroom.crypto.kek import (
    DEK_SIZE,
    KeyEncryptionKey,
    KeyProviderDenied,
    KeyProviderUnavailable,
    Keyring,
)
from strongroom.crypto.keyfile import (
    ENV_KEY,
    ENV_KEY_FILE,
    load_or_create_master_key,
    object_keyring,
    read_key_file,
)
from strongroom.crypto.local_keks import LocalKekFile, read_local_keks
from strongroom.outbound.addresses import is_loopback_host

__all__ = [
    "AWS_KEY_PATTERN",
    "VAULT_KEY_NAME_PATTERN",
    "VAULT_MOUNT_PATTERN",
    "VAULT_TOKEN_PATTERN",
    "KekConfig",
    "KekConfigError",
    "KekKind",
    "KeyProviderDenied",
    "KeyProviderUnavailable",
    "RewrappingKek",
    "build_keyring",
    "build_keys",
    "kek_config_from_mapping",
    "local_kek_file",
    "verify_kek",
]

VAULT_KEY_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
VAULT_MOUNT_PATTERN = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}){0,7}"
)
# Key id (UUID, or mrk- multi-Region id), alias name, or key/alias ARN, as KMS accepts them.
AWS_KEY_PATTERN = re.compile(
    r"(mrk-)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(mrk-)?[0-9a-fA-F]{32}"
    r"|alias/[A-Za-z0-9/_-]{1,250}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[A-Za-z0-9-]{1,64}|alias/[A-Za-z0-9/_-]{1,250})"
)
_AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
VAULT_TOKEN_PATTERN = re.compile(r"[\x21-\x7e]{1,4096}")  # printable ASCII: an HTTP header value
_PROBE_AAD = b"strongroom/kek-probe"


class KekConfigError(ValueError):
    """The key provider configuration is invalid. The message names the field, never a token."""


class KekKind(StrEnum):
    """Where the object KEK lives."""

    LOCAL = "local"
    VAULT = "vault"
    AWS = "aws"


class RewrappingKek(KeyEncryptionKey, Protocol):
    """A KEK that can re-encrypt a wrapped key to its newest version inside the KMS, so the
    plaintext data key never leaves it (AWS KMS ReEncrypt). Vault transit cannot do this for
    keys bound with `associated_data`; it rotates through unwrap + wrap instead."""

    def rewrap(self, wrapped: bytes, aad: bytes) -> bytes: ...


# Fields (besides `kind` and `timeout`) each kind reads; any other field set is a mistake.
_FIELDS_FOR: dict[KekKind, frozenset[str]] = {
    KekKind.LOCAL: frozenset({"key_file", "kek_file"}),
    KekKind.VAULT: frozenset(
        {"key", "url", "token", "token_file", "mount", "namespace", "ca_file"}
    ),
    KekKind.AWS: frozenset({"key", "region", "endpoint", "ca_file"}),
}


@dataclass(frozen=True)
class KekConfig:
    """Where one key-encryption key lives. Validated on creation (KekConfigError).

    `key` is the Vault transit key name, or the AWS KMS key id / alias / ARN. `url` is the
    Vault address and `endpoint` an optional AWS KMS endpoint override; both must be https
    (plain http only to a loopback address). The Vault token comes from exactly one of
    `token` and `token_file` (read when the provider is built). AWS credentials come from
    boto3's usual chain (environment, shared config, instance or pod role), never from here.
    """

    kind: KekKind
    key: str = ""
    url: str = ""
    token: str = field(default="", repr=False)
    token_file: Path | None = None
    mount: str = "transit"
    namespace: str = ""
    ca_file: Path | None = None
    region: str = ""
    endpoint: str = ""
    key_file: Path | None = None
    kek_file: Path | None = None  # local: the rotated object KEKs (none until a rotation)
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.kind, KekKind):
            object.__setattr__(self, "kind", parse_kind(str(self.kind)))
        _check_fields_apply(self)
        if not 0 < self.timeout <= 300:
            raise KekConfigError("timeout must be between 0 and 300 seconds")
        if self.kind is KekKind.LOCAL:
            _check_local(self)
        elif self.kind is KekKind.VAULT:
            _check_vault(self)
        else:
            _check_aws(self)


def parse_kind(text: str) -> KekKind:
    """The KekKind named by `text` ("local", "vault" or "aws"); KekConfigError otherwise."""
    try:
        return KekKind(text.strip().lower())
    except ValueError:
        choices = ", ".join(kind.value for kind in KekKind)
        raise KekConfigError(f"unknown key provider kind {text!r}; use one of: {choices}") from None


def _check_fields_apply(config: KekConfig) -> None:
    allowed = _FIELDS_FOR[config.kind] | {"kind", "timeout"}
    for spec in dataclasses.fields(config):
        if spec.name not in allowed and getattr(config, spec.name) != spec.default:
            raise KekConfigError(f"{spec.name} does not apply to key provider kind {config.kind}")


def _check_local(config: KekConfig) -> None:
    if config.key_file is None:
        raise KekConfigError("key_file is required for the local key provider")


def _check_vault(config: KekConfig) -> None:
    if VAULT_KEY_NAME_PATTERN.fullmatch(config.key) is None:
        raise KekConfigError("key must be a Vault transit key name ([A-Za-z0-9_.-], 1-128)")
    if VAULT_MOUNT_PATTERN.fullmatch(config.mount) is None:
        raise KekConfigError("mount must be a Vault mount path such as 'transit'")
    if config.namespace and VAULT_MOUNT_PATTERN.fullmatch(config.namespace) is None:
        raise KekConfigError("namespace must be a Vault namespace path such as 'team/ns'")
    _check_url(config.url, "url", required=True)
    if bool(config.token) == (config.token_file is not None):
        raise KekConfigError("set exactly one of token and token_file for the Vault provider")
    if config.token and VAULT_TOKEN_PATTERN.fullmatch(config.token) is None:
        raise KekConfigError("token must be printable ASCII without spaces")


def _check_aws(config: KekConfig) -> None:
    if AWS_KEY_PATTERN.fullmatch(config.key) is None:
        raise KekConfigError("key must be an AWS KMS key id, alias/<name>, or key or alias ARN")
    if _AWS_REGION.fullmatch(config.region) is None:
        raise KekConfigError("region must be an AWS region such as 'eu-west-1'")
    _check_url(config.endpoint, "endpoint", required=False)


def _check_url(url: str, name: str, *, required: bool) -> None:
    if not url:
        if required:
            raise KekConfigError(f"{name} is required")
        return
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise KekConfigError(f"{name} is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname or port == 0:
        raise KekConfigError(f"{name} must be an https:// URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise KekConfigError(f"{name} must not carry credentials, a query or a fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise KekConfigError(f"{name} must use https (plain http only to a loopback address)")


_PATH_FIELDS = frozenset({"token_file", "ca_file", "key_file", "kek_file"})
_FLOAT_FIELDS = frozenset({"timeout"})


def kek_config_from_mapping(values: Mapping[str, str]) -> KekConfig:
    """Build a KekConfig from plain strings (environment or TOML values), e.g.
    {"kind": "vault", "key": "objects", "url": "https://vault:8200", "token_file": "..."}.
    Empty values count as unset; unknown names and bad values raise KekConfigError."""
    known = {spec.name for spec in dataclasses.fields(KekConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise KekConfigError(f"unknown key provider setting(s): {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, raw in values.items():
        text = raw.strip()
        if text:
            kwargs[name] = _convert(name, text)
    if "kind" not in kwargs:
        raise KekConfigError("kind is required (local, vault or aws)")
    return KekConfig(**kwargs)


def _convert(name: str, text: str) -> object:
    if name == "kind":
        return parse_kind(text)
    if name in _PATH_FIELDS:
        return Path(text)
    if name in _FLOAT_FIELDS:
        try:
            return float(text)
        except ValueError:
            raise KekConfigError(f"{name} must be a number of seconds") from None
    return text


def build_keys(
    config: KekConfig, *, env: Mapping[str, str], create: bool = True
) -> tuple[KeyEncryptionKey, list[KeyEncryptionKey]]:
    """Build the provider `config` describes: (its primary KEK, its older KEKs that still
    unwrap). A KMS provider has no older KEKs (the KMS keeps its own key versions); a local
    one lists the key file's other keys. `env` is where STRONGROOM_MASTER_KEY(_FILE) are read;
    a missing local key file is created only when `create` (else KekConfigError).
    No network call is made here; see `verify_kek`."""
    if config.kind is KekKind.VAULT:
        from strongroom.crypto.kms_vault import vault_kek_from_config  # noqa: PLC0415 - hvac only when configured

        return vault_kek_from_config(config), []
    if config.kind is KekKind.AWS:
        from strongroom.crypto.kms_aws import aws_kek_from_config  # noqa: PLC0415 - boto3 only when configured

        return aws_kek_from_config(config), []
    return _local_keys(config, env, create=create)


def _local_keys(
    config: KekConfig, env: Mapping[str, str], *, create: bool
) -> tuple[KeyEncryptionKey, list[KeyEncryptionKey]]:
    if config.key_file is None:  # KekConfig checks this; repeated so the type narrows
        raise KekConfigError("key_file is required for the local key provider")
    from_env = env.get(ENV_KEY, "") != "" or env.get(ENV_KEY_FILE, "") != ""
    if not create and not from_env and not config.key_file.exists():
        # A retired key that is gone cannot be recreated: a new one would unwrap nothing.
        raise KekConfigError("the key file of a retired local key provider does not exist")
    master = load_or_create_master_key(config.key_file, env=env)
    others = []
    # The key file's other keys stay readable, also when the primary now comes from the
    # environment (an operator who moved the key out of the file keeps their old objects).
    with suppress(FileNotFoundError):
        others = [key for key in read_key_file(config.key_file)[1] if key.key_id != master.key_id]
    ring = object_keyring(master, others)
    derived = [ring.get(key_id) for key_id in ring.key_ids]
    if config.kek_file is None:
        return ring.primary, [kek for kek in derived if kek.key_id != master.key_id]
    # Rotated keys: the file's primary (once there is one) wraps new data keys; the derived
    # keys still unwrap unless retired.
    rotated = read_local_keks(LocalKekFile(config.kek_file, master))
    keys = [*rotated.keys, *(kek for kek in derived if kek.key_id not in rotated.retired)]
    primary_id = rotated.primary or master.key_id
    primary = next((kek for kek in keys if kek.key_id == primary_id), None)
    if primary is None:
        raise KekConfigError("the primary local key-encryption key has been retired")
    return primary, [kek for kek in keys if kek is not primary]


def local_kek_file(config: KekConfig, *, env: Mapping[str, str]) -> tuple[LocalKekFile, str]:
    """(the object key file of a local provider, the id of its master-derived KEK), for
    `keys rotate` and `keys retire`. KekConfigError for another kind or no `kek_file`."""
    if config.kind is not KekKind.LOCAL or config.key_file is None or config.kek_file is None:
        raise KekConfigError("only a local key provider with a kek_file rotates local keys")
    master = load_or_create_master_key(config.key_file, env=env)
    return LocalKekFile(config.kek_file, master), master.key_id


def build_keyring(
    primary: KekConfig, retired: Iterable[KekConfig] = (), *, env: Mapping[str, str]
) -> Keyring:
    """A keyring whose primary KEK comes from `primary`; every KEK of `retired` providers (and
    the primary provider's older keys) only unwraps. A key id seen twice is used once. Only
    the primary local provider creates its key file at first start."""
    first, older = build_keys(primary, env=env)
    keys: dict[str, KeyEncryptionKey] = {first.key_id: first}
    for kek in [*older, *(kek for config in retired for kek in _all_keys(config, env))]:
        keys.setdefault(kek.key_id, kek)
    return Keyring(first, [kek for key_id, kek in keys.items() if key_id != first.key_id])


def _all_keys(config: KekConfig, env: Mapping[str, str]) -> list[KeyEncryptionKey]:
    kek, older = build_keys(config, env=env, create=False)
    return [kek, *older]


def verify_kek(kek: KeyEncryptionKey) -> None:
    """Wrap and unwrap a random data key once, so a start-up check finds a missing key, a bad
    token or an unreachable KMS before the first upload does. Raises the provider's error
    (KeyProviderUnavailable, KeyProviderDenied, ...) or ValueError if the round trip fails."""
    dek = secrets.token_bytes(DEK_SIZE)
    if kek.unwrap(kek.wrap(dek, _PROBE_AAD), _PROBE_AAD) != dek:
        raise ValueError(f"key {kek.key_id!r} did not return the data key it wrapped")
