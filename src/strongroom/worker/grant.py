"""The grant a claim returns, parsed into a typed, checked object.

Nothing in the grant is trusted for more than it needs: every edge URL must point at the
configured edge (so a grant can never make the worker send signed requests elsewhere), and the
job spec stays raw here; the pipeline validates it with ``JobSpec`` so that a bad spec becomes a
clean job failure rather than a worker crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class InvalidGrant(Exception):
    """The claim answer is not a usable grant."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SourceGrant(_Model):
    """Where the source comes from: the edge (size and SHA-256 known) or an external URL."""

    url: str = Field(min_length=1, max_length=8192)
    size: int | None = Field(default=None, ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    external: bool = False

    @model_validator(mode="after")
    def _edge_sources_are_pinned(self) -> SourceGrant:
        if not self.external and (self.size is None or self.sha256 is None):
            raise ValueError("an edge source must state its size and sha256")
        return self


class Grant(_Model):
    """One lease on one work item, with the URLs scoped to it."""

    lease_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")
    task_token: str = Field(min_length=1, max_length=128)
    attempt: int = Field(ge=1)
    lease_expires_at: datetime
    heartbeat_seconds: int = Field(ge=1, le=3600)
    job: dict[str, Any]
    source: SourceGrant
    output_base_url: str
    heartbeat_url: str
    complete_url: str
    fail_url: str

    def edge_urls(self) -> list[str]:
        """Every URL in the grant that must point at the edge."""
        urls = [self.output_base_url, self.heartbeat_url, self.complete_url, self.fail_url]
        return urls if self.source.external else [self.source.url, *urls]


def parse_grant(data: Mapping[str, Any], edge_url: str) -> Grant:
    """Validate a claim answer; raise InvalidGrant when it is malformed or leaves the edge."""
    try:
        grant = Grant.model_validate(data)
    except ValidationError as exc:
        # Field names only: the values may contain grant tokens.
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise InvalidGrant(f"malformed grant (fields: {', '.join(fields)})") from None
    edge_origin = _origin(edge_url)
    if any(_origin(url) != edge_origin for url in grant.edge_urls()):
        raise InvalidGrant("the grant names a URL outside the configured edge")
    return grant


def output_url(output_base_url: str, index: int, relative_path: str) -> str:
    """Build ``<path of output_base_url>/<index>/<relative path>?<query of output_base_url>``.

    ``relative_path`` is relative to the output's directory (``out<index>/``), POSIX style;
    each segment is percent-encoded. Raises ValueError for an absolute path, ``..`` or ``.``
    segments, empty segments or backslashes, so an output can never name another's location.
    """
    if index < 0:
        raise ValueError("output index must not be negative")
    segments = relative_path.split("/")
    if "\\" in relative_path or any(s in ("", ".", "..") for s in segments):
        raise ValueError("output paths must be relative, without '.', '..' or empty segments")
    parts = urlsplit(output_base_url)
    encoded = "/".join(quote(segment, safe="") for segment in segments)
    path = f"{parts.path.rstrip('/')}/{index}/{encoded}"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def redact_url(url: str) -> str:
    """``url`` without its query string and fragment (where grant tokens live), for logs."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        default = {"http": 80, "https": 443}.get(parts.scheme.lower())
        return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default)
    except ValueError:
        raise InvalidGrant("the grant contains a malformed URL") from None
