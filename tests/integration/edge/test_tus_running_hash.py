"""The whole upload's SHA-256 is carried from PATCH to PATCH in the edge process, so sealing a
multi-part upload needs no read-back; a refused part never enters the hash, and a missing state
(another process, a restart) falls back to reading the upload back."""

from __future__ import annotations

import hashlib
import itertools
import os

import pytest

from strongroom.edge.accounts.models import Project
from strongroom.edge.jobs.models import Task, Upload
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.services import uploads as upload_service
from strongroom.edge.uploads import running_hash
from tests.integration.edge.edge_client import EdgeClient
from tests.integration.edge.tus_client import create_upload, patch, sha256_checksum

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
DATA = os.urandom(300_000)
CUTS = (0, 100_000, 200_000, 300_000)


@pytest.fixture
def task(project: Project) -> Task:
    return task_service.create_task(project)


def sealed(location: str) -> str:
    return Upload.objects.get(uuid=location.rsplit("/", 1)[1]).sha256


def send_all(edge: EdgeClient, location: str) -> None:
    for start, end in itertools.pairwise(CUTS):
        assert patch(edge, location, start, DATA[start:end]).status_code == 204


def test_a_multi_part_upload_is_sealed_without_reading_it_back(
    edge: EdgeClient, task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_read_back(*_args: object) -> None:
        raise AssertionError("the upload was read back")

    monkeypatch.setattr(upload_service, "read_upload", no_read_back)
    location = create_upload(edge, task.token, len(DATA))
    send_all(edge, location)
    assert sealed(location) == hashlib.sha256(DATA).hexdigest()


def test_a_refused_part_never_enters_the_hash(edge: EdgeClient, task: Task) -> None:
    location = create_upload(edge, task.token, len(DATA))
    assert patch(edge, location, 0, DATA[:100_000]).status_code == 204
    wrong = patch(
        edge,
        location,
        100_000,
        b"x" * 100_000,
        **{"Upload-Checksum": sha256_checksum(DATA[100_000:200_000])},
    )
    assert wrong.status_code == 460
    assert patch(edge, location, 100_000, DATA[100_000:200_000]).status_code == 204
    assert patch(edge, location, 200_000, DATA[200_000:]).status_code == 204
    assert sealed(location) == hashlib.sha256(DATA).hexdigest()


def test_without_the_running_state_sealing_reads_the_upload_back(
    edge: EdgeClient, task: Task
) -> None:
    location = create_upload(edge, task.token, len(DATA))
    assert patch(edge, location, 0, DATA[:100_000]).status_code == 204
    running_hash.forget(location.rsplit("/", 1)[1])  # as if the next PATCH hit another process
    assert patch(edge, location, 100_000, DATA[100_000:]).status_code == 204
    assert sealed(location) == hashlib.sha256(DATA).hexdigest()
