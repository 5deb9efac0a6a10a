"""``python -I -m strongroom.media.probe_tool [options] FILE``: print ffprobe-style JSON.

The ffmpeg build we ship has no ffprobe, so this small program reads the file with PyAV and
prints ``{"format": {...}, "streams": [...]}`` with ffprobe's key names. It opens the file with
the same protocol, demuxer and decoder allowlists as ffmpeg, and the runner starts it like
ffmpeg (sandbox, rlimits, timeout), never inside the worker's own process: probing parses
hostile bytes too.

Exit status: 0 and JSON on stdout; 2 when the file can't be read as allowed media (a short
reason on stderr, without the path); 64 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import av

from strongroom.media.allowlists import POLICIES, InputPolicy

EXIT_UNREADABLE = 2
EXIT_USAGE = 64
_MAX_PACKETS_FOR_FIRST_FRAME = 500


def main(argv: Sequence[str] | None = None) -> int:
    """Probe the file named in ``argv`` and print its JSON description; return the exit code."""
    args = _parse_args(argv)
    if args is None:
        return EXIT_USAGE
    try:
        document = probe_file(
            args.file, policy=args.policy, max_streams=args.max_streams, max_pixels=args.max_pixels
        )
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        # The message may quote the path; keep only the error's kind for the logs.
        sys.stderr.write(f"probe failed: {type(exc).__name__}\n")
        return EXIT_UNREADABLE
    sys.stdout.write(json.dumps(document, sort_keys=True))
    return 0


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace | None:
    parser = argparse.ArgumentParser(prog="probe_tool", exit_on_error=False, add_help=False)
    parser.add_argument("--policy", type=InputPolicy, default=InputPolicy.UNTRUSTED)
    parser.add_argument("--max-streams", type=int, default=8)
    parser.add_argument("--max-pixels", type=int, default=35_000_000)
    parser.add_argument("file")
    try:
        return parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None


def probe_file(
    path: str, *, policy: InputPolicy, max_streams: int, max_pixels: int
) -> dict[str, Any]:
    """Open ``path`` under ``policy``'s allowlists and describe it like ffprobe would."""
    allow = POLICIES[policy]
    options = {
        "protocol_whitelist": allow.protocols,
        "format_whitelist": allow.formats,
        "max_streams": str(max_streams),
        "max_pixels": str(max_pixels),
    }
    if allow.codecs:
        options["codec_whitelist"] = allow.codecs
    with av.open(path, mode="r", options=options) as container:
        streams = [_describe_stream(stream) for stream in container.streams]
        _add_rotation(container, streams, options)
        return {"format": _describe_format(container), "streams": streams}


def _describe_format(container: av.container.InputContainer) -> dict[str, Any]:
    duration = container.duration
    return _drop_none(
        {
            "format_name": container.format.name,
            "nb_streams": len(container.streams),
            "duration": None if duration is None else f"{duration / 1_000_000:.6f}",
            "size": str(container.size),
            "bit_rate": str(container.bit_rate) if container.bit_rate else None,
            "tags": dict(container.metadata),
        }
    )


def _describe_stream(stream: av.stream.Stream) -> dict[str, Any]:
    context = stream.codec_context
    described: dict[str, Any] = {
        "index": stream.index,
        "codec_type": stream.type,
        "codec_name": stream.codec.name if context is not None else None,
        "profile": stream.profile,
        "duration": _seconds(stream.duration, stream.time_base),
        "nb_frames": str(stream.frames) if stream.frames else None,
        "tags": dict(stream.metadata),
        "disposition": {
            "attached_pic": int(bool(stream.disposition & stream.disposition.attached_pic))
        },
    }
    if context is not None and stream.type == "video":
        described.update(_describe_video(stream))
    elif context is not None and stream.type == "audio":
        described.update(_describe_audio(stream))
    return _drop_none(described)


def _describe_video(stream: Any) -> dict[str, Any]:
    context = stream.codec_context
    return {
        "width": context.width,
        "height": context.height,
        "pix_fmt": context.pix_fmt,
        "codec_tag_string": context.codec_tag or None,
        "avg_frame_rate": _ratio(stream.average_rate),
        "r_frame_rate": _ratio(stream.base_rate),
        "bit_rate": str(context.bit_rate) if context.bit_rate else None,
    }


def _describe_audio(stream: Any) -> dict[str, Any]:
    context = stream.codec_context
    return {
        "sample_rate": str(context.sample_rate),
        "channels": context.channels,
        "channel_layout": context.layout.name,
        "bit_rate": str(context.bit_rate) if context.bit_rate else None,
    }


def _add_rotation(container: Any, streams: list[dict[str, Any]], options: dict[str, str]) -> None:
    """Decode the first video frame to read its display rotation (PyAV only exposes it there).

    The decoder gets the same decoder allowlist and pixel cap as the demuxer. A file whose
    first frame won't decode is reported without rotation; the encode will find out.
    """
    video = next(
        (s for s in container.streams.video if not s.disposition & s.disposition.attached_pic), None
    )
    if video is None or video.codec_context is None:
        return
    video.codec_context.options = {
        key: value for key, value in options.items() if key in {"codec_whitelist", "max_pixels"}
    }
    rotation = _first_frame_rotation(container, video)
    if rotation is not None:
        streams[video.index]["side_data_list"] = [
            {"side_data_type": "Display Matrix", "rotation": rotation}
        ]


def _first_frame_rotation(container: Any, video: Any) -> int | None:
    try:
        for count, packet in enumerate(container.demux(video)):
            for frame in packet.decode():
                return int(frame.rotation)
            if count >= _MAX_PACKETS_FOR_FIRST_FRAME:
                return None
    except av.FFmpegError:
        return None
    return None


def _ratio(rate: Fraction | None) -> str:
    return "0/0" if not rate else f"{rate.numerator}/{rate.denominator}"


def _seconds(value: int | None, time_base: Fraction | None) -> str | None:
    if value is None or time_base is None:
        return None
    return f"{float(value * time_base):.6f}"


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


if __name__ == "__main__":
    sys.exit(main())
