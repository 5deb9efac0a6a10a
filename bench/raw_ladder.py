"""The baselines, written by hand the way a person would script ffmpeg directly.

(b) one process, decode once, ``split`` to the 4-rung ladder, ffmpeg's default threading;
(c) the same with the tuned thread layout (decoder 1, filter 1, x264 2/1/1/1 on 2 cores);
(a) the naive script: one ffmpeg per rendition (and one for audio), run one after another;
and the single 720p mp4 encode (``bench/02_x264_one.sh`` in the baselines).
Encoder settings equal the service's plan: x264 veryfast, main profile, capped bitrate with a
2 s buffer, 2 s closed GOP, keyframes forced on segment boundaries, AAC 128k stereo 48 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEGMENT_SECONDS = 6
GOP_FRAMES = 60
PRESET = "veryfast"


@dataclass(frozen=True)
class Rung:
    """One ladder rendition as the baseline script spells it out."""

    width: int
    height: int
    kbps: int
    threads: int  # used only by the tuned layout (c)


LADDER = (Rung(1920, 1080, 5000, 2), Rung(1280, 720, 2800, 1),
          Rung(854, 480, 1400, 1), Rung(640, 360, 800, 1))
RUNG_720 = LADDER[1]
AUDIO_ARGS = ("-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2")
HEAD = ("-nostdin", "-hide_banner", "-loglevel", "error", "-y")


def _x264(spec: str, rung: Rung, *, hls: bool) -> list[str]:
    args = [f"-c:{spec}", "libx264", f"-preset:{spec}", PRESET, f"-profile:{spec}", "main",
            f"-b:{spec}", f"{rung.kbps}k", f"-maxrate:{spec}", f"{rung.kbps}k",
            f"-bufsize:{spec}", f"{2 * rung.kbps}k", f"-g:{spec}", str(GOP_FRAMES)]
    if hls:
        args += [f"-sc_threshold:{spec}", "0", f"-flags:{spec}", "+cgop",
                 f"-force_key_frames:{spec}", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
    return args


def _hls(out: Path, var_stream_map: str) -> list[str]:
    return ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
            "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
            "-hls_segment_filename", f"{out}/%v/segment_%05d.ts",
            "-master_pl_name", "playlist.m3u8", "-var_stream_map", var_stream_map,
            f"{out}/%v/chunklist.m3u8"]


def decode_once_argv(ffmpeg: Path, source: Path, out: Path, *, tuned: bool) -> list[str]:
    """Baseline (b), or (c) when ``tuned``: the whole ladder in one ffmpeg process."""
    graph = f"[0:v]split={len(LADDER)}" + "".join(f"[s{n}]" for n in range(len(LADDER)))
    graph += "".join(f";[s{n}]scale={r.width}:{r.height}[v{n}]" for n, r in enumerate(LADDER))
    argv = [str(ffmpeg), *HEAD, *(["-threads", "1"] if tuned else []), "-i", str(source)]
    argv += [*(["-filter_complex_threads", "1"] if tuned else []), "-filter_complex", graph]
    for n in range(len(LADDER)):
        argv += ["-map", f"[v{n}]"]
    argv += ["-map", "0:a:0"]
    for n, rung in enumerate(LADDER):
        argv += _x264(f"v:{n}", rung, hls=True)
        argv += [f"-threads:v:{n}", str(rung.threads)] if tuned else []
    videos = " ".join(f"v:{n},agroup:audio,name:video_{n + 1}" for n in range(len(LADDER)))
    return [*argv, *AUDIO_ARGS, *_hls(out, f"{videos} a:0,agroup:audio,name:audio")]


def naive_argvs(ffmpeg: Path, source: Path, out: Path) -> list[list[str]]:
    """Baseline (a): one process per rendition plus one for the audio rendition."""
    argvs = []
    for n, rung in enumerate(LADDER, start=1):
        argvs.append([str(ffmpeg), *HEAD, "-i", str(source), "-map", "0:v:0",
                      "-vf", f"scale={rung.width}:{rung.height}", *_x264("v", rung, hls=True),
                      *_hls(out, f"v:0,name:video_{n}")])
    argvs.append([str(ffmpeg), *HEAD, "-i", str(source), "-map", "0:a:0", *AUDIO_ARGS,
                  *_hls(out, "a:0,name:audio")])
    return argvs


def naive_master_playlist() -> str:
    """The master playlist the naive script writes itself (ffmpeg wrote one per process)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3",
             '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,'
             'URI="audio/chunklist.m3u8"']
    for n, rung in enumerate(LADDER, start=1):
        bandwidth = (rung.kbps + 128) * 1000
        lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={rung.width}x"
                  f"{rung.height},AUDIO=\"audio\"", f"video_{n}/chunklist.m3u8"]
    return "\n".join(lines) + "\n"


def single_720p_argv(ffmpeg: Path, source: Path, dest: Path) -> list[str]:
    """The single-rendition baseline: 720p veryfast mp4 with audio, default threading."""
    return [str(ffmpeg), *HEAD, "-i", str(source), "-map", "0:v:0", "-map", "0:a:0",
            "-vf", f"scale={RUNG_720.width}:{RUNG_720.height}", *_x264("v", RUNG_720, hls=False),
            *AUDIO_ARGS, "-movflags", "+faststart", "-f", "mp4", str(dest)]
