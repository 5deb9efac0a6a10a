"""`strongroom transcode`: upload a file, run a preset, follow progress, download the results."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin

from strongroom.cli.errors import CommandFailed
from strongroom.cli.presets import preset_formats
from strongroom.cli.progress import ProgressBar
from strongroom.cli.qencode_client import QencodeApiError, QencodeClient


@dataclass
class TranscodeResult:
    task_token: str
    status: dict[str, Any]
    downloaded: list[Path] = field(default_factory=list)


def run_job(
    client: QencodeClient,
    api_key: str,
    source: Path,
    formats: list[dict[str, Any]],
    bar: ProgressBar,
) -> TranscodeResult:
    """access_token -> create_task -> tus upload -> start_encode2 -> poll to a terminal state."""
    token = client.access_token(api_key)
    task_token, upload_url = client.create_task(token)
    tus_source = client.upload(
        upload_url,
        task_token,
        source,
        lambda done, total: bar.update("uploading", 100 * done / max(total, 1)),
    )
    status_url = client.start_encode2(task_token, {"source": tus_source, "format": formats})
    status = client.wait(
        status_url,
        task_token,
        lambda s: bar.update(str(s.get("status")), float(s.get("percent") or 0)),
    )
    bar.done()
    if status.get("error") or status.get("status") != "completed":
        raise CommandFailed(
            f"task {task_token} failed: {status.get('error_description') or status.get('status')}"
        )
    return TranscodeResult(task_token=task_token, status=status)


def download_outputs(client: QencodeClient, status: dict[str, Any], out: Path) -> list[Path]:
    paths: list[Path] = []
    for item in status.get("videos", []) + status.get("audios", []):
        folder = out / str(item["tag"])
        name = PurePosixPath(str(item["url"]).split("?")[0]).name
        if name.endswith(".m3u8"):
            paths.append(mirror_hls(client, str(item["url"]), folder))
        else:
            paths.append(client.download(str(item["url"]), folder / name))
    return paths


def mirror_hls(client: QencodeClient, master_url: str, folder: Path) -> Path:
    """Download a master playlist and everything it references, keeping relative paths."""
    base = master_url.rsplit("/", 1)[0] + "/"
    pending, seen = [master_url], set()
    while pending:
        url = pending.pop()
        relative = url[len(base) :]
        if relative in seen or not relative or ".." in relative.split("/"):
            continue
        seen.add(relative)
        path = client.download(url, folder / relative)
        if path.suffix == ".m3u8":
            pending.extend(urljoin(url, line) for line in playlist_uris(path.read_text()))
    return folder / master_url[len(base) :]


def playlist_uris(text: str) -> list[str]:
    uris = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for line in text.splitlines():
        if 'URI="' in line:
            uris.append(line.split('URI="', 1)[1].split('"', 1)[0])
    return uris


def transcode_file(
    url: str, api_key: str, source: Path, preset: str, out: Path, *, ca_file: Path | None
) -> TranscodeResult:
    if not source.is_file():
        raise CommandFailed(f"{source} is not a file")
    try:
        formats = preset_formats(preset)
    except KeyError as exc:
        raise CommandFailed(str(exc.args[0])) from None
    client = QencodeClient(url, ca_file)
    try:
        result = run_job(client, api_key, source, formats, ProgressBar(sys.stderr))
        result.downloaded = download_outputs(client, result.status, out)
    except QencodeApiError as exc:
        raise CommandFailed(f"the server refused the request ({exc})") from None
    finally:
        client.close()
    return result
