"""Qencode's status object (reference: qencode-api.md §4) for a task.

Used by `/v1/status` and, later, by the callbacks, so it lives in the domain app.
"""

from __future__ import annotations

from typing import Any

from strongroom.edge.jobs.models import Destination, Output, Task
from strongroom.edge.jobs.services.destinations import status_details
from strongroom.edge.jobs.services.grants import media_token
from strongroom.edge.jobs.states import TaskStatus
from strongroom.media.jobspec import OutputKind
from strongroom.media.output_kinds import status_array

# Qencode's storage.format values; the single-file kinds use their file type (a repack: the
# container it wrote, read from its file name).
_STORAGE_FORMAT = {
    OutputKind.ADVANCED_HLS.value: "hls",
    OutputKind.HLS_AUDIO.value: "hls",
    OutputKind.ADVANCED_DASH.value: "dash",
    OutputKind.WEBM_DASH.value: "dash",
    OutputKind.THUMBNAILS.value: "vtt",
    OutputKind.METADATA.value: "json",
}
_TAG_PREFIX = {"videos": "video", "audios": "audio", "images": "image"}
_BYTES_PER_MB = 1024 * 1024


def status_object(task: Task, base_url: str) -> dict[str, Any]:
    failed = task.status == TaskStatus.ERROR
    outputs = list(task.outputs.all()) if task.status == TaskStatus.COMPLETED else []
    return {
        "status": task.status,
        "percent": round(task.percent, 2),
        "error": 1 if failed else 0,
        "error_description": task.error_description if failed else None,
        "status_url": f"{base_url}/v1/status",
        "source_size": round(task.source_size / _BYTES_PER_MB, 3) if task.source_size else None,
        "duration": _source_duration(outputs),
        **_arrays(outputs, base_url, _destinations(task, outputs)),
        "texts": [],
        "warnings": [_warning(w) for w in task.warnings],
        "payload": task.payload or None,
    }


def _destinations(task: Task, outputs: list[Output]) -> dict[int, list[Destination]]:
    found: dict[int, list[Destination]] = {}
    if outputs:
        for destination in Destination.objects.filter(task=task).defer(
            "access_key", "secret_key"
        ):
            found.setdefault(destination.output_index, []).append(destination)
    return found


def _arrays(
    outputs: list[Output], base_url: str, destinations: dict[int, list[Destination]]
) -> dict[str, list[dict[str, Any]]]:
    """videos[], audios[] and images[]: each output goes where its kind belongs (§4)."""
    arrays: dict[str, list[dict[str, Any]]] = {"videos": [], "audios": [], "images": []}
    for output in outputs:
        name = status_array(OutputKind(output.kind))
        item = output_item(output, base_url, _TAG_PREFIX[name])
        _point_at_destination(item, output, destinations.get(output.index, []))
        arrays[name].append(item)
    return arrays


def _point_at_destination(item: dict[str, Any], output: Output, found: list[Destination]) -> None:
    """An output copied to a bucket is shown there, as Qencode does (url and storage); the
    signed URL of our own copy stays available as ``download_url``."""
    details = status_details(found, output)
    if details is not None:
        item["download_url"] = item["url"]
        item["url"] = details["url"]
        item["storage"] = {**details["storage"], "format": item["storage"]["format"]}


def output_item(output: Output, base_url: str, tag_prefix: str = "video") -> dict[str, Any]:
    report = output.report
    size = sum(int(f["size"]) for f in output.files)
    width, height = report.get("width"), report.get("height")
    return {
        "tag": f"{tag_prefix}-{output.index}-0",
        "user_tag": output.user_tag or None,
        "profile": None,
        "url": media_url(base_url, str(report["prefix"]), output.main_file),
        "storage": {"type": "local", "format": _storage_format(output)},
        "bitrate": report.get("bitrate"),
        "duration": report.get("duration"),
        "size": round(size / _BYTES_PER_MB, 3),
        "meta": {
            "width": width,
            "height": height,
            "resolution": min(width, height) if width and height else None,
        },
        "status": TaskStatus.COMPLETED.value,
        "percent": 100,
        "error": 0,
        "error_description": None,
    }


def _storage_format(output: Output) -> str:
    if output.kind == OutputKind.REPACK.value:
        return output.main_file.rpartition(".")[2] or output.kind
    return _STORAGE_FORMAT.get(output.kind, output.kind)


def media_url(base_url: str, prefix: str, path: str) -> str:
    return f"{base_url}/media/{media_token(prefix)}/{path}"


def _source_duration(outputs: list[Output]) -> float | None:
    durations = [o.report.get("duration") for o in outputs if o.report.get("duration")]
    return max(durations) if durations else None


def _warning(entry: object) -> dict[str, object]:
    if isinstance(entry, dict):
        return {
            "message": entry.get("message"),
            "details": entry.get("details"),
            "tag": entry.get("tag"),
        }
    return {"message": str(entry), "details": None, "tag": None}
