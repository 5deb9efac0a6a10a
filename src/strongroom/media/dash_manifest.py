"""Read the DASH manifests (MPD) our own encodes wrote: the subset ffmpeg's dash muxer uses.

Written here rather than taken from a library, for the same reason as ``hls_playlist``:
verification needs only the representations, their segment lists and durations, of static
MPDs we produced ourselves, and a strict reader that refuses anything else (a DOCTYPE,
absolute or parent-relative URLs, templates other than ``$RepresentationID$`` and
``$Number%0Nd$``, open-ended repeats) stays small. The standard library's XML parser is enough
here: the file is ours, capped in size by the caller, and carries no DOCTYPE (refused before
parsing), so no entity can expand.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from strongroom.media.errors import VerificationError
from strongroom.media.hls_playlist import check_uri

NS = {"mpd": "urn:mpeg:dash:schema:mpd:2011"}
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_NUMBER = re.compile(r"\$Number(?:%0(\d)d)?\$")
_MAX_SEGMENTS = 100_000


@dataclass(frozen=True)
class Representation:
    """One ``<Representation>`` with its segments expanded from the SegmentTemplate."""

    id: str
    content_type: str
    mime_type: str
    codecs: str
    bandwidth: int
    width: int | None
    height: int | None
    sample_rate: int | None
    init: str
    segments: tuple[str, ...]
    duration: float


@dataclass(frozen=True)
class Manifest:
    """A static MPD: its presentation duration and every representation, in document order."""

    duration: float
    representations: tuple[Representation, ...]

    def of_type(self, content_type: str) -> tuple[Representation, ...]:
        """The representations whose adaptation set has ``contentType`` ``content_type``."""
        return tuple(r for r in self.representations if r.content_type == content_type)


def _bad(problem: str) -> VerificationError:
    return VerificationError("a DASH manifest is malformed", detail=problem)


def parse_mpd(text: str) -> Manifest:
    """Parse an MPD; raise ``VerificationError`` if it is malformed or outside our subset."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise _bad("DOCTYPE or ENTITY declaration")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE, our own file (module docstring)
    except ET.ParseError:
        raise _bad("not XML") from None
    if root.tag != f"{{{NS['mpd']}}}MPD" or root.get("type") != "static":
        raise _bad("not a static MPD")
    _refuse_redirects(root)
    representations = [
        _representation(adaptation.get("contentType", ""), node)
        for period in root.findall("mpd:Period", NS)
        for adaptation in period.findall("mpd:AdaptationSet", NS)
        for node in adaptation.findall("mpd:Representation", NS)
    ]
    if not representations:
        raise _bad("no representations")
    return Manifest(
        duration=parse_duration(root.get("mediaPresentationDuration", "")),
        representations=tuple(representations),
    )


# Elements and attributes that would make the dash demuxer fetch from elsewhere than the
# segment templates we check; ffmpeg writes none of them for a static presentation.
_REDIRECTS = ("BaseURL", "Location", "PatchLocation")
_XLINK = "{http://www.w3.org/1999/xlink}"


def _refuse_redirects(root: ET.Element) -> None:
    for node in root.iter():
        if node.tag.rpartition("}")[2] in _REDIRECTS:
            raise _bad(f"{node.tag.rpartition('}')[2]} element")
        if any(name.startswith(_XLINK) for name in node.attrib):
            raise _bad("xlink attribute")


def parse_duration(text: str) -> float:
    """An ISO 8601 ``PT…H…M…S`` duration in seconds (the only form ffmpeg writes)."""
    match = _DURATION.match(text)
    if match is None or not any(match.groups()):
        raise _bad("bad duration")
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _representation(content_type: str, node: ET.Element) -> Representation:
    ident = node.get("id", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", ident):
        raise _bad("bad Representation id")
    template = node.find("mpd:SegmentTemplate", NS)
    if template is None:
        raise _bad(f"Representation {ident} has no SegmentTemplate")
    timescale = _int(template.get("timescale", "1"), "timescale", low=1)
    durations = _timeline(template)
    start = _int(template.get("startNumber", "1"), "startNumber", low=0)
    media = template.get("media", "")
    segments = tuple(_expand(media, ident, start + n) for n in range(len(durations)))
    return Representation(
        id=ident,
        content_type=content_type,
        mime_type=node.get("mimeType", ""),
        codecs=node.get("codecs", ""),
        bandwidth=_int(node.get("bandwidth", ""), "bandwidth", low=1),
        width=_optional_int(node.get("width")),
        height=_optional_int(node.get("height")),
        sample_rate=_optional_int(node.get("audioSamplingRate")),
        init=_expand(template.get("initialization", ""), ident, None),
        segments=segments,
        duration=sum(durations) / timescale,
    )


def _timeline(template: ET.Element) -> list[int]:
    """Every segment's duration in timescale units, from ``<S d r>`` entries."""
    timeline = template.find("mpd:SegmentTimeline", NS)
    if timeline is None:
        raise _bad("SegmentTemplate without SegmentTimeline")
    durations: list[int] = []
    for entry in timeline.findall("mpd:S", NS):
        length = _int(entry.get("d", ""), "S@d", low=1)
        repeat = _int(entry.get("r", "0"), "S@r", low=0)  # r=-1 (open-ended) is refused
        if len(durations) + repeat + 1 > _MAX_SEGMENTS:
            raise _bad("too many segments")
        durations += [length] * (repeat + 1)
    if not durations:
        raise _bad("empty SegmentTimeline")
    return durations


def _expand(template: str, ident: str, number: int | None) -> str:
    text = template.replace("$RepresentationID$", ident)
    if number is not None:
        text = _NUMBER.sub(lambda m: f"{number:0{int(m.group(1) or 1)}d}", text)
    if "$" in text:
        raise _bad("unsupported template identifier")
    return check_uri(text)


def _int(text: str, what: str, *, low: int) -> int:
    if not text.isdigit() or len(text) > 15 or int(text) < low:
        raise _bad(f"bad {what}")
    return int(text)


def _optional_int(text: str | None) -> int | None:
    return None if text is None else _int(text, "number", low=0)
