"""Real advanced_hls encodes with fmp4, single_folder and i_frames_only, read back with PyAV.

Each output is planned from a start_encode2 query, run with the real ffmpeg and verified by
``verify_output``; then the files are checked independently: fMP4 segments decode with their
init segment and start with a keyframe, single_folder leaves no sub-folders, and every
I-frame playlist range holds exactly one decodable keyframe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import pytest

from strongroom.media.errors import VerificationError
from strongroom.media.hls_playlist import parse_master, parse_media
from strongroom.media.planner import plan_job
from strongroom.media.qencode import parse_start_encode2_query
from strongroom.media.runner import Runner
from strongroom.media.verify import OutputReport, verify_output

pytestmark = pytest.mark.integration

LADDER = [{"resolution": 240, "bitrate": 300}, {"resolution": 120, "bitrate": 100}]


def plan_and_run(runner: Runner, job_dir: Path, **fields: Any) -> Any:
    fmt = {"output": "advanced_hls", "segment_duration": 1, "stream": LADDER, **fields}
    spec = parse_start_encode2_query(json.dumps(
        {"query": {"source": "tus:" + "c" * 32, "format": [fmt]}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=2)
    for command in plan.commands:
        runner.run(command, cwd=job_dir)
    return plan


def encode(runner: Runner, job_dir: Path, **fields: Any) -> OutputReport:
    plan = plan_and_run(runner, job_dir, **fields)
    return verify_output(runner, plan.outputs[0], job_dir)


def frames(data: bytes) -> list[tuple[bool, str]]:
    """(keyframe, codec) of every decoded video frame in ``data``."""
    import io

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        return [(frame.key_frame, stream.codec_context.name)
                for frame in container.decode(stream)]


def test_fmp4_writes_cmaf_segments_with_an_init_segment(runner: Runner, job_dir: Path) -> None:
    report = encode(runner, job_dir, fmp4=1)
    out = job_dir / "out0"
    master = parse_master((out / "playlist.m3u8").read_text())
    assert [v.uri for v in master.variants if v.resolution] == [
        "video_1/chunklist.m3u8", "video_2/chunklist.m3u8"]
    media = parse_media((out / "video_1" / "chunklist.m3u8").read_text())
    assert media.map_uri is not None and media.map_uri.endswith(".mp4")
    assert all(uri.endswith(".m4s") for uri, _ in media.segments)
    assert not any(path.suffix == ".ts" for path in out.rglob("*"))
    init = (out / "video_1" / media.map_uri).read_bytes()
    for uri, _ in media.segments:
        decoded = frames(init + (out / "video_1" / uri).read_bytes())
        assert decoded[0] == (True, "h264") and len(decoded) >= 25
    audio = parse_media((out / "audio" / "chunklist.m3u8").read_text())
    assert audio.map_uri is not None and audio.segments[0][0].endswith(".m4s")
    assert [(r["width"], r["height"]) for r in report.renditions] == [(320, 240), (160, 120)]


def test_single_folder_puts_every_rendition_beside_the_master(runner: Runner,
                                                              job_dir: Path) -> None:
    report = encode(runner, job_dir, single_folder=1)
    out = job_dir / "out0"
    assert not [path for path in out.iterdir() if path.is_dir()]
    names = {f.path for f in report.files}
    assert {"playlist.m3u8", "video_1.m3u8", "video_2.m3u8", "audio.m3u8",
            "video_1_segment_00000.ts", "video_2_segment_00000.ts",
            "audio_segment_00000.ts"} <= names
    master = parse_master((out / "playlist.m3u8").read_text())
    assert [m.uri for m in master.media] == ["audio.m3u8"]


@pytest.mark.parametrize("fields", [{}, {"fmp4": 1}, {"single_folder": 1, "fmp4": 1},
                                    {"separate_audio": 0}])
def test_i_frames_only_adds_a_trick_play_playlist_per_rendition(
        runner: Runner, job_dir: Path, fields: dict[str, Any]) -> None:
    report = encode(runner, job_dir, i_frames_only=1, **fields)
    out = job_dir / "out0"
    master = parse_master((out / "playlist.m3u8").read_text())
    flat = fields.get("single_folder")
    want = ["video_1_iframes.m3u8", "video_2_iframes.m3u8"] if flat else [
        "video_1/iframes.m3u8", "video_2/iframes.m3u8"]
    assert [v.uri for v in master.iframe_variants] == want
    assert [v.resolution for v in master.iframe_variants] == [(320, 240), (160, 120)]
    assert all(v.codecs and v.codecs.startswith("avc1") for v in master.iframe_variants)
    assert {"video_1/iframes.m3u8", "video_1_iframes.m3u8"} & {f.path for f in report.files}
    for uri in want:
        playlist = parse_media((out / uri).read_text())
        assert playlist.i_frames_only and playlist.ended and len(playlist.segments) == 2
        init = (out / uri).parent.joinpath(playlist.map_uri).read_bytes() if playlist.map_uri \
            else b""
        for (segment, seconds), byterange in zip(playlist.segments, playlist.byteranges,
                                                 strict=True):
            assert byterange is not None and byterange[1] == 0 and seconds > 0
            data = (out / uri).parent.joinpath(segment).read_bytes()
            assert byterange[0] < len(data)
            # The range alone (after the init segment) decodes to exactly one keyframe.
            assert frames(init + data[: byterange[0]]) == [(True, "h264")]


def test_verification_rebuilds_the_i_frame_entries_once(runner: Runner, job_dir: Path) -> None:
    plan = plan_and_run(runner, job_dir, i_frames_only=1)
    verify_output(runner, plan.outputs[0], job_dir)
    verify_output(runner, plan.outputs[0], job_dir)
    master = (job_dir / "out0" / "playlist.m3u8").read_text()
    assert master.count("#EXT-X-I-FRAME-STREAM-INF") == 2


def test_verification_catches_a_missing_init_segment(runner: Runner, job_dir: Path) -> None:
    plan = plan_and_run(runner, job_dir, fmp4=1)
    media = parse_media((job_dir / "out0" / "video_2" / "chunklist.m3u8").read_text())
    assert media.map_uri is not None
    (job_dir / "out0" / "video_2" / media.map_uri).unlink()
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)


def test_verification_catches_a_truncated_segment_behind_an_i_frame_range(
        runner: Runner, job_dir: Path) -> None:
    plan = plan_and_run(runner, job_dir, i_frames_only=1, single_folder=1)
    verify_output(runner, plan.outputs[0], job_dir)
    segment = job_dir / "out0" / "video_1_segment_00000.ts"
    segment.write_bytes(segment.read_bytes()[:376])
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)


def test_hevc_trick_play_playlists_name_only_the_video_codec(runner: Runner,
                                                            job_dir: Path) -> None:
    encode(runner, job_dir, fmp4=1, i_frames_only=1,
           stream=[{"video_codec": "libx265", "resolution": 240, "bitrate": 300}])
    master = parse_master((job_dir / "out0" / "playlist.m3u8").read_text())
    (iframes,) = master.iframe_variants
    assert iframes.codecs is not None and iframes.codecs.startswith("hvc1.")
    assert "mp4a" not in iframes.codecs
