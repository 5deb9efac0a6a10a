"""Real encodes of advanced_dash, webm_dash, hls_audio and repack outputs, checked with PyAV.

Each output is planned from a start_encode2 query, run with the real ffmpeg, verified by
``verify_output``, and then read back independently: the MPD with ``xml.etree``, every
representation's init segment plus its media segments with PyAV (codec, size, frame count,
duration), and every media segment on its own must start with a keyframe.
"""

from __future__ import annotations

import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import av
import pytest

from strongroom.media.errors import InputRejected, VerificationError
from strongroom.media.jobspec import OutputKind
from strongroom.media.planner import FfmpegCommand, InputFile, plan_job
from strongroom.media.qencode import parse_start_encode2_query
from strongroom.media.runner import Runner
from strongroom.media.verify import OutputReport, verify_output

pytestmark = pytest.mark.integration

NS = {"mpd": "urn:mpeg:dash:schema:mpd:2011"}
CLIP_SECONDS = 2.0
FPS = 30
LADDER = [{"resolution": 240, "bitrate": 300}, {"resolution": 120, "bitrate": 100}]


def plan_and_run(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> Any:
    spec = parse_start_encode2_query(json.dumps(
        {"query": {"source": "tus:" + "c" * 32, "format": list(formats)}}))
    plan = plan_job(spec, runner.probe(job_dir / "source"), threads=2)
    for command in plan.commands:
        runner.run(command, cwd=job_dir)
    return plan


def encode(runner: Runner, job_dir: Path, *formats: dict[str, Any]) -> list[OutputReport]:
    plan = plan_and_run(runner, job_dir, *formats)
    return [verify_output(runner, output, job_dir) for output in plan.outputs]


def representations(mpd: Path) -> list[ET.Element]:
    root = ET.parse(mpd).getroot()  # noqa: S314 - our own test output
    assert root.get("type") == "static"
    return root.findall("mpd:Period/mpd:AdaptationSet/mpd:Representation", NS)


def segments_of(out: Path, rep_id: str, ext: str) -> tuple[Path, list[Path]]:
    return out / f"init-{rep_id}.{ext}", sorted(out.glob(f"chunk-{rep_id}-*.{ext}"))


def decode_all(init: Path, chunks: list[Path]) -> tuple[str, str, int, int, float]:
    """(type, codec, width, frames, last frame time) of init + chunks read as one stream."""
    data = init.read_bytes() + b"".join(chunk.read_bytes() for chunk in chunks)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams[0]
        frames = list(container.decode(stream))
        width = getattr(stream.codec_context, "width", 0) or 0
        return stream.type, stream.codec_context.name, width, len(frames), float(frames[-1].time)


def starts_with_a_keyframe(init: Path, chunk: Path) -> bool:
    with av.open(io.BytesIO(init.read_bytes() + chunk.read_bytes())) as container:
        first = next(container.decode(video=0))
        return bool(first.key_frame)


def test_advanced_dash_writes_a_cmaf_ladder_that_decodes(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {"output": "advanced_dash", "segment_duration": 1,
                                         "stream": LADDER})
    out = job_dir / "out0"
    assert report.kind is OutputKind.ADVANCED_DASH and report.main_file == "playlist.mpd"
    reps = representations(out / "playlist.mpd")
    assert [(r.get("mimeType"), r.get("width"), r.get("height")) for r in reps] == [
        ("video/mp4", "320", "240"), ("video/mp4", "160", "120"), ("audio/mp4", None, None)]
    assert all(r.get("codecs", "").startswith(("avc1.", "mp4a.40.")) for r in reps)
    for rep_id, (kind, codec, width) in enumerate(
            [("video", "h264", 320), ("video", "h264", 160), ("audio", "aac", 0)]):
        init, chunks = segments_of(out, str(rep_id), "m4s")
        assert len(chunks) in (2, 3)  # 1 s segments of a 2 s clip (audio may spill over)
        got = decode_all(init, chunks)
        assert got[:3] == (kind, codec, width)
        assert got[4] == pytest.approx(CLIP_SECONDS, abs=0.1)
        if kind == "video":
            assert got[3] == CLIP_SECONDS * FPS
            assert all(starts_with_a_keyframe(init, chunk) for chunk in chunks)
    assert {f.path for f in report.files} >= {"playlist.mpd", "init-0.m4s", "chunk-1-00002.m4s"}
    assert not any(f.path.endswith(".m3u8") for f in report.files)
    assert [(r["width"], r["height"], r["video_codec"]) for r in report.renditions] == [
        (320, 240, "h264"), (160, 120, "h264")]
    assert report.duration == pytest.approx(CLIP_SECONDS, abs=0.1)


def test_a_ladder_whose_sizes_round_to_other_aspect_ratios_still_packages(
        runner: Runner, job_dir: Path) -> None:
    # 426x240 and 256x144 differ in aspect ratio after rounding to even pixels; the dash
    # muxer refuses that within one adaptation set unless the display aspect ratio is kept.
    wide = FfmpegCommand(inputs=(InputFile("source"),),
                         output_args=("-vf", "scale=426:240", "-c:v", "libx264", "-c:a", "copy",
                                      "-f", "mp4", "wide.mp4"), expected_duration=2.0)
    runner.run(wide, cwd=job_dir)
    (job_dir / "wide.mp4").replace(job_dir / "source")
    (report,) = encode(runner, job_dir, {"output": "advanced_dash",
                                         "stream": [{"resolution": 240}, {"resolution": 144}]})
    assert [(r["width"], r["height"]) for r in report.renditions] == [(426, 240), (256, 144)]


def test_create_m3u8_playlist_adds_an_hls_master_over_the_same_segments(
        runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {"output": "advanced_dash", "segment_duration": 1,
                                         "create_m3u8_playlist": 1,
                                         "playlist_name": "index.mpd", "stream": LADDER})
    out = job_dir / "out0"
    assert report.main_file == "index.mpd" and (out / "index.m3u8").is_file()
    master = (out / "index.m3u8").read_text()
    assert "RESOLUTION=320x240" in master and "RESOLUTION=160x120" in master
    assert 'TYPE=AUDIO' in master
    media = (out / "media_0.m3u8").read_text()
    assert '#EXT-X-MAP:URI="init-0.m4s"' in media and "chunk-0-00001.m4s" in media
    options = {"protocol_whitelist": "file", "format_whitelist": "hls,mov,mp4,m4a,3gp,3g2,mj2"}
    with av.open(str(out / "index.m3u8"), options=options) as container:
        kinds = sorted(s.type for s in container.streams)
        assert kinds.count("video") == 2 and kinds.count("audio") == 1


def test_webm_dash_writes_vp9_and_opus_webm_segments(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {"output": "webm_dash", "segment_duration": 1,
                                         "stream": [{"resolution": 240, "quality": 40},
                                                    {"resolution": 120, "bitrate": 100}]})
    out = job_dir / "out0"
    reps = representations(out / "playlist.mpd")
    assert [(r.get("mimeType"), r.get("codecs", "")[:4]) for r in reps] == [
        ("video/webm", "vp09"), ("video/webm", "vp09"), ("audio/webm", "opus")]
    for rep_id, (kind, codec) in enumerate([("video", "vp9"), ("video", "vp9"),
                                            ("audio", "opus")]):
        init, chunks = segments_of(out, str(rep_id), "webm")
        assert chunks
        got = decode_all(init, chunks)
        assert got[:2] == (kind, codec) and got[4] == pytest.approx(CLIP_SECONDS, abs=0.1)
        if kind == "video":
            assert got[3] == CLIP_SECONDS * FPS
    assert [r["video_codec"] for r in report.renditions] == ["vp9", "vp9"]
    assert report.renditions[0]["audio_codec"] == "opus"


def test_hls_audio_writes_an_audio_only_aac_rendition(runner: Runner, job_dir: Path) -> None:
    (report,) = encode(runner, job_dir, {"output": "hls_audio", "segment_duration": 1,
                                         "audio_bitrate": 64, "audio_channels_number": 1})
    assert report.kind is OutputKind.HLS_AUDIO and report.main_file == "playlist.m3u8"
    paths = {f.path for f in report.files}
    assert {"playlist.m3u8", "audio/chunklist.m3u8"} <= paths
    assert sum(p.startswith("audio/segment_") for p in paths) in (2, 3)
    options = {"protocol_whitelist": "file", "format_whitelist": "hls,mpegts"}
    with av.open(str(job_dir / "out0" / "playlist.m3u8"), options=options) as container:
        assert [(s.type, s.codec_context.name, s.codec_context.channels)
                for s in container.streams] == [("audio", "aac", 1)]
    assert (report.width, report.height, report.renditions[0]["audio_codec"]) == (0, 0, "aac")


def test_dash_verification_catches_a_missing_segment(runner: Runner, job_dir: Path) -> None:
    plan = plan_and_run(runner, job_dir, {"output": "advanced_dash", "segment_duration": 1,
                                          "stream": [{"resolution": 120}]})
    (job_dir / "out0" / "chunk-0-00002.m4s").unlink()
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)


