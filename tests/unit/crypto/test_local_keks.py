"""Rotated local KEKs: the sealed 0600 key file, and how the local provider builds on it."""

from __future__ import annotations

import base64
import json
import secrets
import stat
from pathlib import Path

import pytest

from strongroom.crypto.kek import LocalKek
from strongroom.crypto.keyfile import KeyFileError, MasterKey, key_id_for, read_key_file
from strongroom.crypto.local_keks import (
    LocalKekFile,
    add_local_kek,
    read_local_keks,
    retire_local_kek,
)
from strongroom.crypto.providers import KekConfig, KekConfigError, KekKind, build_keyring


def master() -> MasterKey:
    secret = secrets.token_bytes(32)
    return MasterKey(key_id_for(secret), secret)


@pytest.fixture
def kek_file(tmp_path: Path) -> LocalKekFile:
    return LocalKekFile(tmp_path / "keys" / "object-keks.json", master())


def test_no_file_means_no_rotated_keys(kek_file: LocalKekFile) -> None:
    keys = read_local_keks(kek_file)
    assert (keys.primary, keys.keys, keys.retired) == (None, (), frozenset())


def test_a_new_key_is_the_primary_and_older_ones_stay(kek_file: LocalKekFile) -> None:
    first = add_local_kek(kek_file)
    second = add_local_kek(kek_file)
    keys = read_local_keks(kek_file)
    assert keys.primary == second
    assert [kek.key_id for kek in keys.keys] == [first, second]
    assert stat.S_IMODE(kek_file.path.stat().st_mode) == 0o600


def test_the_file_holds_no_key_in_the_clear(kek_file: LocalKekFile) -> None:
    add_local_kek(kek_file)
    kek = read_local_keks(kek_file).keys[0]
    wrapped = kek.wrap(b"d" * 32, b"aad")
    entry = json.loads(kek_file.path.read_text())["keys"][0]
    assert "secret" not in entry
    sealed = base64.b64decode(entry["sealed"])
    assert len(sealed) == 12 + 32 + 16  # nonce, sealed key, tag
    # No 32-byte window of the file's bytes is the key itself.
    for start in range(len(sealed) - 31):
        with pytest.raises(ValueError):
            LocalKek(kek.key_id, sealed[start : start + 32]).unwrap(wrapped, b"aad")


def test_another_master_key_cannot_open_the_file(kek_file: LocalKekFile) -> None:
    add_local_kek(kek_file)
    with pytest.raises(KeyFileError, match="does not open with this master key"):
        read_local_keks(LocalKekFile(kek_file.path, master()))


def test_a_group_readable_file_is_refused(kek_file: LocalKekFile) -> None:
    add_local_kek(kek_file)
    kek_file.path.chmod(0o640)
    with pytest.raises(KeyFileError, match="group or others"):
        read_local_keks(kek_file)


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        '{"version": 2, "primary": null, "retired": [], "keys": []}',
        '{"version": 1, "primary": "lk-00000000", "retired": [], "keys": []}',
        '{"version": 1, "primary": null, "retired": [], "keys": [{"id": "../x", "sealed": ""}]}',
        '{"version": 1, "primary": null, "retired": [], '
        '"keys": [{"id": "lk-00000000", "sealed": "!!"}]}',
    ],
)
def test_a_malformed_file_is_refused(kek_file: LocalKekFile, doc: str) -> None:
    kek_file.path.parent.mkdir(parents=True)
    kek_file.path.write_text(doc)
    kek_file.path.chmod(0o600)
    with pytest.raises(KeyFileError, match="malformed"):
        read_local_keks(kek_file)


def test_a_symlinked_file_is_refused(kek_file: LocalKekFile, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    kek_file.path.parent.mkdir(parents=True)
    kek_file.path.symlink_to(target)
    with pytest.raises(KeyFileError, match="cannot be opened"):
        read_local_keks(kek_file)


def test_retiring_destroys_a_rotated_key_and_only_marks_the_derived_one(
    kek_file: LocalKekFile,
) -> None:
    first = add_local_kek(kek_file)
    second = add_local_kek(kek_file)
    derived = kek_file.master.key_id
    retire_local_kek(kek_file, first, derived_id=derived)
    retire_local_kek(kek_file, derived, derived_id=derived)
    keys = read_local_keks(kek_file)
    assert [kek.key_id for kek in keys.keys] == [second]
    assert keys.retired == {derived}
    assert first not in kek_file.path.read_text()


def test_the_primary_and_unknown_keys_cannot_be_retired(kek_file: LocalKekFile) -> None:
    derived = kek_file.master.key_id
    with pytest.raises(ValueError, match="primary"):
        retire_local_kek(kek_file, derived, derived_id=derived)  # no rotation yet
    primary = add_local_kek(kek_file)
    with pytest.raises(ValueError, match="primary"):
        retire_local_kek(kek_file, primary, derived_id=derived)
    with pytest.raises(ValueError, match="not a local"):
        retire_local_kek(kek_file, "lk-00000000", derived_id=derived)


def _local_config(tmp_path: Path) -> KekConfig:
    return KekConfig(
        kind=KekKind.LOCAL,
        key_file=tmp_path / "keys" / "master.json",
        kek_file=tmp_path / "keys" / "object-keks.json",
    )


def test_the_local_provider_switches_to_the_rotated_primary(tmp_path: Path) -> None:
    config = _local_config(tmp_path)
    before = build_keyring(config, env={})
    master_key = read_key_file(tmp_path / "keys" / "master.json")[0]
    assert before.primary.key_id == master_key.key_id
    assert config.kek_file is not None
    new_id = add_local_kek(LocalKekFile(config.kek_file, master_key))

    after = build_keyring(config, env={})

    assert after.primary.key_id == new_id
    assert after.key_ids == sorted([master_key.key_id, new_id])
    # The derived key is the same key as before: what it wrapped still unwraps.
    wrapped = before.primary.wrap(b"k" * 32, b"aad")
    assert after.get(master_key.key_id).unwrap(wrapped, b"aad") == b"k" * 32


def test_a_retired_derived_key_leaves_the_keyring(tmp_path: Path) -> None:
    config = _local_config(tmp_path)
    build_keyring(config, env={})
    assert config.kek_file is not None
    kek_file = LocalKekFile(config.kek_file, read_key_file(tmp_path / "keys" / "master.json")[0])
    add_local_kek(kek_file)
    retire_local_kek(kek_file, kek_file.master.key_id, derived_id=kek_file.master.key_id)
    assert build_keyring(config, env={}).key_ids == [read_local_keks(kek_file).primary]


def test_kek_file_applies_to_the_local_provider_only() -> None:
    with pytest.raises(KekConfigError, match="kek_file does not apply"):
        KekConfig(
            kind=KekKind.AWS, key="alias/x", region="eu-west-1", kek_file=Path("object-keks.json")
        )
