"""Named presets for `strongroom transcode --preset` and the demo: plain Qencode format lists."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, list[dict[str, Any]]] = {
    "mp4": [
        {
            "output": "mp4",
            "video_codec": "libx264",
            "quality": 23,
            "audio_codec": "aac",
            "audio_bitrate": 128,
        }
    ],
    "hls": [
        {
            "output": "advanced_hls",
            "segment_duration": 2,
            "stream": [
                {"resolution": 720, "bitrate": 2800, "audio_bitrate": 128},
                {"resolution": 480, "bitrate": 1400, "audio_bitrate": 128},
                {"resolution": 360, "bitrate": 800, "audio_bitrate": 96},
            ],
        }
    ],
}
PRESETS["demo"] = PRESETS["mp4"] + PRESETS["hls"]


def preset_formats(name: str) -> list[dict[str, Any]]:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {', '.join(sorted(PRESETS))}")
    return [dict(entry) for entry in PRESETS[name]]
