"""`keys rotate` with a KMS primary: every data key moves to the KMS key's newest version
(Vault transit stand-in, moto's KMS), objects from the local key move onto the KMS key, no
stored object is rewritten, and an outage stops the job with its progress kept."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from django.conf import settings

from strongroom.crypto.envelope import HEADER_MAX_SIZE, parse_header
from strongroom.crypto.kek import KeyProviderUnavailable
from strongroom.crypto.kms_vault import wrapped_key_version
from strongroom.crypto.providers import KekConfig, KekKind
from strongroom.edge.jobs.models import RotationStatus
from strongroom.edge.jobs.services import key_rotation
from strongroom.edge.jobs.services.keys import key_usage
from strongroom.edge.jobs.services.objects import object_store
from tests.integration.crypto.test_aws_kms import REGION, _new_key, _start_server
from tests.integration.crypto.vault_standin import VaultStandin

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOKEN = "hvs.rotation-" + secrets.token_hex(8)


@pytest.fixture
def vault() -> Iterator[VaultStandin]:
    standin = VaultStandin(TOKEN).start()
    yield standin
    standin.stop()


@pytest.fixture
def local_objects(tmp_path: Path, settings: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Objects written under the local key; then the test switches the primary to a KMS."""
    local = dataclasses.replace(settings.OBJECT_KEK, kek_file=tmp_path / "keks.json")
    settings.OBJECT_KEK = local
    settings.OBJECT_KEK_RETIRED = ()
    settings.OBJECT_STORE_ROOT = tmp_path / "objects"
    object_store().put("tasks/local/a1/out0/x.mp4", [b"from the local key"])
    with django_capture_on_commit_callbacks(execute=False):
        yield local
    for root in ("tasks", "uploads"):
        object_store().delete_prefix(root)


def use_kms(config: KekConfig, local: KekConfig) -> None:
    settings.OBJECT_KEK = config
    settings.OBJECT_KEK_RETIRED = (local,)


def raw(key: str) -> bytes:
    return (settings.OBJECT_STORE_ROOT / key).read_bytes()


def record(key: str) -> Any:
    header = parse_header(raw(key)[:HEADER_MAX_SIZE], key)
    return object_store()._keys.get(key, header.key_ref)


def run_to_the_end(rotation_id: int) -> None:
    while key_rotation.run_rotation(rotation_id, seconds=0, batch_size=1):
        pass


def vault_config(vault: VaultStandin, name: str) -> KekConfig:
    hvac.Client(url=vault.url, token=TOKEN).secrets.transit.create_key(name)
    return KekConfig(kind=KekKind.VAULT, key=name, url=vault.url, token=TOKEN)


def test_vault_rotation_moves_every_data_key_to_the_newest_version(
    vault: VaultStandin, local_objects: KekConfig
) -> None:
    use_kms(vault_config(vault, "objects"), local_objects)
    object_store().put("tasks/vault/a1/out0/y.mp4", [b"wrapped by version 1"])
    hvac.Client(url=vault.url, token=TOKEN).secrets.transit.rotate_key("objects")
    keys = ["tasks/local/a1/out0/x.mp4", "tasks/vault/a1/out0/y.mp4"]
    media = {key: raw(key) for key in keys}

    rotation = key_rotation.start_rotation(actor="cli:tester").rotation
    assert rotation.target_key_id == rotation.previous_key_id == "vault:transit/objects"
    run_to_the_end(rotation.pk)

    rotation.refresh_from_db()
    assert (rotation.status, rotation.rewrapped, rotation.failed) == (RotationStatus.FINISHED, 2, 0)
    assert [wrapped_key_version(record(key).wrapped) for key in keys] == [2, 2]
    assert {key: raw(key) for key in keys} == media
    assert key_usage().objects_by_key == {"vault:transit/objects": 2}
    # Version 1 can now be retired in Vault: every object still reads.
    hvac.Client(url=vault.url, token=TOKEN).secrets.transit.update_key_configuration(
        "objects", min_decryption_version=2
    )
    assert b"".join(object_store().read(keys[0])) == b"from the local key"
    assert b"".join(object_store().read(keys[1])) == b"wrapped by version 1"
    # A second run finds nothing to do.
    again = key_rotation.start_rotation(actor="cli:tester").rotation
    run_to_the_end(again.pk)
    again.refresh_from_db()
    assert (again.done, again.rewrapped) == (2, 0)


def test_an_unreachable_vault_stops_the_rotation_with_its_progress_kept(
    vault: VaultStandin, local_objects: KekConfig
) -> None:
    use_kms(vault_config(vault, "flaky"), local_objects)
    for index in range(3):
        object_store().put(f"tasks/v{index}/a1/out0/z.mp4", [b"z"])
    rotation = key_rotation.start_rotation(actor="cli:tester").rotation
    assert key_rotation.run_rotation(rotation.pk, seconds=0, batch_size=2)
    media = {key: raw(key) for key in object_store().list("tasks")}
    vault.stop()

    with pytest.raises(KeyProviderUnavailable, match="unreachable"):
        key_rotation.run_rotation(rotation.pk, seconds=0, batch_size=2)

    rotation.refresh_from_db()
    assert (rotation.status, rotation.done, rotation.failed) == (RotationStatus.RUNNING, 2, 0)
    assert "vault:transit/flaky" in rotation.last_error and TOKEN not in rotation.last_error
    assert rotation.claimed_until is None  # free for the retry
    assert {key: raw(key) for key in media} == media


def test_aws_kms_rotation_re_encrypts_inside_kms(
    local_objects: KekConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server, url = _start_server()
    try:
        key = _new_key(url)
        use_kms(KekConfig(kind=KekKind.AWS, key=key, region=REGION, endpoint=url), local_objects)
        object_store().put("tasks/aws/a1/out0/w.mp4", [b"wrapped by KMS"])
        before = record("tasks/aws/a1/out0/w.mp4")
        media = raw("tasks/aws/a1/out0/w.mp4")

        rotation = key_rotation.start_rotation(actor="cli:tester").rotation
        run_to_the_end(rotation.pk)

        rotation.refresh_from_db()
        assert (rotation.rewrapped, rotation.failed) == (2, 0)
        after = record("tasks/aws/a1/out0/w.mp4")
        assert after.key_id == before.key_id == f"aws-kms:{key}"
        assert after.wrapped != before.wrapped
        assert raw("tasks/aws/a1/out0/w.mp4") == media
        assert b"".join(object_store().read("tasks/aws/a1/out0/w.mp4")) == b"wrapped by KMS"
        assert key_usage().objects_by_key == {f"aws-kms:{key}": 2}
    finally:
        server.stop()
