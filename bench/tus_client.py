"""The one tus 1.0.0 client every upload benchmark uses: creation, then PATCHes of a fixed size.

Each PATCH body streams from the file in 1 MiB reads with an explicit Content-Length (no
chunked encoding, no whole chunk in memory). No Upload-Checksum: the Node reference server
does not implement the checksum extension, and the same client must serve all three servers.
Adapted from the project's integration-test client, over httpx with the server's CA.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

TUS_VERSION = "1.0.0"
OCTET = "application/offset+octet-stream"
PATCH_BYTES = 64 << 20  # fixed PATCH size: big enough to stream, small enough to resume
READ = 1 << 20


def _body(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb", buffering=0) as stream:
        stream.seek(start)
        left = length
        while left:
            block = stream.read(min(READ, left))
            if not block:
                raise OSError(f"{path} ended early")
            left -= len(block)
            yield block


def upload(client: httpx.Client, create_url: str, path: Path, chunk: int = PATCH_BYTES) -> str:
    """Upload ``path`` to the tus endpoint ``create_url``; the upload's URL.

    The Location is re-based on ``create_url``'s origin: a server behind no proxy may name
    itself http:// (the Node server does), but the client keeps talking TLS to where it is.
    """
    size = path.stat().st_size
    created = client.post(create_url, headers={
        "tus-resumable": TUS_VERSION, "upload-length": str(size)})
    if created.status_code != 201:
        raise RuntimeError(f"tus create answered {created.status_code}: {created.text[:200]}")
    location = urljoin(create_url, urlsplit(created.headers["location"]).path)
    for at in range(0, size, chunk):
        length = min(chunk, size - at)
        response = client.patch(location, content=_body(path, at, length), headers={
            "tus-resumable": TUS_VERSION, "upload-offset": str(at), "content-type": OCTET,
            "content-length": str(length)})
        if response.status_code != 204 or int(response.headers["upload-offset"]) != at + length:
            raise RuntimeError(f"tus PATCH at {at} answered {response.status_code}")
    return location


def tls_client(ca: Path) -> httpx.Client:
    """An HTTP/1.1 client trusting only ``ca``; generous timeouts for a loaded machine."""
    return httpx.Client(verify=str(ca), timeout=httpx.Timeout(300.0))
