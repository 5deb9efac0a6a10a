"""Read the HLS playlists our own encodes wrote (the RFC 8216 subset ffmpeg's hls muxer uses).

Written here rather than taken from a library: verification only needs the variant list, the
audio group and the segment list of playlists we produced ourselves, and a strict reader that
refuses anything unexpected (absolute or parent-relative URIs, missing #EXTM3U) is a few dozen
lines, where a general parser would accept far more than we want.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from strongroom.media.errors import VerificationError

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True)
class Variant:
    """One ``#EXT-X-STREAM-INF`` entry."""

    uri: str
    bandwidth: int
    resolution: tuple[int, int] | None
    audio_group: str | None
    codecs: str | None = None


@dataclass(frozen=True)
class MediaRendition:
    """One ``#EXT-X-MEDIA`` entry (we only write TYPE=AUDIO)."""

    kind: str
    group_id: str
    uri: str | None


@dataclass(frozen=True)
class MasterPlaylist:
    """A multivariant playlist; ``iframe_variants`` are its ``#EXT-X-I-FRAME-STREAM-INF``."""

    variants: tuple[Variant, ...]
    media: tuple[MediaRendition, ...]
    iframe_variants: tuple[Variant, ...] = ()


@dataclass(frozen=True)
class MediaPlaylist:
    """A media (chunk) playlist: segment URIs with their ``#EXTINF`` durations.

    ``byteranges`` holds each segment's ``#EXT-X-BYTERANGE`` as (length, offset), or None;
    ``map_uri`` is the ``#EXT-X-MAP`` init segment (fMP4) and ``i_frames_only`` marks a
    trick-play playlist.
    """

    segments: tuple[tuple[str, float], ...]
    ended: bool
    byteranges: tuple[tuple[int, int] | None, ...] = ()
    map_uri: str | None = None
    i_frames_only: bool = False

    @property
    def duration(self) -> float:
        """Sum of the segment durations in seconds."""
        return sum(seconds for _, seconds in self.segments)


def _bad(problem: str) -> VerificationError:
    return VerificationError("an HLS playlist is malformed", detail=problem)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise _bad("missing #EXTM3U")
    return lines[1:]


def attributes(text: str) -> dict[str, str]:
    """Parse an attribute list (``A=1,B="x,y"``) into a dict with quotes removed."""
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(text)}


def check_uri(uri: str) -> str:
    """Return ``uri`` if it is a plain relative path inside the playlist's folder tree."""
    parts = uri.split("/")
    if (
        not uri
        or ":" in uri
        or uri.startswith("/")
        or "\\" in uri
        or "?" in uri
        or any(part in {"", ".", ".."} for part in parts)
    ):
        raise _bad(f"unsafe URI {uri[:80]!r}")
    return uri


def parse_master(text: str) -> MasterPlaylist:
    """Parse a master playlist; raise ``VerificationError`` if it is malformed."""
    variants: list[Variant] = []
    media: list[MediaRendition] = []
    iframes: list[Variant] = []
    pending: dict[str, str] | None = None
    for line in _lines(text):
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = attributes(line.partition(":")[2])
        elif line.startswith("#EXT-X-I-FRAME-STREAM-INF:"):
            found = attributes(line.partition(":")[2])
            iframes.append(_variant(found, check_uri(found.get("URI", ""))))
        elif line.startswith("#EXT-X-MEDIA:"):
            media.append(_media(attributes(line.partition(":")[2])))
        elif not line.startswith("#"):
            if pending is None:
                raise _bad("URI without #EXT-X-STREAM-INF")
            variants.append(_variant(pending, check_uri(line)))
            pending = None
    return MasterPlaylist(
        variants=tuple(variants), media=tuple(media), iframe_variants=tuple(iframes)
    )


def _variant(attrs: dict[str, str], uri: str) -> Variant:
    bandwidth = attrs.get("BANDWIDTH", "")
    if not bandwidth.isdigit():
        raise _bad("variant without BANDWIDTH")
    width, sep, height = attrs.get("RESOLUTION", "").partition("x")
    resolution = (int(width), int(height)) if sep and width.isdigit() and height.isdigit() else None
    return Variant(
        uri=uri,
        bandwidth=int(bandwidth),
        resolution=resolution,
        audio_group=attrs.get("AUDIO"),
        codecs=attrs.get("CODECS"),
    )


def _media(attrs: dict[str, str]) -> MediaRendition:
    if "TYPE" not in attrs or "GROUP-ID" not in attrs:
        raise _bad("#EXT-X-MEDIA without TYPE or GROUP-ID")
    uri = attrs.get("URI")
    return MediaRendition(
        kind=attrs["TYPE"],
        group_id=attrs["GROUP-ID"],
        uri=check_uri(uri) if uri is not None else None,
    )


def parse_media(text: str) -> MediaPlaylist:
    """Parse a media playlist; raise ``VerificationError`` if it is malformed."""
    segments: list[tuple[str, float]] = []
    ranges: list[tuple[int, int] | None] = []
    seconds: float | None = None
    byterange: tuple[int, int] | None = None
    tags: dict[str, object] = {"map_uri": None, "ended": False, "i_frames_only": False}
    for line in _lines(text):
        if line.startswith("#EXTINF:"):
            seconds = _extinf(line)
        elif line.startswith("#EXT-X-BYTERANGE:"):
            byterange = _byterange(line)
        elif not line.startswith("#"):
            if seconds is None:
                raise _bad("segment without #EXTINF")
            segments.append((check_uri(line), seconds))
            ranges.append(byterange)
            seconds, byterange = None, None
        else:
            _playlist_tag(line, tags)
    return MediaPlaylist(
        segments=tuple(segments),
        ended=bool(tags["ended"]),
        byteranges=tuple(ranges),
        map_uri=str(tags["map_uri"]) if tags["map_uri"] else None,
        i_frames_only=bool(tags["i_frames_only"]),
    )


def _playlist_tag(line: str, tags: dict[str, object]) -> None:
    if line == "#EXT-X-ENDLIST":
        tags["ended"] = True
    elif line == "#EXT-X-I-FRAMES-ONLY":
        tags["i_frames_only"] = True
    elif line.startswith("#EXT-X-MAP:"):
        tags["map_uri"] = check_uri(attributes(line.partition(":")[2]).get("URI", ""))


def _byterange(line: str) -> tuple[int, int]:
    # We always write an explicit offset ("length@offset"), so one without it is refused.
    length, at, offset = line.partition(":")[2].partition("@")
    if not (at and length.isdigit() and offset.isdigit() and len(length + offset) <= 24):
        raise _bad("bad #EXT-X-BYTERANGE")
    return int(length), int(offset)


def _extinf(line: str) -> float:
    value = line.partition(":")[2].partition(",")[0]
    try:
        seconds = float(value)
    except ValueError:
        raise _bad("bad #EXTINF") from None
    if not 0 <= seconds < 3600:
        raise _bad("bad #EXTINF")
    return seconds
