"""The worker's state directory: permissions, persistence, and refusal of unsafe state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strongroom.crypto.signing import generate_private_key, private_key_to_pem
from strongroom.worker.identity import (
    IDENTITY_FILE,
    KEY_FILE,
    Identity,
    IdentityError,
    load_identity,
    prepare_state_dir,
    save_identity,
)

EDGE = "https://edge.test"


def make_identity(edge_url: str = EDGE) -> Identity:
    return Identity(
        worker_id="wrk_abc",
        edge_url=edge_url,
        edge_public_key=generate_private_key().public_key(),
        private_key=generate_private_key(),
        heartbeat_seconds=10,
        lease_seconds=60,
    )


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_it_creates_a_private_state_dir(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "a" / "state")
    assert mode(state) == 0o700


def test_it_tightens_a_loose_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    prepare_state_dir(state)
    assert mode(state) == 0o700


def test_it_refuses_a_state_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises((IdentityError, FileExistsError)):
        prepare_state_dir(path)


def test_it_saves_and_loads_an_identity(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "state")
    identity = make_identity()
    save_identity(state, identity)
    loaded = load_identity(state, EDGE + "/")
    assert loaded is not None
    assert loaded.worker_id == "wrk_abc"
    assert private_key_to_pem(loaded.private_key) == private_key_to_pem(identity.private_key)
    assert loaded.heartbeat_seconds == 10


def test_saved_files_are_private(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "state")
    save_identity(state, make_identity())
    assert mode(state / KEY_FILE) == 0o600
    assert mode(state / IDENTITY_FILE) == 0o600
    assert sorted(p.name for p in state.iterdir()) == [IDENTITY_FILE, KEY_FILE]


def test_the_record_holds_no_private_key(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "state")
    save_identity(state, make_identity())
    text = (state / IDENTITY_FILE).read_text()
    assert "PRIVATE" not in text
    assert set(json.loads(text)) >= {"worker_id", "edge_url", "edge_public_key"}


def test_an_identity_for_another_edge_is_not_reused(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "state")
    save_identity(state, make_identity("https://other.test"))
    assert load_identity(state, EDGE) is None


def test_an_empty_state_dir_has_no_identity(tmp_path: Path) -> None:
    assert load_identity(prepare_state_dir(tmp_path / "state"), EDGE) is None


def test_it_refuses_a_key_readable_by_others(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "state")
    save_identity(state, make_identity())
    (state / KEY_FILE).chmod(0o644)
    with pytest.raises(IdentityError, match="readable by others"):
        load_identity(state, EDGE)


def test_it_refuses_a_key_that_is_a_symlink(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "state")
    save_identity(state, make_identity())
    elsewhere = tmp_path / "elsewhere.pem"
    (state / KEY_FILE).rename(elsewhere)
    (state / KEY_FILE).symlink_to(elsewhere)
    with pytest.raises(IdentityError, match="not a private file"):
        load_identity(state, EDGE)


@pytest.mark.parametrize(
    "content", ["not json", "[]", json.dumps({"edge_url": EDGE, "worker_id": "w"})]
)
def test_it_refuses_a_corrupt_record(tmp_path: Path, content: str) -> None:
    state = prepare_state_dir(tmp_path / "state")
    save_identity(state, make_identity())
    (state / IDENTITY_FILE).write_text(content)
    with pytest.raises(IdentityError):
        load_identity(state, EDGE)


def test_it_refuses_a_corrupt_key(tmp_path: Path) -> None:
    state = prepare_state_dir(tmp_path / "state")
    save_identity(state, make_identity())
    (state / KEY_FILE).write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
    with pytest.raises(IdentityError, match="corrupt"):
        load_identity(state, EDGE)


def test_repr_shows_no_key_material(tmp_path: Path) -> None:
    text = repr(make_identity())
    assert "wrk_abc" in text
    assert "key" not in text.lower().replace("worker_id", "")
