"""AwsKmsKek through the real boto3 client against moto's KMS server on 127.0.0.1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
from moto.server import ThreadedMotoServer

from strongroom.crypto.envelope import HEADER_MAX_SIZE, DecryptionError, Keyring, parse_header
from strongroom.crypto.kms_aws import AwsKmsKek
from strongroom.crypto.providers import (
    KekConfig,
    KekKind,
    KeyProviderDenied,
    KeyProviderUnavailable,
    build_keyring,
    verify_kek,
)
from strongroom.storage.encrypted import EncryptedStore
from strongroom.storage.local import LocalStore

pytestmark = pytest.mark.integration

REGION = "eu-west-1"
PAYLOAD = secrets.token_bytes((1 << 20) + 777)


def _start_server() -> tuple[ThreadedMotoServer, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@pytest.fixture(scope="session")
def kms_url() -> Iterator[str]:
    server, url = _start_server()
    yield url
    server.stop()


def _client(url: str) -> Any:
    return boto3.session.Session().client(
        "kms",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto accepts any credentials
        config=botocore.config.Config(
            connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1}
        ),
    )


def _new_key(url: str) -> str:
    key_id = _client(url).create_key(Description="strongroom test KEK")["KeyMetadata"]["KeyId"]
    assert isinstance(key_id, str)
    return key_id


@pytest.fixture
def kek(kms_url: str) -> AwsKmsKek:
    return AwsKmsKek(_client(kms_url), _new_key(kms_url))


def _store(tmp_path: Path, keyring: Keyring) -> tuple[EncryptedStore, LocalStore]:
    backend = LocalStore(tmp_path / "objects")
    return EncryptedStore(backend, keyring), backend


def _raw(backend: LocalStore, key: str) -> bytes:
    return b"".join(backend.read(key))


def test_objects_round_trip_through_the_encrypted_store_with_a_kms_primary(
    kms_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    key = _new_key(kms_url)
    config = KekConfig(kind=KekKind.AWS, key=key, region=REGION, endpoint=kms_url)
    store, backend = _store(tmp_path, build_keyring(config, env={}))

    store.put("media/out.mp4", [PAYLOAD])

    assert b"".join(store.read("media/out.mp4")) == PAYLOAD
    expected = PAYLOAD[1 << 20 : (1 << 20) + 700]
    assert b"".join(store.read("media/out.mp4", 1 << 20, (1 << 20) + 700)) == expected
    raw = _raw(backend, "media/out.mp4")
    assert PAYLOAD[:64] not in raw
    assert parse_header(raw[:HEADER_MAX_SIZE], "media/out.mp4").key_id == f"aws-kms:{key}"


def test_an_alias_names_the_key_and_verify_kek_passes(kms_url: str) -> None:
    alias = "alias/strongroom-" + secrets.token_hex(4)
    client = _client(kms_url)
    client.create_alias(AliasName=alias, TargetKeyId=_new_key(kms_url))
    kek = AwsKmsKek(client, alias)

    verify_kek(kek)
    assert kek.key_id == f"aws-kms:{alias}"


def test_a_tampered_wrapped_key_fails_as_a_decryption_error(kek: AwsKmsKek, tmp_path: Path) -> None:
    store, backend = _store(tmp_path, Keyring(kek))
    store.put("media/a", [b"media"])
    raw = bytearray(_raw(backend, "media/a"))
    header = parse_header(bytes(raw[:HEADER_MAX_SIZE]), "media/a")
    raw[header.header_size - 5] ^= 0x01  # inside the wrapped key's GCM tag
    backend.put("media/a", [bytes(raw)])

    with pytest.raises(DecryptionError, match="does not authenticate") as info:
        b"".join(store.read("media/a"))
    assert info.value.object_id == "media/a"
    assert info.value.key_id == kek.key_id


def test_an_object_swapped_to_another_id_fails_the_encryption_context(
    kek: AwsKmsKek, tmp_path: Path
) -> None:
    store, backend = _store(tmp_path, Keyring(kek))
    store.put("media/a", [b"media of a"])
    backend.put("media/b", [_raw(backend, "media/a")])

    with pytest.raises(DecryptionError, match="does not authenticate") as info:
        b"".join(store.read("media/b"))
    assert info.value.object_id == "media/b"
    assert info.value.key_id == kek.key_id


def test_a_key_wrapped_under_another_kms_key_is_refused(kms_url: str, kek: AwsKmsKek) -> None:
    wrapped = kek.wrap(b"d" * 32, b"aad")
    other = AwsKmsKek(_client(kms_url), _new_key(kms_url))
    # Real KMS answers IncorrectKeyException (-> ValueError); moto answers AccessDenied.
    with pytest.raises((ValueError, KeyProviderDenied)):
        other.unwrap(wrapped, b"aad")


def test_a_missing_key_fails_closed_naming_the_key_id(kms_url: str) -> None:
    missing = AwsKmsKek(_client(kms_url), "alias/strongroom-missing-" + secrets.token_hex(4))
    with pytest.raises(KeyProviderUnavailable, match="NotFoundException") as info:
        missing.wrap(b"d" * 32, b"aad")
    assert missing.key_id in str(info.value)


def test_rewrap_re_encrypts_inside_kms_and_keeps_the_binding(kek: AwsKmsKek) -> None:
    dek = secrets.token_bytes(32)
    wrapped = kek.wrap(dek, b"object a")

    rewrapped = kek.rewrap(wrapped, b"object a")

    assert rewrapped != wrapped
    assert kek.unwrap(rewrapped, b"object a") == dek
    with pytest.raises(ValueError, match="authenticate"):
        kek.rewrap(wrapped, b"object b")


def test_an_unreachable_kms_is_reported_unavailable_naming_the_key_id(tmp_path: Path) -> None:
    server, url = _start_server()
    kek = AwsKmsKek(_client(url), _new_key(url))
    store, _ = _store(tmp_path, Keyring(kek))
    store.put("a", [b"media"])
    server.stop()

    with pytest.raises(KeyProviderUnavailable, match="unreachable") as on_read:
        b"".join(store.read("a"))
    with pytest.raises(KeyProviderUnavailable, match="unreachable") as on_write:
        store.put("b", [b"media"])

    for info in (on_read, on_write):
        assert kek.key_id in str(info.value)
        assert "testing" not in str(info.value)
    assert not isinstance(on_read.value, DecryptionError)
