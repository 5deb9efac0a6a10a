"""I-frames-only playlists (trick play) for an advanced_hls output with ``i_frames_only``.

ffmpeg's hls muxer can't write these beside the normal playlists: its ``iframes_only`` flag
turns the rendition's own playlist into one. So after the encode, for every video rendition,
we write an ``#EXT-X-I-FRAMES-ONLY`` playlist over the same segments and list it in the master
with ``#EXT-X-I-FRAME-STREAM-INF`` (RFC 8216 4.3.3.6, 4.3.4.3).

Every segment starts with a keyframe (the planner forces one on each boundary), so the
playlist has one entry per segment: a byte range from the segment's start (the TS tables, or
the fMP4 ``moof`` box) to the end of that first video frame, lasting the segment's duration.
Finding that end needs only the container's framing, which we read here rather than through
a library: a demuxer (PyAV/ffmpeg) reports where a frame's data starts but not where its MPEG-TS
packets end, and can't read an fMP4 fragment without its init segment. For MPEG-TS the end is
the first 188-byte packet of the next video PES; for fMP4 the first sample size in the video
track's ``trun`` box (the track id comes from the init segment). These are our own files, read
strictly and bounded; anything unexpected is a ``VerificationError``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path

from strongroom.media.errors import VerificationError
from strongroom.media.hls_layout import HlsLayout, video_name
from strongroom.media.hls_playlist import MasterPlaylist, Variant, parse_master, parse_media
from strongroom.media.output_report import read_small_text

MAX_SEGMENT_BYTES = 256 << 20
_TS_PACKET = 188
_TS_VIDEO_TYPES = frozenset({0x01, 0x02, 0x1B, 0x24})  # MPEG-1/2, H.264, HEVC


def _bad(problem: str) -> VerificationError:
    return VerificationError("an HLS segment could not be indexed", detail=problem)


def write_iframe_playlists(out_dir: Path, master_name: str, layout: HlsLayout, count: int) -> None:
    """Write the I-frame playlist of video renditions 1..``count`` and list them in the master."""
    master_path = out_dir / master_name
    master_text = read_small_text(master_path)
    variants = {variant.uri: variant for variant in parse_master(master_text).variants}
    lines = []
    for number in range(1, count + 1):
        name = video_name(number)
        variant = variants.get(layout.playlist(name))
        if variant is None:
            raise _bad(f"the master does not list {name}")
        bandwidth = _write_one(out_dir, layout, name)
        lines.append(_stream_inf(variant, bandwidth, layout.iframes(name)))
    # A retried verification must not list the playlists twice: drop earlier entries first.
    kept = [x for x in master_text.splitlines() if not x.startswith("#EXT-X-I-FRAME-STREAM-INF")]
    master_path.write_text("\n".join(kept).rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")


def _write_one(out_dir: Path, layout: HlsLayout, name: str) -> int:
    """Write ``name``'s I-frame playlist; return its peak bandwidth in bits per second."""
    chunklist = out_dir / layout.playlist(name)
    media = parse_media(read_small_text(chunklist))
    folder = chunklist.parent
    track = video_track_id(_read(folder / media.map_uri)) if media.map_uri else None
    entries = []
    for uri, seconds in media.segments:
        data = _read(folder / uri)
        end = fmp4_first_frame_end(data, track) if track is not None else ts_first_frame_end(data)
        entries.append((uri, seconds, end))
    (out_dir / layout.iframes(name)).write_text(iframe_playlist(entries, media.map_uri))
    return max(math.ceil(end * 8 / max(seconds, 0.001)) for _, seconds, end in entries)


def check_iframe_playlists(
    out_dir: Path, master: MasterPlaylist, layout: HlsLayout, count: int
) -> None:
    """Read back the I-frame playlists: one per video rendition, each range inside its segment."""
    want = [layout.iframes(video_name(number)) for number in range(1, count + 1)]
    if [variant.uri for variant in master.iframe_variants] != want:
        raise _bad(f"the master lists I-frame playlists {[v.uri for v in master.iframe_variants]}")
    for uri in want:
        playlist_path = out_dir / uri
        media = parse_media(read_small_text(playlist_path))
        if not (media.i_frames_only and media.ended and media.segments):
            raise _bad(f"{uri} is not a complete I-frames-only playlist")
        for (segment, _), byterange in zip(media.segments, media.byteranges, strict=True):
            path = playlist_path.parent / segment
            if byterange is None or not path.is_file() or sum(byterange) > path.stat().st_size:
                raise _bad(f"{uri} has a range outside its segment")


