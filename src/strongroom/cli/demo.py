"""`strongroom demo` / `make demo`: one real transcode, end to end, on the embedded default.

It starts `strongroom serve` (HTTPS edge + worker processes + background) as a child process,
creates a demo organization, project and API key, submits a clip through the Qencode v1 flow
(access_token -> create_task -> tus upload -> start_encode2) for an MP4 and a 3-rung HLS ladder,
shows progress, downloads and checks the outputs through their signed URLs, then shuts down.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from strongroom.cli.errors import CommandFailed
from strongroom.cli.init import initialise
from strongroom.cli.presets import preset_formats
from strongroom.cli.progress import ProgressBar
from strongroom.cli.qencode_client import QencodeApiError, QencodeClient
from strongroom.cli.supervisor import Child, Supervisor, strongroom_argv
from strongroom.cli.transcode import download_outputs, playlist_uris, run_job
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.samples import make_sample_clip

SERVER_START_TIMEOUT = 60.0
DEMO_LADDER = 3


@dataclass(frozen=True)
class EdgeHandle:
    url: str
    ca: Path
    supervisor: Supervisor


def run_demo(data_dir: str | None, source: Path | None, out: Path | None, stream: TextIO) -> int:
    init = initialise(data_dir)
    out = out or init.data.root / "demo"
    runner = Runner(find_ffmpeg())
    source = source or _sample_clip(runner, init.data.root / "demo-input")
    api_key = _demo_api_key()
    edge = _start_edge(init.data.root, init.data.server_info)
    client = QencodeClient(edge.url, edge.ca)
    started = time.monotonic()
    try:
        stream.write(f"Submitting {source.name} to {edge.url} (MP4 + {DEMO_LADDER}-rung HLS)\n")
        result = run_job(client, api_key, source, preset_formats("demo"), ProgressBar(stream))
        files = download_outputs(client, result.status, out / result.task_token)
        _verify(runner, files)
        elapsed = time.monotonic() - started
    except QencodeApiError as exc:
        raise CommandFailed(f"the edge refused the demo job ({exc})") from None
    finally:
        client.close()  # an open keep-alive connection would hold up the edge's graceful stop
        edge.supervisor.stop()
    _report(stream, result.status, files, elapsed)
    return 0


def _sample_clip(runner: Runner, folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return make_sample_clip(runner, folder / "sample.mp4")


def _demo_api_key() -> str:
    from strongroom.edge.accounts.apikeys import Actor, create_api_key  # noqa: PLC0415
    from strongroom.edge.accounts.services import ensure_project  # noqa: PLC0415

    return create_api_key(
        ensure_project("demo", "demo"), name="strongroom demo", actor=Actor.cli("demo")
    )


def _start_edge(data_root: Path, info_path: Path) -> EdgeHandle:
    info_path.unlink(missing_ok=True)
    # The demo prints its own progress; the edge's JSON request lines (for log shippers) would
    # bury it. They are still stored and searchable with `strongroom logs search`.
    os.environ["STRONGROOM_REQUEST_LOG_STDOUT"] = "0"
    child = Child(
        name="edge",
        argv_factory=lambda: strongroom_argv(
            "serve", "--data-dir", str(data_root), "--port", "0", "--workers", "auto"
        ),
    )
    supervisor = Supervisor([child])
    supervisor.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if info_path.exists() and child.process and child.process.poll() is None:
            info = json.loads(info_path.read_text())
            return EdgeHandle(url=info["url"], ca=Path(info["ca"]), supervisor=supervisor)
        if child.process and child.process.poll() is not None:
            break
        time.sleep(0.1)
    supervisor.stop()
    raise CommandFailed("the edge did not start (see the messages above)")


def _verify(runner: Runner, files: list[Path]) -> None:
    """Probe every output: the MP4 decodes with video and audio; the HLS master has the ladder."""
    for path in files:
        if path.suffix == ".m3u8":
            variants = [u for u in playlist_uris(path.read_text()) if u.endswith(".m3u8")]
            if len(variants) < DEMO_LADDER:
                raise CommandFailed(
                    f"HLS master lists {len(variants)} playlists, expected {DEMO_LADDER}+"
                )
            continue
        info = runner.probe(path)
        if info.video is None or info.audio is None or info.duration <= 0:
            raise CommandFailed(f"{path.name} does not have the planned video and audio streams")


def _report(stream: TextIO, status: dict[str, object], files: list[Path], seconds: float) -> None:
    stream.write("Outputs (signed, expiring download URLs):\n")
    for item in status.get("videos", []):  # type: ignore[union-attr]
        stream.write(f"  {item['tag']}: {item['url']}\n")  # type: ignore[index]
    stream.write("Downloaded and verified:\n")
    for path in files:
        stream.write(f"  {path}\n")
    stream.write(
        f"Demo OK: {len(files)} output(s) transcoded, stored encrypted, downloaded and "
        f"verified in {seconds:.1f} s.\n"
    )
