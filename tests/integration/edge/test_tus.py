"""tus 1.0.0 uploads through the whole ASGI app: refusals leave the offset and the store as they
were; accepted bytes are stored encrypted and hashed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pytest_django import Settings

from strongroom.edge.accounts.models import Project
from strongroom.edge.jobs.models import Task, Upload
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.services.objects import object_store
from tests.integration.edge.db_state import snapshot, stored_keys
from tests.integration.edge.edge_client import EdgeClient
from tests.integration.edge.qencode_api import query_text
from tests.integration.edge.tus_client import (
    OCTET,
    TUS_VERSION,
    create,
    create_upload,
    head,
    offset,
    patch,
    sha256_checksum,
    upload,
    upload_url,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MARKER_UNIT = b"<<STRONGROOM-PLAINTEXT-MARKER>>"
MARKER = (MARKER_UNIT * (4096 // len(MARKER_UNIT) + 1))[:4096]
LENGTH = 10_000


@pytest.fixture
def task(project: Project) -> Task:
    return task_service.create_task(project)


@pytest.fixture
def location(edge: EdgeClient, task: Task) -> str:
    return create_upload(edge, task.token, LENGTH)


def upload_row(location: str) -> Upload:
    return Upload.objects.get(uuid=location.rsplit("/", 1)[1])


def test_it_announces_its_capabilities(edge: EdgeClient, task: Task) -> None:
    response = edge.request("OPTIONS", upload_url(task.token))

    assert response.status_code == 204
    assert response.headers["tus-version"] == TUS_VERSION
    assert {"creation", "checksum"} <= set(response.headers["tus-extension"].split(","))
    assert int(response.headers["tus-max-size"]) == django_settings.TUS_MAX_SIZE
    assert "sha256" in response.headers["tus-checksum-algorithm"].split(",")


@pytest.mark.parametrize("version", [None, "0.2.2"])
def test_it_requires_tus_resumable(edge: EdgeClient, task: Task, version: str | None) -> None:
    headers = {"upload-length": str(LENGTH)} | ({"tus-resumable": version} if version else {})
    before = snapshot()

    response = edge.request("POST", upload_url(task.token), headers=headers)

    assert response.status_code == 412
    assert response.headers["tus-version"] == TUS_VERSION
    assert snapshot() == before


def test_it_refuses_an_upload_over_tus_max_size(
    edge: EdgeClient, task: Task, settings: Settings
) -> None:
    settings.TUS_MAX_SIZE = 1000
    before = snapshot()

    assert create(edge, task.token, 1001).status_code == 413
    assert snapshot() == before
    assert create(edge, task.token, 1000).status_code == 201


def test_a_projects_uploads_stay_within_its_quota(
    edge: EdgeClient, project: Project, settings: Settings
) -> None:
    settings.PROJECT_UPLOAD_QUOTA = 1500
    first, second = (task_service.create_task(project) for _ in range(2))
    assert create(edge, first.token, 1000).status_code == 201
    before = snapshot()
    refused = create(edge, second.token, 501)
    assert refused.status_code == 413 and b"quota" in refused.content
    assert snapshot() == before
    assert create(edge, second.token, 500).status_code == 201


@pytest.mark.parametrize("which", ["unknown", "started"])
def test_it_refuses_an_upload_for_a_task_it_cannot_take(
    edge: EdgeClient, task: Task, which: str
) -> None:
    token = "c" * 32
    if which == "started":
        task_service.start_task(task.token, query_text())
        token = task.token
    before = snapshot()

    assert create(edge, token, LENGTH).status_code == 404
    assert snapshot() == before


def test_it_creates_an_upload_at_a_location_without_a_trailing_slash(
    edge: EdgeClient, task: Task
) -> None:
    response = create(edge, task.token, LENGTH)

    assert response.status_code == 201
    location = response.headers["location"]
    prefix = f"https://testserver/v1/upload_file/{task.token}/"
    assert location.startswith(prefix)
    assert len(location.removeprefix(prefix)) == 32 and not location.endswith("/")
    assert (upload_row(location).task, upload_row(location).length) == (task, LENGTH)


def test_it_reports_offset_and_length_on_head(edge: EdgeClient, location: str) -> None:
    patch(edge, location, 0, b"x" * 100)

    response = head(edge, location)

    assert response.status_code == 200
    assert response.headers["upload-offset"] == "100"
    assert response.headers["upload-length"] == str(LENGTH)
    assert response.headers["cache-control"] == "no-store"


def test_it_answers_404_for_an_unknown_upload(edge: EdgeClient, location: str) -> None:
    other = location[:-32] + "d" * 32
    assert head(edge, other).status_code == 404
    assert patch(edge, other, 0, b"x").status_code == 404


BAD_PATCHES = {
    "wrong_content_type": ({"content-type": "application/octet-stream"}, 0, b"x" * 10, 415),
    "wrong_offset": ({}, 5, b"x" * 10, 409),
    "past_upload_length": ({}, 0, b"x" * (LENGTH + 1), 413),
    "checksum_mismatch": ({"upload-checksum": sha256_checksum(b"other")}, 0, b"x" * 10, 460),
    "unknown_checksum": ({"upload-checksum": "md5 AAAA"}, 0, b"x" * 10, 400),
    "malformed_offset": ({"upload-offset": "-1"}, 0, b"x" * 10, 400),
}


@pytest.mark.parametrize("case", BAD_PATCHES)
def test_it_refuses_a_bad_patch_without_moving_the_offset(
    edge: EdgeClient, location: str, case: str
) -> None:
    headers, at, body, expected = BAD_PATCHES[case]
    before = snapshot()

    response = patch(edge, location, at, body, **headers)

    assert response.status_code == expected, response.text
    assert offset(edge, location) == 0
    assert snapshot() == before
    assert upload_row(location).parts == []
    assert stored_keys(f"uploads/{upload_row(location).uuid}") == []


def test_it_tells_the_current_offset_on_a_conflict(edge: EdgeClient, location: str) -> None:
    patch(edge, location, 0, b"x" * 100)

    response = patch(edge, location, 0, b"y" * 100)

    assert response.status_code == 409
    assert response.headers["upload-offset"] == "100"
    assert offset(edge, location) == 100


def test_it_resumes_after_a_refused_chunk(edge: EdgeClient, location: str) -> None:
    chunk = b"z" * 50
    patch(edge, location, 0, chunk, **{"upload-checksum": sha256_checksum(b"nope")})

    response = patch(edge, location, 0, chunk, **{"upload-checksum": sha256_checksum(chunk)})

    assert (response.status_code, response.headers["upload-offset"]) == (204, "50")


def test_it_assembles_a_multi_chunk_upload(edge: EdgeClient, task: Task) -> None:
    data = MARKER * 3 + b"tail"

    uuid = upload(edge, task.token, data, chunk=5000)

    row = Upload.objects.get(uuid=uuid)
    assert (row.offset, row.length, len(row.parts)) == (len(data), len(data), 3)
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.complete
    stored = b"".join(
        b"".join(object_store().read(part["key"]))
        for part in sorted(row.parts, key=lambda part: part["offset"])
    )
    assert stored == data


def test_it_accepts_a_body_with_the_creation_request(edge: EdgeClient, task: Task) -> None:
    data = b"creation-with-upload" * 10

    response = edge.request(
        "POST",
        upload_url(task.token),
        content=data,
        headers={
            "tus-resumable": TUS_VERSION,
            "upload-length": str(len(data)),
            "content-type": OCTET,
        },
    )

    assert response.status_code == 201
    assert response.headers["upload-offset"] == str(len(data))
    assert upload_row(response.headers["location"]).sha256 == hashlib.sha256(data).hexdigest()


def test_it_never_writes_uploaded_plaintext_to_disk(edge: EdgeClient, task: Task) -> None:
    data = MARKER * 4

    uuid = upload(edge, task.token, data, chunk=len(MARKER) * 3)

    files = [path for path in Path(django_settings.OBJECT_STORE_ROOT).rglob("*") if path.is_file()]
    assert any(f"uploads/{uuid}/" in path.as_posix() for path in files)
    for path in files:
        raw = path.read_bytes()
        assert MARKER_UNIT not in raw, path
        assert MARKER[:16] not in raw, path