def iframe_playlist(entries: list[tuple[str, float, int]], map_uri: str | None) -> str:
    """The playlist text for ``(segment uri, seconds, bytes of its first frame)`` entries."""
    target = max(1, math.ceil(max(seconds for _, seconds, _ in entries)))
    # Byte ranges need version 4; an init segment in an I-frame playlist needs 5.
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{5 if map_uri else 4}"]
    lines += [f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines += ["#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-I-FRAMES-ONLY"]
    if map_uri:
        lines.append(f'#EXT-X-MAP:URI="{map_uri}"')
    for uri, seconds, length in entries:
        lines += [f"#EXTINF:{seconds:.6f},", f"#EXT-X-BYTERANGE:{length}@0", uri]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def _stream_inf(variant: Variant, bandwidth: int, uri: str) -> str:
    attrs = [f"BANDWIDTH={bandwidth}"]
    if variant.resolution is not None:
        attrs.append(f"RESOLUTION={variant.resolution[0]}x{variant.resolution[1]}")
    video = [c for c in (variant.codecs or "").split(",") if c and not c.startswith("mp4a")]
    if video:
        attrs.append(f'CODECS="{",".join(video)}"')
    return f'#EXT-X-I-FRAME-STREAM-INF:{",".join(attrs)},URI="{uri}"'


def _read(path: Path) -> bytes:
    if path.is_symlink() or not path.is_file():
        raise _bad("a segment is missing")
    if path.stat().st_size > MAX_SEGMENT_BYTES:
        raise _bad("a segment is too large to index")
    return path.read_bytes()


# ----------------------------------------------------------------------- MPEG-TS


def ts_first_frame_end(data: bytes) -> int:
    """Bytes from the start of a TS segment to the end of its first video frame."""
    try:
        return _ts_first_frame_end(data)
    except (IndexError, struct.error):
        raise _bad("a TS table is truncated") from None


def _ts_first_frame_end(data: bytes) -> int:
    pmt_pid: int | None = None
    video_pid: int | None = None
    started = False
    for offset in range(0, len(data) - _TS_PACKET + 1, _TS_PACKET):
        pid, start, payload = _ts_packet(data, offset)
        if pid == 0 and start:
            pmt_pid = _pat_pmt_pid(payload)
        elif pid == pmt_pid and start:
            video_pid = _pmt_video_pid(payload)
        elif pid == video_pid and start:
            if started:
                return offset
            started = True
    if not started:
        raise _bad("a TS segment has no video")
    return len(data) - len(data) % _TS_PACKET


def _ts_packet(data: bytes, offset: int) -> tuple[int, bool, bytes]:
    packet = data[offset : offset + _TS_PACKET]
    if packet[0] != 0x47:
        raise _bad("lost TS sync")
    pid = ((packet[1] & 0x1F) << 8) | packet[2]
    start = bool(packet[1] & 0x40)
    body = 4 + (1 + packet[4] if packet[3] & 0x20 else 0)
    return pid, start, packet[body:] if packet[3] & 0x10 else b""


def _section(payload: bytes) -> bytes:
    if not payload:
        raise _bad("empty TS table")
    table = payload[1 + payload[0] :]  # skip the pointer field
    length = ((table[1] & 0x0F) << 8) | table[2] if len(table) > 2 else 0
    if length < 9 or 3 + length > len(table):
        raise _bad("bad TS table")
    return table[: 3 + length - 4]  # without the CRC


def _pat_pmt_pid(payload: bytes) -> int:
    table = _section(payload)
    for at in range(8, len(table) - 3, 4):
        program = (table[at] << 8) | table[at + 1]
        if program != 0:
            return ((table[at + 2] & 0x1F) << 8) | table[at + 3]
    raise _bad("the PAT lists no program")


def _pmt_video_pid(payload: bytes) -> int | None:
    table = _section(payload)
    at = 12 + (((table[10] & 0x0F) << 8) | table[11])
    while at + 5 <= len(table):
        stream_type, pid = table[at], ((table[at + 1] & 0x1F) << 8) | table[at + 2]
        if stream_type in _TS_VIDEO_TYPES:
            return pid
        at += 5 + (((table[at + 3] & 0x0F) << 8) | table[at + 4])
    return None


# -------------------------------------------------------------------------- fMP4


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box start, body start, box end) of each box in ``data[start:end]``."""
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1 and at + 16 <= end:
            size, header = struct.unpack_from(">Q", data, at + 8)[0], 16
        if size < header or at + size > end:
            raise _bad("bad MP4 box size")
        yield kind, at, at + header, at + size
        at += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> Iterator[tuple[int, int]]:
    for found, _, body, box_end in _boxes(data, start, end):
        if found == kind:
            yield body, box_end


def video_track_id(init: bytes) -> int:
    """The track id of the first video track in an fMP4 init segment."""
    try:
        return _video_track_id(init)
    except (IndexError, struct.error):
        raise _bad("an init segment box is truncated") from None


def _video_track_id(init: bytes) -> int:
    for moov, moov_end in _child(init, 0, len(init), b"moov"):
        for trak, trak_end in _child(init, moov, moov_end, b"trak"):
            handler = _handler(init, trak, trak_end)
            for tkhd, _ in _child(init, trak, trak_end, b"tkhd"):
                at = tkhd + (20 if init[tkhd] == 1 else 12)
                if handler == b"vide":
                    return int(struct.unpack_from(">I", init, at)[0])
    raise _bad("the init segment has no video track")


def _handler(data: bytes, trak: int, trak_end: int) -> bytes | None:
    for mdia, mdia_end in _child(data, trak, trak_end, b"mdia"):
        for hdlr, _ in _child(data, mdia, mdia_end, b"hdlr"):
            return data[hdlr + 8 : hdlr + 12]
    return None


def fmp4_first_frame_end(data: bytes, track: int) -> int:
    """Bytes from the start of an fMP4 segment to the end of ``track``'s first sample."""
    try:
        return _fmp4_first_frame_end(data, track)
    except (IndexError, struct.error):
        raise _bad("an fMP4 box is truncated") from None


