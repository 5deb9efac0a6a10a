"""`strongroom serve`: the edge over HTTPS, local encoder workers and the background consumer."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import uvicorn

from strongroom.cli.autoscale import ScalePolicy
from strongroom.cli.init import Initialised, initialise
from strongroom.cli.local_workers import LocalWorkers
from strongroom.cli.supervisor import Child, Supervisor, strongroom_argv
from strongroom.crypto.tls import server_ssl_context
from strongroom.edge.settings.env import Env

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class ServeOptions:
    data_dir: str | None
    host: str = "127.0.0.1"
    port: int = 8443
    workers: str = "auto"


def serve(options: ServeOptions) -> int:
    """Run in the foreground until SIGTERM/SIGINT; children are stopped before returning."""
    init = initialise(options.data_dir, extra_hosts=(options.host,))
    load = Env().float("AUTOSCALE_MAX_LOAD", 1.0, minimum=0.1, maximum=64.0)
    policy = ScalePolicy.parse(options.workers, os.cpu_count() or 1, load)
    if policy.maximum > 0:  # refuse now, not in a thread after the edge is up
        init.worker_trust("https://127.0.0.1", Env().str("PUBLIC_URL", ""))
    return EdgeRunner(init, options, policy).run()


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
    def __init__(self, init: Initialised, options: ServeOptions, policy: ScalePolicy) -> None:
        config = uvicorn.Config(
            "strongroom.edge.asgi:application",
            host=options.host,
            port=options.port,
            access_log=False,
            log_level="warning",
            server_header=False,
            # Request line plus headers may take 16 KiB at most (which also bounds how many
            # headers a request can carry); more is refused before any handler runs.
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_graceful_shutdown=30,
            lifespan="on",
        )
        config.load()
        config.ssl = server_ssl_context(*init.served)  # our TLS policy, not uvicorn's
        self.server = DrainingServer(config, before_exit=self._stop_children)
        self.init, self.options, self.policy = init, options, policy
        self.supervisor: Supervisor | None = None
        self.local: LocalWorkers | None = None

    def _stop_children(self) -> None:
        if self.local:
            self.local.stop()
        if self.supervisor:
            self.supervisor.stop()

    def run(self) -> int:
        threading.Thread(target=self._after_start, name="after-start", daemon=True).start()
        try:
            self.server.run()
        finally:
            self._stop_children()
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
        self.supervisor = Supervisor([_background(self.init)])
        self.supervisor.start()
        if self.policy.maximum > 0:
            worker_url, worker_ca = self.init.worker_trust(url, Env().str("PUBLIC_URL", ""))
            self.local = LocalWorkers(
                self.init, worker_url, worker_ca, self.supervisor, self.policy
            )
            self.local.start()
        _write_server_info(self.init, url)
        workers = (
            f"{self.policy.minimum}"
            if self.policy.minimum == self.policy.maximum
            else f"{self.policy.minimum}-{self.policy.maximum}, autoscaled"
        )
        print(
            f"Strongroom edge listening on {url} ({workers} local worker(s); "
            f"CA certificate: {self.init.ca.cert})",
            flush=True,
        )


def _background(init: Initialised) -> Child:
    return Child(
        name="background",
        argv_factory=lambda: strongroom_argv("background", "--data-dir", str(init.data.root)),
    )


def _write_server_info(init: Initialised, url: str) -> None:
    info = {"url": url, "pid": os.getpid(), "ca": str(init.ca.cert)}
    path = init.data.server_info
    # Written aside, then renamed: a reader polling for the file never sees it half-written.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info), encoding="utf-8")
    partial.chmod(0o600)
    partial.replace(path)
