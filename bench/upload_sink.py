"""The trivial streaming sink for the upload benchmark: a tus-shaped ASGI app that reads every
PATCH body and throws it away. Served by uvicorn with the edge's own TLS policy and certificate.

``python -m bench.upload_sink CERT KEY``: prints ``{"port": N}`` once listening on loopback.
It answers exactly what ``bench.tus_client`` needs (creation, PATCH, HEAD), nothing more.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn

from strongroom.crypto.tls import CertPaths, server_ssl_context

_ids = itertools.count()
_offsets: dict[str, int] = {}


async def _reply(send: Any, status: int, headers: dict[str, str]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in {"tus-resumable": "1.0.0", **headers}.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b""})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path, method = scope["path"], scope["method"]
    if method == "POST":
        name = f"/files/{next(_ids)}"
        _offsets[name] = 0
        await _reply(send, 201, {"location": name, "upload-offset": "0"})
        return
    if method == "PATCH":
        more = True
        while more:
            message = await receive()
            _offsets[path] += len(message.get("body", b""))
            more = message.get("more_body", False)
    await _reply(send, 204 if method == "PATCH" else 200,
                 {"upload-offset": str(_offsets.get(path, 0))})


def main() -> int:
    cert, key = (Path(arg) for arg in sys.argv[1:3])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off")
    config.load()
    config.ssl = server_ssl_context(CertPaths(cert=cert, key=key))
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
    asyncio.run(uvicorn.Server(config).serve(sockets=[listener]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
