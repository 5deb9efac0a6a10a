"""What ffmpeg (and the probe program) may open, per kind of input.

Untrusted sources get an explicit protocol, demuxer and decoder allowlist: no ``hls``,
``concat``, ``lavfi`` or image demuxers (the classic local-file-read and SSRF tricks need
one of those), and only the decoders of formats we mean to accept, because every decoder
compiled into ffmpeg is attack surface (e.g. the 2026 MagicYUV heap overflow). Our own
outputs are re-read only for verification, with the demuxers and decoders of exactly the
formats we write (``hls``, ``dash``; mp4, webm, mp3, flac; ``image2`` and the png/jpeg/webp
readers for thumbnails, whose numbered series it reads in one pass; gif and animated webp)
and nothing else. Generated sample clips come from ``lavfi`` and are trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InputPolicy(StrEnum):
    """How far an input is trusted; selects the allowlists in ``POLICIES``."""

    UNTRUSTED = "untrusted"
    OWN_OUTPUT = "own_output"
    GENERATED = "generated"


@dataclass(frozen=True)
class Allowlist:
    """ffmpeg ``-protocol_whitelist`` / ``-format_whitelist`` / ``-codec_whitelist`` values.

    An empty ``codecs`` means "no decoder allowlist" (only for generated inputs).
    """

    protocols: str
    formats: str
    codecs: str


_SOURCE_FORMATS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mpegts,avi,flv,mpeg,wav,mp3,aac,ogg,flac"
_SOURCE_VIDEO_DECODERS = (
    "h264,hevc,vp8,vp9,av1,libdav1d,mpeg4,mpeg2video,mpeg1video,mjpeg,prores,dnxhd,"
    "theora,h263,flv,png"
)
_SOURCE_AUDIO_DECODERS = (
    "aac,aac_fixed,mp3,mp3float,mp2,mp2float,ac3,ac3_fixed,eac3,opus,libopus,vorbis,"
    "libvorbis,flac,alac,pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_f32le,"
    "pcm_u8,pcm_mulaw,pcm_alaw"
)

POLICIES: dict[InputPolicy, Allowlist] = {
    InputPolicy.UNTRUSTED: Allowlist(
        protocols="file,pipe",
        formats=_SOURCE_FORMATS,
        codecs=f"{_SOURCE_VIDEO_DECODERS},{_SOURCE_AUDIO_DECODERS}",
    ),
    # hls and dash open their segments through "file"; hls needs mpegts to read them, dash
    # mov (CMAF) or matroska (WebM).
    InputPolicy.OWN_OUTPUT: Allowlist(
        protocols="file",
        formats=(
            "hls,dash,mpegts,mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,mp3,flac,"
            "image2,png_pipe,jpeg_pipe,webp_pipe,gif,webp_anim"
        ),
        codecs=(
            "h264,hevc,av1,libdav1d,aac,aac_fixed,vp8,vp9,opus,vorbis,mp3float,mp3,flac,png,mjpeg,"
            "webp,webp_anim,gif"
        ),
    ),
    InputPolicy.GENERATED: Allowlist(protocols="file", formats="lavfi", codecs=""),
}
