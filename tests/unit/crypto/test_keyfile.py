"""The embedded master key: environment, key file creation, permissions, derivation."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path

import pytest

from strongroom.crypto.envelope import StreamEncryptor, parse_header
from strongroom.crypto.keyfile import (
    KeyFileError,
    KeyPurpose,
    MasterKey,
    derive_key,
    key_id_for,
    load_or_create_master_key,
    object_keyring,
    read_key_file,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_it_creates_a_0600_key_file_in_a_new_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "keys" / "master.json"
    key = load_or_create_master_key(path, env={})
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700
    doc = json.loads(path.read_text())
    assert doc["version"] == 1
    assert doc["primary"] == key.key_id
    assert doc["keys"][0]["id"] == key.key_id
    assert base64.b64decode(doc["keys"][0]["secret"]) == key.secret
    assert "created" in doc["keys"][0]
    assert len(key.secret) == 32


def test_it_loads_the_same_key_on_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "master.json"
    assert load_or_create_master_key(path, env={}) == load_or_create_master_key(path, env={})
    assert [p.name for p in tmp_path.iterdir()] == ["master.json"]


def test_the_key_id_has_the_documented_shape(tmp_path: Path) -> None:
    key = load_or_create_master_key(tmp_path / "k.json", env={})
    assert key.key_id.startswith("mk-")
    assert len(key.key_id) == 11
    int(key.key_id[3:], 16)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_it_refuses_a_key_file_readable_by_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.json"
    load_or_create_master_key(path, env={})
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=f"{mode:04o}") as info:
        load_or_create_master_key(path, env={})
    assert "chmod 600" in str(info.value)


def test_it_refuses_a_symlinked_key_file(tmp_path: Path) -> None:
    load_or_create_master_key(tmp_path / "real.json", env={})
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    with pytest.raises(KeyFileError, match="cannot be opened"):
        load_or_create_master_key(tmp_path / "link.json", env={})


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "m.json"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: load_or_create_master_key(path, env={}), range(8)))
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_the_environment_key_wins_over_the_file(tmp_path: Path) -> None:
    secret = secrets.token_bytes(32)
    key = load_or_create_master_key(tmp_path / "m.json", env={"STRONGROOM_MASTER_KEY": b64(secret)})
    assert key.secret == secret
    assert key.key_id == key_id_for(secret)
    assert not (tmp_path / "m.json").exists()


def test_the_key_id_follows_the_key_from_file_to_environment(tmp_path: Path) -> None:
    from_file = load_or_create_master_key(tmp_path / "m.json", env={})
    env = {"STRONGROOM_MASTER_KEY": b64(from_file.secret)}
    assert load_or_create_master_key(tmp_path / "other.json", env=env) == from_file


def test_it_reads_the_key_from_a_file_named_in_the_environment(tmp_path: Path) -> None:
    secret = secrets.token_bytes(32)
    (tmp_path / "secret").write_text(b64(secret) + "\n")
    env = {"STRONGROOM_MASTER_KEY_FILE": str(tmp_path / "secret")}
    assert load_or_create_master_key(tmp_path / "m.json", env=env).secret == secret


def test_an_unreadable_key_file_variable_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    env = {"STRONGROOM_MASTER_KEY_FILE": str(tmp_path / "missing")}
    with pytest.raises(KeyFileError, match="could not be read"):
        load_or_create_master_key(tmp_path / "m.json", env=env)
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("value", ["not base64!", b64(bytes(31)), b64(bytes(33)), "  "])
def test_it_rejects_a_malformed_environment_key(tmp_path: Path, value: str) -> None:
    env = {"STRONGROOM_MASTER_KEY": value}
    with pytest.raises(KeyFileError, match="STRONGROOM_MASTER_KEY") as info:
        load_or_create_master_key(tmp_path / "m.json", env=env)
    assert value.strip() == "" or value not in str(info.value)
    assert not (tmp_path / "m.json").exists()


def test_empty_environment_variables_count_as_unset(tmp_path: Path) -> None:
    env = {"STRONGROOM_MASTER_KEY": "", "STRONGROOM_MASTER_KEY_FILE": ""}
    key = load_or_create_master_key(tmp_path / "m.json", env=env)
    assert read_key_file(tmp_path / "m.json")[0] == key


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"version": 2, "primary": "mk-00000000", "keys": []}',
        b'{"version": 1, "primary": "mk-00000000", "keys": []}',
        b'{"version": 1, "primary": "bad", "keys": [{"id": "bad", "secret": "AA=="}]}',
    ],
)
def test_it_rejects_a_malformed_key_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(KeyFileError):
        load_or_create_master_key(path, env={})


def test_a_key_file_keeps_older_keys_for_rotation(tmp_path: Path) -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    entries = [
        {"id": key_id_for(s), "secret": b64(s), "created": "2026-01-01T00:00:00+00:00"}
        for s in (old, new)
    ]
    doc = {"version": 1, "primary": key_id_for(new), "keys": entries}
    path = tmp_path / "m.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps(doc).encode())
    os.close(fd)
    primary, keys = read_key_file(path)
    assert primary.secret == new
    assert [k.secret for k in keys] == [old, new]


def test_repr_hides_the_secret() -> None:
    key = MasterKey("mk-01234567", secrets.token_bytes(32))
    assert key.secret.hex() not in repr(key)
    assert repr(key.secret) not in repr(key)


def test_derived_keys_differ_per_purpose_and_are_stable() -> None:
    master = MasterKey("mk-01234567", bytes(range(32)))
    keys = {purpose: derive_key(master, purpose) for purpose in KeyPurpose}
    assert len(set(keys.values())) == len(KeyPurpose)
    assert derive_key(master, "url-tokens") == keys[KeyPurpose.URL_TOKENS]
    assert len(derive_key(master, "sqlcipher", 64)) == 64


def test_derive_key_matches_hkdf_sha256_with_the_documented_info() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    master = MasterKey("mk-01234567", bytes(range(32)))
    expected = HKDF(hashes.SHA256(), 32, None, b"strongroom/object-kek").derive(master.secret)
    assert derive_key(master, "object-kek") == expected


@pytest.mark.parametrize(("purpose", "length"), [("", 32), ("Upper", 32), ("ok", 8), ("ok", 65)])
def test_derive_key_rejects_bad_arguments(purpose: str, length: int) -> None:
    with pytest.raises(ValueError):
        derive_key(MasterKey("mk-01234567", bytes(32)), purpose, length)


def test_the_object_keyring_uses_the_master_key_id(tmp_path: Path) -> None:
    master = load_or_create_master_key(tmp_path / "m.json", env={})
    ring = object_keyring(master)
    encryptor = StreamEncryptor("x", ring)
    assert parse_header(encryptor.header(), "x").key_id == master.key_id


def test_the_object_keyring_can_include_retired_master_keys() -> None:
    old = MasterKey("mk-00000001", secrets.token_bytes(32))
    new = MasterKey("mk-00000002", secrets.token_bytes(32))
    ring = object_keyring(new, retired=[old])
    assert ring.primary.key_id == "mk-00000002"
    assert ring.key_ids == ["mk-00000001", "mk-00000002"]
