"""The planner's result types: commands to run and the outputs they must produce."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.media.hls_layout import HlsLayout
from strongroom.media.output_kinds import OutputKind
from strongroom.media.picture_plan import PlannedPictures


@dataclass(frozen=True)
class InputFile:
    """One ``-i`` input: a path relative to the job directory and the options before ``-i``."""

    path: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class FfmpegCommand:
    """Everything ffmpeg needs except the binary and the hardening flags (see ``build_argv``).

    ``output_dirs`` (relative to the job directory) are created by the runner before the start.
    """

    inputs: tuple[InputFile, ...]
    output_args: tuple[str, ...]
    expected_duration: float
    output_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedRendition:
    """The picture size and rate control chosen for one rendition."""

    width: int
    height: int
    video_bitrate: int | None
    crf: int | None
    audio_bitrate: int


@dataclass(frozen=True)
class PlannedOutput:
    """Where an output lands and what verification should find there.

    ``directory`` is ``out<index>``; ``main_file`` is relative to the job directory.
    ``video_codec``/``audio_codec`` are the encoders used (None: no such stream);
    ``pictures`` describes picture outputs; ``source`` is the job-relative source file (the
    ``metadata`` output describes it); ``audio_layout`` is (sample rate, channels) for
    audio-only outputs, which verification checks. ``hls_master`` is the HLS master an
    advanced_dash output also writes (``create_m3u8_playlist``), relative to ``directory``;
    ``copied_streams`` lists ``(type, format)`` of the source streams a repack copies;
    ``hls`` is an advanced_hls output's file layout (segment type, folders, I-frame playlists);
    ``pix_format`` the pixel format of its video streams (None: no video); ``vmaf_frames``
    how many frames a vmaf output's log should score.
    """

    index: int
    kind: OutputKind
    directory: str
    main_file: str
    renditions: tuple[PlannedRendition, ...]
    expected_duration: float
    has_audio: bool
    segment_duration: int | None
    separate_audio: bool = False
    video_codec: str | None = "libx264"
    audio_codec: str | None = "aac"
    pictures: PlannedPictures | None = None
    source: str = "source"
    audio_layout: tuple[int, int] | None = None
    hls_master: str | None = None
    copied_streams: tuple[tuple[str, str], ...] = ()
    hls: HlsLayout | None = None
    pix_format: str | None = None
    vmaf_frames: int | None = None

    def variant_dirs(self) -> tuple[str, ...]:
        """HLS only: the per-rendition folders, relative to the job directory."""
        return tuple(f"{self.directory}/video_{n}" for n in range(1, len(self.renditions) + 1))


@dataclass(frozen=True)
class JobPlan:
    """The commands to run, in order, and the outputs they produce."""

    commands: tuple[FfmpegCommand, ...]
    outputs: tuple[PlannedOutput, ...]
