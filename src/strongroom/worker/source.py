"""Bring the job's source into the scratch directory.

An edge source is streamed with the worker's signature, resumed with HTTP Range when the
connection drops, and must match the size and SHA-256 the grant announced. An external source
(a client's URL) goes through the SSRF-safe fetcher in ``strongroom.outbound``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx

from strongroom.media.errors import Cancelled
from strongroom.outbound import FetchPolicy, fetch_to_file
from strongroom.worker.client import EdgeClient
from strongroom.worker.failures import JobFailed
from strongroom.worker.grant import SourceGrant

logger = logging.getLogger(__name__)

MAX_RESUMES = 5
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")

OnBytes = Callable[[int], None]


def fetch_source(
    client: EdgeClient,
    source: SourceGrant,
    dest: Path,
    *,
    policy: FetchPolicy,
    on_bytes: OnBytes,
    cancel: threading.Event,
) -> None:
    """Write the source to ``dest``; raise JobFailed, OutboundError or Cancelled on failure."""
    if source.external:
        fetch_to_file(source.url, dest, policy)
        return
    download_edge_source(client, source, dest, on_bytes=on_bytes, cancel=cancel)


def download_edge_source(
    client: EdgeClient,
    source: SourceGrant,
    dest: Path,
    *,
    on_bytes: OnBytes,
    cancel: threading.Event,
    max_resumes: int = MAX_RESUMES,
) -> None:
    """Stream an edge source to ``dest``, resuming after dropped connections.

    Raises JobFailed (retryable) when the bytes don't match the grant's size and SHA-256 or the
    transfer keeps failing, Cancelled when ``cancel`` is set.
    """
    expected_size, expected_sha = source.size or 0, source.sha256 or ""
    download = _Download(dest, expected_size, on_bytes, cancel)
    with download:
        for _attempt in range(max_resumes + 1):
            try:
                download.attempt(client, source.url)
                break
            except httpx.TransportError as exc:
                logger.warning(
                    "source download interrupted (%s) at %d bytes",
                    type(exc).__name__,
                    download.written,
                )
        else:
            raise JobFailed("the source could not be downloaded", retryable=True)
    if download.written != expected_size or download.hexdigest() != expected_sha:
        dest.unlink(missing_ok=True)
        raise JobFailed("the source did not match its checksum", retryable=True)


class _Download:
    """One file being downloaded over possibly several connections."""

    def __init__(self, dest: Path, size: int, on_bytes: OnBytes, cancel: threading.Event) -> None:
        self.dest, self.size, self.on_bytes, self.cancel = dest, size, on_bytes, cancel
        self.written = 0
        self._hash = hashlib.sha256()
        self._sink: BinaryIO | None = None

    def __enter__(self) -> _Download:
        fd = os.open(self.dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        self._sink = os.fdopen(fd, "wb")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._sink is not None:
            self._sink.close()

    def hexdigest(self) -> str:
        """SHA-256 of everything written so far."""
        return self._hash.hexdigest()

    def attempt(self, client: EdgeClient, url: str) -> None:
        """One connection: continue from ``written`` (or restart if Range is ignored)."""
        if self.written and self.written >= self.size:
            return
        with client.open_source(url, start=self.written) as response:
            if response.status_code == 206:
                self._check_range(response.headers.get("content-range", ""))
            elif self.written:
                self._restart()  # the server sent the whole file again
            # No chunk size: bytes are written as they arrive, so a drop loses none of them.
            for chunk in response.iter_raw():
                self._write(chunk)

    def _write(self, chunk: bytes) -> None:
        if self.cancel.is_set():
            raise Cancelled()
        if self.written + len(chunk) > self.size:
            raise JobFailed("the source is larger than announced", retryable=True)
        assert self._sink is not None  # noqa: S101 - set in __enter__; a bug if not
        self._sink.write(chunk)
        self._hash.update(chunk)
        self.written += len(chunk)
        self.on_bytes(self.written)

    def _check_range(self, header: str) -> None:
        match = _CONTENT_RANGE.match(header.strip())
        if match is None or int(match.group(1)) != self.written:
            raise JobFailed("the edge answered a resumed download incorrectly", retryable=True)

    def _restart(self) -> None:
        assert self._sink is not None  # noqa: S101 - set in __enter__; a bug if not
        self._sink.seek(0)
        self._sink.truncate()
        self._hash = hashlib.sha256()
        self.written = 0
