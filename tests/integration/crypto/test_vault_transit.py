"""VaultTransitKek through the real hvac client against the transit stand-in on 127.0.0.1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from strongroom.crypto.envelope import (
    HEADER_MAX_SIZE,
    DecryptionError,
    Keyring,
    KeyUnavailableError,
    LocalKek,
    parse_header,
    rewrap_header,
)
from strongroom.crypto.kms_vault import VaultTransitKek, wrapped_key_version
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
from tests.integration.crypto.vault_standin import VaultStandin

pytestmark = pytest.mark.integration

TOKEN = "hvs.test-" + secrets.token_hex(12)
PAYLOAD = secrets.token_bytes((1 << 20) * 2 + 12345)  # three chunks, the last one partial


@pytest.fixture(scope="session")
def vault() -> Iterator[VaultStandin]:
    standin = VaultStandin(TOKEN).start()
    yield standin
    standin.stop()


@pytest.fixture
def key_name(vault: VaultStandin) -> str:
    name = "objects-" + secrets.token_hex(4)
    _client(vault).secrets.transit.create_key(name)
    return name


def _client(vault: VaultStandin, token: str = TOKEN) -> hvac.Client:
    return hvac.Client(url=vault.url, token=token, timeout=5, allow_redirects=False)


def _store(tmp_path: Path, keyring: Keyring) -> tuple[EncryptedStore, LocalStore]:
    backend = LocalStore(tmp_path / "objects")
    return EncryptedStore(backend, keyring), backend


def _raw(backend: LocalStore, key: str) -> bytes:
    return b"".join(backend.read(key))


def _replace_wrapped_key(raw: bytes, object_id: str, new_wrapped: bytes) -> bytes:
    header = parse_header(raw[:HEADER_MAX_SIZE], object_id)
    assert len(new_wrapped) == len(header.wrapped_key)
    start = header.header_size - len(header.wrapped_key)
    return raw[:start] + new_wrapped + raw[header.header_size :]


def test_objects_round_trip_through_the_encrypted_store_with_a_vault_primary(
    vault: VaultStandin, key_name: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "vault-token"
    token_file.write_text(TOKEN + "\n")
    config = KekConfig(kind=KekKind.VAULT, key=key_name, url=vault.url, token_file=token_file)
    keyring = build_keyring(config, env={})
    store, backend = _store(tmp_path, keyring)

    assert store.put("media/source.mp4", [PAYLOAD[:1000], PAYLOAD[1000:]]) == len(PAYLOAD)

    assert b"".join(store.read("media/source.mp4")) == PAYLOAD
    expected = PAYLOAD[1_500_000:2_100_000]
    assert b"".join(store.read("media/source.mp4", 1_500_000, 2_100_000)) == expected
    raw = _raw(backend, "media/source.mp4")
    assert PAYLOAD[:64] not in raw
    header = parse_header(raw[:HEADER_MAX_SIZE], "media/source.mp4")
    assert header.key_id == f"vault:transit/{key_name}"
    assert header.wrapped_key.startswith(b"vault:v1:")
    assert ("POST", f"/v1/transit/encrypt/{key_name}") in vault.requests
    assert ("POST", f"/v1/transit/decrypt/{key_name}") in vault.requests


def test_verify_kek_round_trips_a_probe_key(vault: VaultStandin, key_name: str) -> None:
    kek = VaultTransitKek(_client(vault), key_name)
    verify_kek(kek)
    assert repr(kek) == f"VaultTransitKek(key_id='vault:transit/{key_name}')"


def test_a_wrong_token_fails_with_a_clear_error_that_never_shows_the_token(
    vault: VaultStandin, key_name: str, tmp_path: Path
) -> None:
    good = Keyring(VaultTransitKek(_client(vault), key_name))
    _store(tmp_path, good)[0].put("a", [b"secret media"])
    wrong_token = "hvs.wrong-" + secrets.token_hex(12)
    bad = VaultTransitKek(_client(vault, wrong_token), key_name)
    store, _ = _store(tmp_path, Keyring(bad))

    with pytest.raises(KeyProviderDenied) as on_read:
        b"".join(store.read("a"))
    with pytest.raises(KeyProviderDenied) as on_write:
        store.put("b", [b"more media"])

    for info in (on_read, on_write):
        text = str(info.value) + repr(info.value)
        assert f"vault:transit/{key_name}" in text
        assert "permission denied" in text
        assert wrong_token not in text
        assert TOKEN not in text
        assert info.value.__cause__ is None
    assert not store.exists("b")


def test_a_stopped_vault_is_reported_unavailable_naming_the_key_id(tmp_path: Path) -> None:
    standin = VaultStandin(TOKEN).start()
    kek = VaultTransitKek(_client(standin), "objects")
    store, _ = _store(tmp_path, Keyring(kek))
    store.put("a", [b"media"])
    standin.stop()

    with pytest.raises(KeyProviderUnavailable, match="unavailable") as on_read:
        b"".join(store.read("a"))
    with pytest.raises(KeyProviderUnavailable, match="unreachable") as on_write:
        store.put("b", [b"media"])

    for info in (on_read, on_write):
        assert "vault:transit/objects" in str(info.value)
        assert TOKEN not in str(info.value)
    assert not isinstance(on_read.value, DecryptionError)
    assert on_read.value.object_id == "a" and "'a'" in str(on_read.value)


def _flip_last_body_char(wrapped: bytes) -> bytes:
    body = wrapped.rstrip(b"=")
    pos = len(body) - 2  # a base64 character well inside the tag
    flipped = b"A" if body[pos : pos + 1] != b"A" else b"B"
    return body[:pos] + flipped + body[pos + 1 :] + wrapped[len(body) :]


@pytest.mark.parametrize(
    "tamper",
    [
        _flip_last_body_char,
        lambda wrapped: wrapped.replace(b"vault:v1:", b"vault:x1:"),
        lambda wrapped: wrapped.replace(b"vault:v1:", b"vault:v9:"),
        lambda wrapped: wrapped[:-4] + b"!!!!",
    ],
    ids=["ciphertext-bit", "prefix", "version-too-new", "not-base64"],
)
def test_a_tampered_wrapped_key_fails_closed_naming_object_and_key(
    vault: VaultStandin, key_name: str, tmp_path: Path, tamper: object
) -> None:
    store, backend = _store(tmp_path, Keyring(VaultTransitKek(_client(vault), key_name)))
    store.put("media/a", [b"media"])
    raw = _raw(backend, "media/a")
    wrapped = parse_header(raw[:HEADER_MAX_SIZE], "media/a").wrapped_key
    assert callable(tamper)
    backend.put("media/a", [_replace_wrapped_key(raw, "media/a", tamper(wrapped))])

    with pytest.raises(DecryptionError) as info:
        b"".join(store.read("media/a"))
    assert info.value.key_id == f"vault:transit/{key_name}"
    assert f"vault:transit/{key_name}" in str(info.value)
    if not isinstance(info.value, KeyUnavailableError):  # "too new" names no object (yet)
        assert info.value.object_id == "media/a"


def test_an_object_moved_to_another_key_does_not_decrypt(
    vault: VaultStandin, key_name: str, tmp_path: Path
) -> None:
    store, backend = _store(tmp_path, Keyring(VaultTransitKek(_client(vault), key_name)))
    store.put("media/a", [b"media of a"])
    backend.put("media/b", [_raw(backend, "media/a")])

    with pytest.raises(DecryptionError, match="does not authenticate") as info:
        b"".join(store.read("media/b"))
    assert info.value.object_id == "media/b"


def test_a_key_missing_from_vault_is_unavailable_not_tampering(
    vault: VaultStandin, key_name: str
) -> None:
    wrapped = VaultTransitKek(_client(vault), key_name).wrap(b"k" * 32, b"aad")
    ghost = VaultTransitKek(_client(vault), "never-created-" + secrets.token_hex(4))

    with pytest.raises(KeyUnavailableError, match="does not exist") as info:
        ghost.unwrap(wrapped, b"aad")
    assert info.value.key_id == ghost.key_id


def test_rotating_the_vault_key_keeps_old_objects_readable_and_new_ones_use_the_new_version(
    vault: VaultStandin, key_name: str, tmp_path: Path
) -> None:
    client = _client(vault)
    keyring = Keyring(VaultTransitKek(client, key_name))
    store, backend = _store(tmp_path, keyring)
    store.put("old", [b"written before rotation"])
    client.secrets.transit.rotate_key(key_name)
    store.put("new", [b"written after rotation"])

    assert _wrapped_version(backend, "old") == 1
    assert _wrapped_version(backend, "new") == 2
    assert b"".join(store.read("old")) == b"written before rotation"
    assert b"".join(store.read("new")) == b"written after rotation"
    assert client.secrets.transit.read_key(key_name)["data"]["latest_version"] == 2


def test_retiring_a_version_needs_a_rewrap_first_and_refuses_what_was_not_rewrapped(
    vault: VaultStandin, key_name: str, tmp_path: Path
) -> None:
    client = _client(vault)
    keyring = Keyring(VaultTransitKek(client, key_name))
    store, backend = _store(tmp_path, keyring)
    for key in ("kept", "forgotten"):
        store.put(key, [key.encode()])
    client.secrets.transit.rotate_key(key_name)

    raw = _raw(backend, "kept")
    header = parse_header(raw[:HEADER_MAX_SIZE], "kept")
    new_header = rewrap_header(raw[:HEADER_MAX_SIZE], "kept", keyring, keyring.primary)
    backend.put("kept", [new_header + raw[header.header_size :]])
    client.secrets.transit.update_key_configuration(key_name, min_decryption_version=2)

    assert _wrapped_version(backend, "kept") == 2
    assert b"".join(store.read("kept")) == b"kept"
    with pytest.raises(KeyUnavailableError, match="retired") as info:
        b"".join(store.read("forgotten"))
    assert info.value.key_id == f"vault:transit/{key_name}"


def test_vault_rewrap_cannot_carry_associated_data_so_rotation_unwraps_and_wraps(
    vault: VaultStandin, key_name: str
) -> None:
    # Documents why VaultTransitKek has no server-side `rewrap` (hashicorp/vault#29532).
    client = _client(vault)
    wrapped = VaultTransitKek(client, key_name).wrap(b"k" * 32, b"bound to an object")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="authentication failed"):
        client.secrets.transit.rewrap_data(key_name, ciphertext=wrapped.decode())
    assert not hasattr(VaultTransitKek, "rewrap")


def test_a_keyring_moving_from_a_local_key_to_vault_still_reads_local_objects(
    vault: VaultStandin, key_name: str, tmp_path: Path
) -> None:
    local = LocalKek("mk-local01", secrets.token_bytes(32))
    old_store, backend = _store(tmp_path, Keyring(local))
    old_store.put("legacy", [b"from the embedded profile"])
    keyring = Keyring(VaultTransitKek(_client(vault), key_name), [local])
    store = EncryptedStore(backend, keyring)

    store.put("fresh", [b"wrapped by vault"])

    assert b"".join(store.read("legacy")) == b"from the embedded profile"
    assert b"".join(store.read("fresh")) == b"wrapped by vault"


def _wrapped_version(backend: LocalStore, key: str) -> int:
    raw = _raw(backend, key)
    return wrapped_key_version(parse_header(raw[:HEADER_MAX_SIZE], key).wrapped_key)
