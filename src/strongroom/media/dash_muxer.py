"""ffmpeg ``dash`` muxer options for advanced_dash (CMAF) and webm_dash outputs. Pure.

Both kinds use ffmpeg's ``dash`` muxer, fed by the shared decode like HLS: every rendition's
video is one Representation of adaptation set 0 and the one audio rendition is adaptation set
1. webm_dash uses the same muxer with WebM segments (``-dash_segment_type webm``) rather than
the ``webm_dash_manifest`` muxer: that muxer only writes a manifest for WebM files made by
earlier, separate ffmpeg runs (one per rendition, plus ``webm_chunk`` for live), which would
mean decoding the source once per rendition; the dash muxer packages every rendition of one
decode and writes a standard SegmentTemplate/SegmentTimeline MPD for either segment type.

Layout in ``out<i>/``: the MPD (``playlist_name``, default ``playlist.mpd``), and per
Representation ``init-<id>.<ext>`` plus ``chunk-<id>-<number>.<ext>`` (ext m4s or webm), ids
0..n-1 for the video renditions in ``stream[]`` order and n for the audio. With
``create_m3u8_playlist`` the muxer also writes an HLS master (the MPD's name with .m3u8) and
``media_<id>.m3u8`` playlists over the same CMAF segments.
"""

from __future__ import annotations

from strongroom.media.jobspec import OutputKind, OutputSpec

INIT_TEMPLATE = "init-$RepresentationID$.$ext$"
MEDIA_TEMPLATE = "chunk-$RepresentationID$-$Number%05d$.$ext$"
SEGMENT_EXTENSIONS = {OutputKind.ADVANCED_DASH: "m4s", OutputKind.WEBM_DASH: "webm"}
_SEGMENT_TYPES = {OutputKind.ADVANCED_DASH: "mp4", OutputKind.WEBM_DASH: "webm"}


def hls_master_name(output: OutputSpec) -> str | None:
    """The HLS master an advanced_dash output writes with ``create_m3u8_playlist`` (or None)."""
    if not output.create_m3u8_playlist or output.manifest_name is None:
        return None
    return output.manifest_name.rpartition(".")[0] + ".m3u8"


def dash_muxer(output: OutputSpec, has_audio: bool) -> list[str]:
    """The muxer options and target of one DASH output."""
    sets = ["id=0,streams=v"] + (["id=1,streams=a"] if has_audio else [])
    args = [
        "-f",
        "dash",
        "-dash_segment_type",
        _SEGMENT_TYPES[output.kind],
        "-seg_duration",
        str(output.segment_duration),
        "-use_template",
        "1",
        "-use_timeline",
        "1",
        "-adaptation_sets",
        " ".join(sets),
        "-init_seg_name",
        INIT_TEMPLATE,
        "-media_seg_name",
        MEDIA_TEMPLATE,
    ]
    master = hls_master_name(output)
    if master is not None:
        args += ["-hls_playlist", "1", "-hls_master_name", master]
    return [*args, f"out{output.index}/{output.manifest_name}"]
