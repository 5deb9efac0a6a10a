"""Grant parsing, upload URL building and log redaction."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.worker.grant import InvalidGrant, output_url, parse_grant, redact_url
from tests.unit.worker.fakeedge import EDGE, grant_payload


def test_it_parses_a_valid_grant() -> None:
    grant = parse_grant(grant_payload(), EDGE)
    assert grant.lease_id == "lse_1"
    assert grant.source.size == 3
    assert not grant.source.external
    assert grant.heartbeat_seconds == 10
    assert grant.lease_expires_at.year == 2026


def test_it_accepts_an_external_source_without_size_or_checksum() -> None:
    source = {"url": "https://example.com/in.mp4", "size": None, "sha256": None, "external": True}
    grant = parse_grant(grant_payload(source=source), EDGE)
    assert grant.source.external


def test_it_ignores_unknown_fields_for_forward_compatibility() -> None:
    assert parse_grant(grant_payload(new_field=1), EDGE).attempt == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"lease_id": "../../etc"},
        {"lease_id": ""},
        {"attempt": 0},
        {"heartbeat_seconds": 0},
        {"lease_expires_at": "soon"},
        {"job": "not an object"},
        {"source": {"url": f"{EDGE}/s?grant=x", "size": 3, "sha256": None}},
        {"source": {"url": f"{EDGE}/s?grant=x", "size": -1, "sha256": "ab" * 32}},
        {"source": {"url": f"{EDGE}/s?grant=x", "size": 3, "sha256": "XYZ"}},
    ],
)
def test_it_rejects_malformed_grants(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidGrant):
        parse_grant(grant_payload(**changes), EDGE)


@pytest.mark.parametrize("missing", ["lease_id", "source", "fail_url", "job"])
def test_it_rejects_a_grant_missing_a_field(missing: str) -> None:
    data = grant_payload()
    del data[missing]
    with pytest.raises(InvalidGrant, match=missing):
        parse_grant(data, EDGE)


@pytest.mark.parametrize(
    "field", ["output_base_url", "heartbeat_url", "complete_url", "fail_url"]
)
@pytest.mark.parametrize(
    "url",
    [
        "https://evil.test/internal/worker/x?grant=1",
        "http://edge.test/internal/worker/x?grant=1",
        "https://edge.test:8443/internal/worker/x?grant=1",
    ],
)
def test_it_rejects_edge_urls_pointing_elsewhere(field: str, url: str) -> None:
    with pytest.raises(InvalidGrant, match="outside"):
        parse_grant(grant_payload(**{field: url}), EDGE)


def test_it_rejects_an_edge_source_pointing_elsewhere() -> None:
    source = {"url": "https://evil.test/s?grant=1", "size": 3, "sha256": "ab" * 32}
    with pytest.raises(InvalidGrant):
        parse_grant(grant_payload(source=source), EDGE)


def test_the_error_never_contains_grant_tokens() -> None:
    data = grant_payload(attempt="many")
    with pytest.raises(InvalidGrant) as caught:
        parse_grant(data, EDGE)
    assert "grant=" not in str(caught.value)
    assert "SRC" not in str(caught.value)


def test_explicit_default_port_counts_as_the_same_origin() -> None:
    grant = parse_grant(grant_payload(fail_url="https://EDGE.test:443/f?grant=1"), EDGE)
    assert grant.fail_url.endswith("grant=1")


BASE = "https://edge.test/internal/worker/leases/lse_1/outputs?grant=abc.def"


@pytest.mark.parametrize(
    ("index", "relative", "expected"),
    [
        (0, "video.mp4", "/outputs/0/video.mp4?grant=abc.def"),
        (0, "playlist.m3u8", "/outputs/0/playlist.m3u8?grant=abc.def"),
        (2, "video_0/segment_00001.ts", "/outputs/2/video_0/segment_00001.ts?grant=abc.def"),
        (1, "a b/c?d#e.ts", "/outputs/1/a%20b/c%3Fd%23e.ts?grant=abc.def"),
    ],
)
def test_it_builds_upload_urls_with_the_query_after_the_path(
    index: int, relative: str, expected: str
) -> None:
    assert output_url(BASE, index, relative) == (
        "https://edge.test/internal/worker/leases/lse_1" + expected
    )


def test_it_tolerates_a_trailing_slash_on_the_base() -> None:
    url = output_url("https://edge.test/o/?grant=g", 0, "video.mp4")
    assert url == "https://edge.test/o/0/video.mp4?grant=g"


@pytest.mark.parametrize(
    "relative", ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\b", "", "a/"]
)
def test_it_refuses_paths_that_could_escape_the_output(relative: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        output_url(BASE, 0, relative)


def test_it_refuses_a_negative_index() -> None:
    with pytest.raises(ValueError, match="negative"):
        output_url(BASE, -1, "video.mp4")


def test_redaction_drops_query_fragment_and_credentials() -> None:
    assert redact_url("https://u:p@edge.test/a/b?grant=SECRET#x") == "https://edge.test/a/b"