def _fmp4_first_frame_end(data: bytes, track: int) -> int:
    moofs = (
        (at, body, end) for kind, at, body, end in _boxes(data, 0, len(data)) if kind == b"moof"
    )
    for moof_start, moof, moof_end in moofs:
        for traf, traf_end in _child(data, moof, moof_end, b"traf"):
            end = _traf_first_sample_end(data, traf, traf_end, moof_start, track)
            if end is not None:
                if end > len(data):
                    raise _bad("an fMP4 sample lies beyond the segment")
                return end
        break  # Only the segment's first fragment starts with the keyframe.
    raise _bad("an fMP4 segment has no video fragment")


def _traf_first_sample_end(
    data: bytes, traf: int, traf_end: int, moof_start: int, track: int
) -> int | None:
    tfhd = next(_child(data, traf, traf_end, b"tfhd"), None)
    if tfhd is None:
        raise _bad("a traf box has no tfhd")
    flags = int.from_bytes(data[tfhd[0] + 1 : tfhd[0] + 4], "big")
    if struct.unpack_from(">I", data, tfhd[0] + 4)[0] != track:
        return None
    at = tfhd[0] + 8
    base = moof_start
    if flags & 0x01:
        base, at = struct.unpack_from(">Q", data, at)[0], at + 8
    at += 4 if flags & 0x02 else 0
    at += 4 if flags & 0x08 else 0
    default_size = struct.unpack_from(">I", data, at)[0] if flags & 0x10 else None
    trun = next(_child(data, traf, traf_end, b"trun"), None)
    if trun is None:
        raise _bad("a traf box has no trun")
    return base + _trun_first_sample(data, trun[0], default_size)


def _trun_first_sample(data: bytes, trun: int, default_size: int | None) -> int:
    """data offset + size of a trun box's first sample."""
    flags = int.from_bytes(data[trun + 1 : trun + 4], "big")
    if not flags & 0x01 or struct.unpack_from(">I", data, trun + 4)[0] == 0:
        raise _bad("a trun box has no data offset or no samples")
    offset = struct.unpack_from(">i", data, trun + 8)[0]
    at = trun + 12 + (4 if flags & 0x04 else 0) + (4 if flags & 0x100 else 0)
    size = struct.unpack_from(">I", data, at)[0] if flags & 0x200 else default_size
    if size is None or offset < 0:
        raise _bad("a trun box has no sample size")
    return int(offset + size)