def test_dash_verification_catches_a_damaged_segment(runner: Runner, job_dir: Path) -> None:
    # CMAF only: the WebM demuxer resyncs past damage without an error (see verify_dash).
    plan = plan_and_run(runner, job_dir, {"output": "advanced_dash", "segment_duration": 1,
                                          "stream": [{"resolution": 120}]})
    chunk = job_dir / "out0" / "chunk-0-00001.m4s"
    chunk.write_bytes(chunk.read_bytes()[:200] + b"\xff" * 2000)
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)


def test_dash_verification_catches_a_manifest_pointing_outside(runner: Runner,
                                                               job_dir: Path) -> None:
    plan = plan_and_run(runner, job_dir, {"output": "advanced_dash",
                                          "stream": [{"resolution": 120}]})
    mpd = job_dir / "out0" / "playlist.mpd"
    mpd.write_text(mpd.read_text().replace("init-$RepresentationID$", "../../source"))
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)


# ------------------------------------------------------------------ repack


@pytest.mark.parametrize(("extension", "demuxer"), [
    ("mp4", "mov,mp4,m4a,3gp,3g2,mj2"), ("mov", "mov,mp4,m4a,3gp,3g2,mj2"),
    ("mkv", "matroska,webm"), ("ts", "mpegts")])
