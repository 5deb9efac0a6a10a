"""File names of an advanced_hls output: one place for the planner and verification. Pure.

Renditions are named as Qencode names them: ``video_1``, ``video_2``... in ``stream[]`` order,
and ``audio`` for the separate audio rendition. By default each has its own folder
(``video_1/chunklist.m3u8`` + ``video_1/segment_00000.ts``); with ``single_folder`` they all
sit beside the master with the name as a prefix (``video_1.m3u8`` +
``video_1_segment_00000.ts``). ``fmp4`` writes fragmented MP4 (CMAF) segments (``.m4s``) plus
one init segment per rendition that the playlist names with ``#EXT-X-MAP``; with
``i_frames_only`` every video rendition also gets an ``#EXT-X-I-FRAMES-ONLY`` playlist
(``video_1/iframes.m3u8`` or ``video_1_iframes.m3u8``, see ``hls_iframes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.media.jobspec import OutputSpec

AUDIO_NAME = "audio"
# ffmpeg's hls muxer replaces %v with each rendition's name from -var_stream_map.
VARIANT = "%v"


def video_name(number: int) -> str:
    """The name of video rendition ``number`` (counted from 1)."""
    return f"video_{number}"


@dataclass(frozen=True)
class HlsLayout:
    """The packaging choices of one HLS output (all off: TS segments in per-rendition folders)."""

    fmp4: bool = False
    single_folder: bool = False
    i_frames_only: bool = False

    @property
    def extension(self) -> str:
        """The media segments' file extension."""
        return "m4s" if self.fmp4 else "ts"

    def playlist(self, name: str) -> str:
        """The media playlist of rendition ``name``, relative to the output folder."""
        return f"{name}.m3u8" if self.single_folder else f"{name}/chunklist.m3u8"

    def segments(self, name: str) -> str:
        """The printf pattern of rendition ``name``'s media segments."""
        if self.single_folder:
            return f"{name}_segment_%05d.{self.extension}"
        return f"{name}/segment_%05d.{self.extension}"

    def init_segment(self) -> str:
        """ffmpeg's ``-hls_fmp4_init_filename`` (relative to each rendition's playlist).

        In per-rendition folders ffmpeg appends the rendition's index (``init_0.mp4``); beside
        the master the name carries the rendition's name (``video_1_init.mp4``). Either way the
        playlist's ``#EXT-X-MAP`` names it, and verification follows that.
        """
        return f"{VARIANT}_init.mp4" if self.single_folder else "init.mp4"

    def iframes(self, name: str) -> str:
        """The I-frames-only playlist of video rendition ``name``."""
        return f"{name}_iframes.m3u8" if self.single_folder else f"{name}/iframes.m3u8"


def layout_of(output: OutputSpec) -> HlsLayout:
    """The layout an advanced_hls ``output`` asked for."""
    return HlsLayout(
        fmp4=output.fmp4, single_folder=output.single_folder, i_frames_only=output.i_frames_only
    )
