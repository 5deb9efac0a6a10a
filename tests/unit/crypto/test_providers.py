"""Key provider configuration: validation, parsing, and building keyrings (no network)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from strongroom.crypto.kek import Keyring, LocalKek
from strongroom.crypto.keyfile import ENV_KEY, key_id_for
from strongroom.crypto.kms_aws import AwsKmsKek
from strongroom.crypto.kms_vault import VaultTransitKek
from strongroom.crypto.providers import (
    KekConfig,
    KekConfigError,
    KekKind,
    build_keyring,
    build_keys,
    kek_config_from_mapping,
    parse_kind,
    verify_kek,
)

TOKEN = "hvs.unit-" + secrets.token_hex(16)
KEY_UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def _vault(**overrides: object) -> KekConfig:
    values: dict[str, object] = {
        "kind": KekKind.VAULT,
        "key": "objects",
        "url": "https://vault.example:8200",
        "token": TOKEN,
    }
    values.update(overrides)
    return KekConfig(**values)  # type: ignore[arg-type]  # test builds configs from a dict


def _aws(**overrides: object) -> KekConfig:
    values: dict[str, object] = {"kind": KekKind.AWS, "key": KEY_UUID, "region": "eu-west-1"}
    values.update(overrides)
    return KekConfig(**values)  # type: ignore[arg-type]  # test builds configs from a dict


@pytest.mark.parametrize("text", ["kms", "", "VAULTS", "local;rm"])
def test_it_rejects_an_unknown_kind(text: str) -> None:
    with pytest.raises(KekConfigError, match="unknown key provider kind"):
        parse_kind(text)
    with pytest.raises(KekConfigError, match="unknown key provider kind"):
        kek_config_from_mapping({"kind": text or "?"})


def test_kinds_parse_case_insensitively() -> None:
    assert parse_kind(" Vault ") is KekKind.VAULT
    assert KekConfig(kind="aws", key=KEY_UUID, region="us-east-1").kind is KekKind.AWS  # type: ignore[arg-type]  # a plain string is accepted at run time


def test_the_token_never_appears_in_repr_or_errors() -> None:
    config = _vault()
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    with pytest.raises(KekConfigError) as info:
        _vault(token_file=Path("token"))  # both token and token_file
    assert TOKEN not in str(info.value)
    with pytest.raises(KekConfigError) as info:
        _vault(url="ftp://vault.example")
    assert TOKEN not in str(info.value)


def test_a_token_with_spaces_or_control_characters_is_refused_without_echoing_it() -> None:
    with pytest.raises(KekConfigError, match="printable") as info:
        _vault(token="hvs.abc\r\nX-Injected: 1")
    assert "X-Injected" not in str(info.value)


def test_vault_needs_exactly_one_token_source() -> None:
    with pytest.raises(KekConfigError, match="exactly one"):
        _vault(token="")
    with pytest.raises(KekConfigError, match="exactly one"):
        _vault(token_file=Path("t"))


def test_a_missing_token_file_fails_when_the_provider_is_built(tmp_path: Path) -> None:
    config = _vault(token="", token_file=tmp_path / "absent")
    with pytest.raises(KekConfigError, match=r"token_file cannot be read \(No such file") as info:
        build_keys(config, env={})
    assert str(tmp_path) not in str(info.value)


@pytest.mark.parametrize("content", ["", "\n", "two words", "tok\x00en"])
def test_an_empty_or_malformed_token_file_is_refused(tmp_path: Path, content: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content)
    with pytest.raises(KekConfigError, match="token_file"):
        build_keys(_vault(token="", token_file=token_file), env={})


def test_a_token_file_builds_a_vault_kek_without_leaking_the_token(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    kek, older = build_keys(_vault(token="", token_file=token_file, mount="kv/transit"), env={})
    assert isinstance(kek, VaultTransitKek)
    assert kek.key_id == "vault:kv/transit/objects"
    assert older == []
    assert TOKEN not in repr(kek)
    assert TOKEN not in repr(Keyring(kek))


@pytest.mark.parametrize(
    "url",
    [
        "",
        "vault.example:8200",
        "ftp://vault.example",
        "http://vault.example:8200",  # plain http off loopback
        "http://10.0.0.5:8200",
        "https://user:pw@vault.example",
        "https://vault.example/?x=1",
        "https://vault.example:notaport",
        "https://:8200",
    ],
)
def test_it_rejects_vault_urls_that_are_not_https_or_loopback(url: str) -> None:
    with pytest.raises(KekConfigError, match="url"):
        _vault(url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8200", "http://[::1]:8200", "http://localhost"])
def test_plain_http_is_allowed_to_loopback_only(url: str) -> None:
    assert _vault(url=url).url == url


@pytest.mark.parametrize("name", ["", "../keys", "a/b", "-x", "x" * 129, "sp ace"])
def test_it_rejects_bad_vault_key_names(name: str) -> None:
    with pytest.raises(KekConfigError, match="key must be a Vault transit key name"):
        _vault(key=name)


@pytest.mark.parametrize("mount", ["", "/transit", "transit/", "a/../b", "tr ansit"])
def test_it_rejects_bad_vault_mounts(mount: str) -> None:
    with pytest.raises(KekConfigError, match="mount"):
        _vault(mount=mount)


@pytest.mark.parametrize(
    "key",
    [
        KEY_UUID,
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "alias/strongroom-objects",
        f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_UUID}",
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/objects",
    ],
)
def test_it_accepts_aws_key_ids_aliases_and_arns(key: str) -> None:
    kek, _ = build_keys(_aws(key=key), env={})
    assert isinstance(kek, AwsKmsKek)
    assert kek.key_id == f"aws-kms:{key}"


@pytest.mark.parametrize("key", ["", "objects", "alias/", "arn:aws:kms:x:1:key/a", "alias/a b"])
def test_it_rejects_bad_aws_keys(key: str) -> None:
    with pytest.raises(KekConfigError, match="AWS KMS key id"):
        _aws(key=key)


@pytest.mark.parametrize("region", ["", "EU-WEST-1", "eu_west_1", "mars"])
def test_it_rejects_bad_aws_regions(region: str) -> None:
    with pytest.raises(KekConfigError, match="region"):
        _aws(region=region)


def test_an_aws_endpoint_must_be_https_off_loopback() -> None:
    with pytest.raises(KekConfigError, match="endpoint must use https"):
        _aws(endpoint="http://kms.internal:4566")
    assert _aws(endpoint="https://kms.internal").endpoint == "https://kms.internal"


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: _aws(token=TOKEN), "token"),
        (lambda: _aws(url="https://vault.example"), "url"),
        (lambda: _vault(region="eu-west-1"), "region"),
        (lambda: KekConfig(kind=KekKind.LOCAL, key_file=Path("k"), key="objects"), "key"),
    ],
)
def test_settings_of_another_kind_are_refused(make: object, field: str) -> None:
    assert callable(make)
    with pytest.raises(KekConfigError, match=f"{field} does not apply"):
        make()


@pytest.mark.parametrize("timeout", [0, -1, 301])
def test_the_timeout_is_bounded(timeout: float) -> None:
    with pytest.raises(KekConfigError, match="timeout"):
        _aws(timeout=timeout)


def test_local_needs_a_key_file() -> None:
    with pytest.raises(KekConfigError, match="key_file"):
        KekConfig(kind=KekKind.LOCAL)


def test_a_mapping_of_strings_parses_into_a_config(tmp_path: Path) -> None:
    config = kek_config_from_mapping(
        {
            "kind": "vault",
            "key": "objects",
            "url": "https://vault.example",
            "token_file": str(tmp_path / "t"),
            "timeout": "2.5",
            "namespace": "",
        }
    )
    assert config.token_file == tmp_path / "t"
    assert config.timeout == 2.5
    assert config.namespace == ""


def test_a_mapping_rejects_unknown_names_missing_kind_and_bad_numbers() -> None:
    with pytest.raises(KekConfigError, match="unknown key provider setting"):
        kek_config_from_mapping({"kind": "aws", "secret_key": "x"})
    with pytest.raises(KekConfigError, match="kind is required"):
        kek_config_from_mapping({"key": "objects"})
    with pytest.raises(KekConfigError, match="timeout must be a number"):
        kek_config_from_mapping({"kind": "aws", "timeout": "soon"})


def test_a_local_provider_creates_the_key_file_and_keeps_older_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "master.json"
    first, older = build_keys(KekConfig(kind=KekKind.LOCAL, key_file=key_file), env={})
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert older == []

    secret = secrets.token_bytes(32)
    env = {ENV_KEY: base64.b64encode(secret).decode()}
    moved, older = build_keys(KekConfig(kind=KekKind.LOCAL, key_file=key_file), env=env)

    assert moved.key_id == key_id_for(secret)
    assert [kek.key_id for kek in older] == [first.key_id]


def test_a_keyring_has_one_primary_and_unwraps_with_retired_providers(tmp_path: Path) -> None:
    local = KekConfig(kind=KekKind.LOCAL, key_file=tmp_path / "master.json")
    old = build_keyring(local, env={})
    wrapped = old.primary.wrap(b"d" * 32, b"aad")

    ring = build_keyring(_aws(), [local, local], env={})

    assert ring.primary.key_id == f"aws-kms:{KEY_UUID}"
    assert ring.key_ids == sorted([f"aws-kms:{KEY_UUID}", old.primary.key_id])
    assert ring.get(old.primary.key_id).unwrap(wrapped, b"aad") == b"d" * 32


def test_a_retired_local_key_file_that_is_gone_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    gone = KekConfig(kind=KekKind.LOCAL, key_file=tmp_path / "old" / "master.json")
    with pytest.raises(KekConfigError, match="retired local key provider does not exist"):
        build_keyring(_aws(), [gone], env={})
    assert not (tmp_path / "old").exists()


def test_verify_kek_round_trips_a_random_key() -> None:
    verify_kek(LocalKek("k", secrets.token_bytes(32)))


def test_verify_kek_fails_when_the_round_trip_does_not_return_the_key() -> None:
    class ForgetfulKek:
        key_id = "forgetful"

        def wrap(self, dek: bytes, aad: bytes) -> bytes:
            return aad + dek

        def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
            return bytes(len(wrapped) - len(aad))

    with pytest.raises(ValueError, match="forgetful"):
        verify_kek(ForgetfulKek())
