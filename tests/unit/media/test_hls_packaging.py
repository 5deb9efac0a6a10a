"""advanced_hls fmp4 / single_folder / i_frames_only: query parsing (and attempts to break
each rule), the planned hls muxer arguments, and the I-frame playlist writer's readers."""

from __future__ import annotations

import contextlib
import struct
from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.media.errors import VerificationError
from strongroom.media.hls_iframes import (
    fmp4_first_frame_end,
    iframe_playlist,
    ts_first_frame_end,
    video_track_id,
)
from strongroom.media.hls_layout import HlsLayout
from strongroom.media.hls_playlist import parse_media
from strongroom.media.jobspec import JobSpec, OutputSpec
from strongroom.media.planner import plan_job
from strongroom.media.probe import AudioStreamInfo, MediaInfo, VideoStreamInfo
from strongroom.media.qencode import parse_start_encode2_query
from tests.unit.media.one_output import query, refused

STREAMS = [{"resolution": 720, "bitrate": 2800}, {"resolution": 360, "bitrate": 800}]


def parsed(**fields: Any) -> OutputSpec:
    (spec,) = parse_start_encode2_query(query("advanced_hls", stream=STREAMS, **fields)).outputs
    return spec


# ------------------------------------------------------------------ parsing


def test_the_packaging_flags_default_to_ts_in_folders_without_trick_play() -> None:
    output = parsed()
    assert (output.fmp4, output.single_folder, output.i_frames_only) == (False, False, False)


@pytest.mark.parametrize("value", [1, "1", True])
def test_it_reads_each_packaging_flag(value: Any) -> None:
    output = parsed(fmp4=value, single_folder=value, i_frames_only=value)
    assert (output.fmp4, output.single_folder, output.i_frames_only) == (True, True, True)


@pytest.mark.parametrize("value", [0, "0", False])
def test_it_reads_each_flag_off(value: Any) -> None:
    output = parsed(fmp4=value, single_folder=value, i_frames_only=value)
    assert not (output.fmp4 or output.single_folder or output.i_frames_only)


@pytest.mark.parametrize(
    ("output", "fields", "field", "message"),
    [
        ("advanced_hls", {"fmp4": 2}, "fmp4", "must be 0 or 1"),
        ("advanced_hls", {"fmp4": "yes"}, "fmp4", "must be 0 or 1"),
        ("advanced_hls", {"fmp4": 1.0}, "fmp4", "must be 0 or 1"),
        ("advanced_hls", {"single_folder": None}, "single_folder", "must be 0 or 1"),
        ("advanced_hls", {"single_folder": [1]}, "single_folder", "must be 0 or 1"),
        ("advanced_hls", {"i_frames_only": -1}, "i_frames_only", "must be 0 or 1"),
        ("advanced_hls", {"i_frames_only": "true"}, "i_frames_only", "must be 0 or 1"),
        ("advanced_dash", {"fmp4": 1}, "fmp4", "advanced_hls outputs only"),
        ("advanced_dash", {"single_folder": 0}, "single_folder", "advanced_hls outputs only"),
        ("webm_dash", {"i_frames_only": 1}, "i_frames_only", "advanced_hls outputs only"),
    ],
)
def test_it_refuses_bad_packaging_flags_on_ladders(
    output: str, fields: dict[str, Any], field: str, message: str
) -> None:
    error = refused(output, stream=[{}], **fields)
    assert error.field == f"format[0].{field}" and message in error.message


@pytest.mark.parametrize("output", ["mp4", "webm", "hls_audio", "mp3", "repack", "gif"])
@pytest.mark.parametrize("flag", ["fmp4", "single_folder", "i_frames_only"])
def test_it_refuses_the_flags_on_other_kinds(output: str, flag: str) -> None:
    error = refused(output, **{flag: 1})
    assert error.field == f"format[0].{flag}"
    assert "advanced_hls outputs only" in error.message


@pytest.mark.parametrize("flag", ["fmp4", "single_folder", "i_frames_only"])
def test_it_refuses_the_flags_on_a_stream_entry(flag: str) -> None:
    error = refused("advanced_hls", stream=[{"resolution": 360, flag: 1}])
    assert error.field == f"format[0].stream[0].{flag}"
    assert "must be set on the format" in error.message


