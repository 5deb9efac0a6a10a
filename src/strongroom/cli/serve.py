"""`strongroom serve`: the edge over HTTPS, local encoder workers and the background consumer."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn

from strongroom.cli.init import Initialised, initialise
from strongroom.cli.supervisor import Child, Supervisor, strongroom_argv
from strongroom.crypto.tls import server_ssl_context

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    data_dir: str | None
    host: str = "127.0.0.1"
    port: int = 8443
    workers: str = "auto"


def worker_count(value: str) -> int:
    if value == "auto":
        return max(1, (os.cpu_count() or 2) // 2)
    count = int(value)
    if not 0 <= count <= 64:
        raise ValueError("--workers must be 'auto' or 0-64")
    return count


def serve(options: ServeOptions) -> int:
    """Run in the foreground until SIGTERM/SIGINT; children are stopped before returning."""
    init = initialise(options.data_dir, extra_hosts=(options.host,))
    return EdgeRunner(init, options, worker_count(options.workers)).run()


class DrainingServer(uvicorn.Server):
    """On SIGTERM/SIGINT, stop the local children first (they may still talk to this edge to
    finish or hand back their work), then let uvicorn shut down gracefully."""

    def __init__(self, config: uvicorn.Config, before_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._before_exit = before_exit
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining:  # a second signal: stop now
            super().handle_exit(sig, frame)
            return
        self._draining = True
        threading.Thread(target=self._drain_then_exit, args=(sig, frame), daemon=True).start()

    def _drain_then_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            self._before_exit()
        finally:
            super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        # uvicorn re-raises a captured signal after shutdown so the process dies by it; we have
        # handled it (children stopped, connections drained), so `serve` returns and exits 0.
        captured = getattr(self, "_captured_signals", None)
        if isinstance(captured, list):
            captured.clear()


class EdgeRunner:
    def __init__(self, init: Initialised, options: ServeOptions, workers: int) -> None:
        config = uvicorn.Config(
            "strongroom.edge.asgi:application",
            host=options.host,
            port=options.port,
            access_log=False,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=30,
            lifespan="on",
        )
        config.load()
        config.ssl = server_ssl_context(init.server)  # our TLS policy, not uvicorn's defaults
        self.server = DrainingServer(config, before_exit=self._stop_children)
        self.init, self.options, self.workers = init, options, workers
        self.supervisor: Supervisor | None = None

    def _stop_children(self) -> None:
        if self.supervisor:
            self.supervisor.stop()

    def run(self) -> int:
        threading.Thread(target=self._after_start, name="after-start", daemon=True).start()
        try:
            self.server.run()
        finally:
            if self.supervisor:
                self.supervisor.stop()
            self.init.data.server_info.unlink(missing_ok=True)
        return 0

    def _after_start(self) -> None:
        while not self.server.started:
            if self.server.should_exit:
                return
            threading.Event().wait(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        url = f"https://{host}:{port}"
        self.supervisor = Supervisor(_children(self.init, url, self.workers))
        self.supervisor.start()
        _write_server_info(self.init, url)
        print(
            f"Strongroom edge listening on {url} ({self.workers} local worker(s); "
            f"CA certificate: {self.init.ca.cert})",
            flush=True,
        )


def _children(init: Initialised, url: str, count: int) -> list[Child]:
    children = [
        Child(
            name="background",
            argv_factory=lambda: strongroom_argv("background", "--data-dir", str(init.data.root)),
        )
    ]
    for index in range(count):
        state_dir = init.data.workers / f"local-{index}"
        children.append(
            Child(name=f"worker-{index}", argv_factory=_worker_argv(url, init, state_dir))
        )
    return children


def _worker_argv(url: str, init: Initialised, state_dir: Path) -> object:
    def build() -> list[str]:
        argv = strongroom_argv(
            "worker",
            "run",
            "--edge",
            url,
            "--ca",
            str(init.ca.cert),
            "--state-dir",
            str(state_dir),
            "--name",
            state_dir.name,
        )
        if not _has_identity(state_dir, url):
            argv += ["--join", _join_token()]
        return argv

    return build


def _has_identity(state_dir: Path, url: str) -> bool:
    from strongroom.worker.identity import load_identity  # noqa: PLC0415

    try:
        return load_identity(state_dir, url) is not None
    except Exception:
        return False


def _join_token() -> str:
    from strongroom.edge.jobs.services.workers import create_join_token  # noqa: PLC0415

    return create_join_token(("local",))


def _write_server_info(init: Initialised, url: str) -> None:
    info = {"url": url, "pid": os.getpid(), "ca": str(init.ca.cert)}
    path = init.data.server_info
    path.write_text(json.dumps(info), encoding="utf-8")
    path.chmod(0o600)