def test_a_repack_copies_the_streams_into_another_container(
        runner: Runner, job_dir: Path, extension: str, demuxer: str) -> None:
    (report,) = encode(runner, job_dir, {"output": "repack", "file_extension": extension})
    assert report.main_file == f"video.{extension}"
    with av.open(str(job_dir / "out0" / report.main_file)) as container, \
            av.open(str(job_dir / "source")) as source:
        assert container.format.name == demuxer
        assert [(s.type, s.codec_context.name) for s in container.streams] == [
            (s.type, s.codec_context.name) for s in source.streams]
        # A copy, not an encode: the same video packets (mpegts adds Annex B start codes, so
        # compare their number and keyframe flags rather than their bytes).
        copied = [p.is_keyframe for p in container.demux(video=0) if p.size]
        original = [p.is_keyframe for p in source.demux(video=0) if p.size]
        assert copied == original
    assert report.renditions[0]["video_codec"] == "h264"


def test_repack_flags_leave_out_audio_and_metadata(runner: Runner, job_dir: Path) -> None:
    tagged = FfmpegCommand(inputs=(InputFile("source"),),
                           output_args=("-c", "copy", "-metadata", "title=holiday",
                                        "-f", "mp4", "tagged.mp4"), expected_duration=2.0)
    runner.run(tagged, cwd=job_dir)
    (job_dir / "tagged.mp4").replace(job_dir / "source")
    reports = encode(runner, job_dir,
                     {"output": "repack", "file_extension": "mkv", "audio_copy": 0,
                      "metadata_copy": 0},
                     {"output": "repack", "file_extension": "mkv"})
    with av.open(str(job_dir / "out0" / "video.mkv")) as stripped:
        assert [s.type for s in stripped.streams] == ["video"]
        assert "title" not in stripped.metadata
    with av.open(str(job_dir / "out1" / "video.mkv")) as kept:
        assert sorted(s.type for s in kept.streams) == ["audio", "video"]
        assert kept.metadata.get("title") == "holiday"
    assert reports[0].renditions[0]["audio_codec"] is None


def test_a_repack_refuses_a_source_its_container_cannot_hold(runner: Runner,
                                                             job_dir: Path) -> None:
    spec = parse_start_encode2_query(json.dumps({"query": {
        "source": "tus:" + "c" * 32, "format": [{"output": "repack", "file_extension": "webm"}]}}))
    with pytest.raises(InputRejected, match="h264 video can't be put in webm"):
        plan_job(spec, runner.probe(job_dir / "source"), threads=1)


def test_repack_verification_catches_a_lost_stream(runner: Runner, job_dir: Path,
                                                   tmp_path: Path) -> None:
    plan = plan_and_run(runner, job_dir, {"output": "repack", "file_extension": "mkv"})
    video_only = FfmpegCommand(inputs=(InputFile("out0/video.mkv"),),
                               output_args=("-map", "0:v", "-c", "copy", "-f", "matroska",
                                            "v.mkv"), expected_duration=2.0)
    runner.run(video_only, cwd=job_dir)
    shutil.move(job_dir / "v.mkv", job_dir / "out0" / "video.mkv")
    with pytest.raises(VerificationError):
        verify_output(runner, plan.outputs[0], job_dir)