@pytest.mark.parametrize(
    "name",
    ["video_1.m3u8", "video_12.m3u8", "audio.m3u8", "video_2_iframes.m3u8", "audio_iframes.m3u8"],
)
def test_single_folder_refuses_a_master_named_like_a_rendition_playlist(name: str) -> None:
    error = refused("advanced_hls", stream=STREAMS, single_folder=1, playlist_name=name)
    assert error.field == "format[0].playlist_name"
    assert "rendition playlist" in error.message
    # Without single_folder the renditions live in sub-folders: no clash.
    assert parsed(playlist_name=name).manifest_name == name


@pytest.mark.parametrize("name", ["master.m3u8", "video.m3u8", "video_1a.m3u8", "audio1.m3u8"])
def test_single_folder_accepts_other_master_names(name: str) -> None:
    assert parsed(single_folder=1, playlist_name=name).manifest_name == name


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "advanced_dash", "fmp4": True},
        {"kind": "mp4", "single_folder": True},
        {"kind": "hls_audio", "i_frames_only": True},
        {"kind": "advanced_hls", "single_folder": True, "playlist_name": "audio.m3u8"},
    ],
)
def test_the_model_refuses_what_the_parser_refuses(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OutputSpec.model_validate({"index": 0, "renditions": [{}], **fields})


# ------------------------------------------------------------------ planning

VIDEO = VideoStreamInfo(
    codec="h264", width=1280, height=720, fps=30.0, pix_fmt="yuv420p", rotation=0
)
AUDIO = AudioStreamInfo(codec="aac", sample_rate=48000, channels=2)
MEDIA = MediaInfo(
    format_name="mov,mp4",
    duration=20.0,
    size=1_000_000,
    bit_rate=400_000,
    video=VIDEO,
    audio=AUDIO,
    stream_count=2,
)


def hls_args(**fields: Any) -> tuple[str, ...]:
    spec = JobSpec.model_validate(
        {
            "source": "tus:" + "a" * 32,
            "outputs": [{"index": 0, "kind": "advanced_hls", "renditions": STREAMS, **fields}],
        }
    )
    (command,) = plan_job(spec, MEDIA, threads=2).commands
    args = command.output_args
    return args[args.index("hls") - 1 :]


STREAM_MAP = (
    "v:0,agroup:audio,name:video_1 v:1,agroup:audio,name:video_2 a:0,agroup:audio,name:audio"
)


def test_the_default_layout_is_ts_segments_in_one_folder_per_rendition() -> None:
    assert hls_args() == (
        "-f",
        "hls",
        "-hls_time",
        "9",
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        "out0/%v/segment_%05d.ts",
        "-master_pl_name",
        "playlist.m3u8",
        "-var_stream_map",
        STREAM_MAP,
        "out0/%v/chunklist.m3u8",
    )


def test_fmp4_asks_for_fragmented_mp4_segments_and_an_init_segment() -> None:
    args = hls_args(fmp4=True)
    assert args[args.index("-hls_segment_type") + 1] == "fmp4"
    assert args[args.index("-hls_fmp4_init_filename") + 1] == "init.mp4"
    assert args[args.index("-hls_segment_filename") + 1] == "out0/%v/segment_%05d.m4s"
    assert args[-1] == "out0/%v/chunklist.m3u8"


def test_single_folder_prefixes_every_file_with_the_rendition_name() -> None:
    args = hls_args(single_folder=True, fmp4=True)
    assert args[args.index("-hls_fmp4_init_filename") + 1] == "%v_init.mp4"
    assert args[args.index("-hls_segment_filename") + 1] == "out0/%v_segment_%05d.m4s"
    assert args[-1] == "out0/%v.m3u8"
    assert args[args.index("-var_stream_map") + 1] == STREAM_MAP


def test_the_planned_output_carries_the_layout_for_verification() -> None:
    spec = JobSpec.model_validate(
        {
            "source": "tus:" + "a" * 32,
            "outputs": [
                {"index": 0, "kind": "advanced_hls", "renditions": STREAMS, "i_frames_only": True},
                {"index": 1, "kind": "mp4", "renditions": [{}]},
            ],
        }
    )
    hls, mp4 = plan_job(spec, MEDIA, threads=2).outputs
    assert hls.hls == HlsLayout(i_frames_only=True) and mp4.hls is None
    # ffmpeg's own iframes_only flag would turn the normal playlists into I-frame ones.
    assert "iframes_only" not in " ".join(plan_job(spec, MEDIA, threads=2).commands[0].output_args)


def test_the_layout_names_every_file() -> None:
    flat, nested = HlsLayout(single_folder=True, fmp4=True), HlsLayout()
    assert (flat.playlist("video_1"), nested.playlist("video_1")) == (
        "video_1.m3u8",
        "video_1/chunklist.m3u8",
    )
    assert (flat.iframes("video_2"), nested.iframes("video_2")) == (
        "video_2_iframes.m3u8",
        "video_2/iframes.m3u8",
    )
    assert (flat.segments("audio"), nested.segments("audio")) == (
        "audio_segment_%05d.m4s",
        "audio/segment_%05d.ts",
    )


# ------------------------------------------------------------------ I-frame playlists


def test_an_iframe_playlist_lists_one_byte_range_per_segment() -> None:
    text = iframe_playlist([("s0.m4s", 2.0, 900), ("s1.m4s", 1.5, 800)], "init_0.mp4")
    playlist = parse_media(text)
    assert playlist.i_frames_only and playlist.ended and playlist.map_uri == "init_0.mp4"
    assert playlist.byteranges == ((900, 0), (800, 0))
    assert "#EXT-X-VERSION:5" in text and "#EXT-X-TARGETDURATION:2" in text
    assert "#EXT-X-VERSION:4" in iframe_playlist([("s0.ts", 2.0, 900)], None)


def ts_packet(pid: int, start: bool, payload: bytes) -> bytes:
    header = bytes([0x47, (0x40 if start else 0) | (pid >> 8), pid & 0xFF, 0x10])
    return header + payload.ljust(184, b"\xff")


def section(table_id: int, body: bytes) -> bytes:
    length = len(body) + 5 + 4  # table id ext, version, section numbers, CRC
    return (
        b"\x00"
        + bytes([table_id, 0xB0 | (length >> 8), length & 0xFF])
        + b"\x00\x01\xc1\x00\x00"
        + body
        + b"\x00\x00\x00\x00"
    )


PAT = ts_packet(0, True, section(0x00, b"\x00\x01\xf0\x00"))  # program 1 -> PMT pid 0x1000
PMT = ts_packet(
    0x1000,
    True,
    section(0x02, b"\xe1\x00\xf0\x00" + b"\x0f\xe1\x01\xf0\x00" + b"\x1b\xe1\x00\xf0\x00"),
)  # aac 0x101, h264 0x100


def test_ts_first_frame_ends_where_the_next_video_pes_starts() -> None:
    video = [
        ts_packet(0x100, True, b"key"),
        ts_packet(0x101, True, b"aac"),
        ts_packet(0x100, False, b"more"),
        ts_packet(0x100, True, b"next"),
    ]
    data = PAT + PMT + b"".join(video)
    assert ts_first_frame_end(data) == 5 * 188
    # A segment holding one frame: the whole segment.
    assert ts_first_frame_end(PAT + PMT + video[0]) == 3 * 188


@pytest.mark.parametrize(
    "data",
    [
        b"",
        PAT + PMT,  # no video at all
        PAT + PMT[:1] + b"\x00" + PMT[2:],  # PMT pid changed: video never found
        b"\x48" + PAT[1:] + PMT,  # lost sync
        ts_packet(0, True, b"\x00\x00\xb0\x05") + PMT,  # PAT section too short
    ],
)
def test_ts_indexing_refuses_what_it_does_not_understand(data: bytes) -> None:
    with pytest.raises(VerificationError):
        ts_first_frame_end(data + ts_packet(0x100, False, b"x"))


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def init_segment(tracks: list[tuple[int, bytes]]) -> bytes:
    traks = b"".join(
        box(
            b"trak",
            box(b"tkhd", b"\x00\x00\x00\x03" + b"\x00" * 8 + struct.pack(">I", tid))
            + box(b"mdia", box(b"hdlr", b"\x00" * 8 + handler)),
        )
        for tid, handler in tracks
    )
    return box(b"ftyp", b"iso6") + box(b"moov", traks)


def media_segment(sizes: dict[int, int]) -> bytes:
    def traf(tid: int, size: int, offset: int) -> bytes:
        tfhd = box(b"tfhd", b"\x02\x00\x00" + b"\x00" + struct.pack(">I", tid))  # base is moof
        trun = box(
            b"trun", b"\x00\x00\x02\x01" + struct.pack(">Ii", 1, offset) + struct.pack(">I", size)
        )
        return box(b"traf", tfhd + trun)

    trafs_len = sum(len(traf(t, s, 0)) for t, s in sizes.items())
    start = 8 + trafs_len + 8  # moof header, trafs, mdat header
    trafs, offset = b"", start
    for tid, size in sizes.items():
        trafs += traf(tid, size, offset)
        offset += size
    return box(b"moof", trafs) + box(b"mdat", b"\x00" * sum(sizes.values()))


def test_fmp4_first_frame_end_follows_the_video_track() -> None:
    assert video_track_id(init_segment([(2, b"soun"), (1, b"vide")])) == 1
    segment = media_segment({2: 300, 1: 1000})  # audio samples first, then the key frame
    moof_len = len(segment) - 8 - 1300
    assert fmp4_first_frame_end(segment, 1) == moof_len + 8 + 300 + 1000
    assert fmp4_first_frame_end(segment, 2) == moof_len + 8 + 300


@pytest.mark.parametrize(
    "segment",
    [
        b"",
        box(b"mdat", b"\x00" * 10),  # no moof
        media_segment({1: 1000})[:-1],  # sample beyond the end
        struct.pack(">I4s", 4, b"moof"),  # box smaller than its header
        struct.pack(">I4s", 4000, b"moof") + b"\x00" * 10,  # box larger than the file
        media_segment({3: 1000}),  # no fragment of the video track
    ],
)
def test_fmp4_indexing_refuses_what_it_does_not_understand(segment: bytes) -> None:
    with pytest.raises(VerificationError):
        fmp4_first_frame_end(segment, 1)


def test_an_init_segment_without_video_is_refused() -> None:
    with pytest.raises(VerificationError):
        video_track_id(init_segment([(1, b"soun")]))


@pytest.mark.parametrize(
    "line",
    [
        "#EXT-X-BYTERANGE:100",
        "#EXT-X-BYTERANGE:x@0",
        "#EXT-X-BYTERANGE:-1@0",
        "#EXT-X-BYTERANGE:" + "9" * 30 + "@0",
    ],
)
def test_the_playlist_reader_refuses_byte_ranges_we_never_write(line: str) -> None:
    with pytest.raises(VerificationError):
        parse_media(f"#EXTM3U\n#EXTINF:1.0,\n{line}\ns.ts\n#EXT-X-ENDLIST\n")


def test_the_playlist_reader_refuses_an_init_segment_outside_the_folder() -> None:
    with pytest.raises(VerificationError):
        parse_media('#EXTM3U\n#EXT-X-MAP:URI="../init.mp4"\n#EXTINF:1.0,\ns.m4s\n')


def test_every_truncation_of_a_segment_is_refused_cleanly() -> None:
    ts = PAT + PMT + ts_packet(0x100, True, b"key")
    fmp4 = media_segment({1: 50})
    init = init_segment([(1, b"vide")])
    # Any other exception (IndexError, struct.error...) fails the test.
    for cut in range(len(fmp4)):
        with contextlib.suppress(VerificationError):
            assert 0 < fmp4_first_frame_end(fmp4[:cut], 1) <= cut
    for cut in range(len(init)):
        with contextlib.suppress(VerificationError):
            video_track_id(init[:cut])
    for at in range(0, 3 * 188):
        # Corrupt one byte at a time: either an answer within the data or a clean refusal.
        broken = ts[:at] + bytes([ts[at] ^ 0xFF]) + ts[at + 1 :]
        with contextlib.suppress(VerificationError):
            assert 0 < ts_first_frame_end(broken) <= len(broken)
