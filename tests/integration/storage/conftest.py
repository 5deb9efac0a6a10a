"""Fixtures for the storage tests: one SeaweedFS server per session (per xdist worker;
the tests that use it share the "seaweedfs" xdist group, so one server serves them all)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from strongroom.storage.s3 import S3Store
from strongroom.storage.s3_config import MIN_PART_SIZE
from tests.integration.storage.seaweed import S3Server, start, stop


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    weed = start(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield weed.server
    finally:
        stop(weed)


@pytest.fixture(scope="session")
def s3_client(s3_server: S3Server) -> Any:
    """One boto3 client for the session: building one costs about half a second."""
    return s3_server.client()


@pytest.fixture
def s3_store(s3_server: S3Server, s3_client: Any) -> S3Store:
    """An S3Store on the shared bucket, under a prefix of its own (so tests never meet),
    with the smallest part size S3 allows, so multipart boundaries are cheap to cross."""
    return S3Store(
        s3_server.bucket,
        prefix=f"t-{secrets.token_hex(6)}",
        client=s3_client,
        part_size=MIN_PART_SIZE,
    )
