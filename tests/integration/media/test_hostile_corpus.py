"""Hostile inputs, generated here and never committed, thrown at the runner as the worker uses it.

Every input is refused or contained: nothing outside the job directory is read, written or
contacted (a loopback listener counts connections), no message for the client names a path, and
the runner keeps working afterwards. The corpus runs twice where bubblewrap exists: once as
installed, once without bwrap so that Landlock and seccomp are applied in the child itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import select
import shutil
import socket
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import pytest

from strongroom.media import runner as runner_module
from strongroom.media.allowlists import InputPolicy
from strongroom.media.confine import landlock_abi
from strongroom.media.errors import MediaError
from strongroom.media.planner import FfmpegCommand, InputFile, plan_job
from strongroom.media.qencode import parse_start_encode2_query
from strongroom.media.runner import Runner, find_ffmpeg
from strongroom.media.verify import verify_output

pytestmark = pytest.mark.integration

PASSWD = Path("/etc/passwd")
MP4_AT_120P = {"output": "mp4", "resolution": 120, "quality": 30}


# ---------------------------------------------------------------- building hostile files


def black_png(width: int, height: int) -> bytes:
    """An RGB PNG of ``width`` x ``height`` black pixels, deflated to about 1/1000 of its size.

    The zero rows are deflated once per MiB with a full flush, so that block can be repeated
    instead of compressing hundreds of megabytes here.
    """
    total, step = (1 + 3 * width) * height, 1 << 20
    full, rest = divmod(total, step)
    body = _deflate_zeros(step, zlib.Z_FULL_FLUSH) * full + _deflate_zeros(rest, zlib.Z_FINISH)
    adler = 1
    for size in [step] * full + [rest]:
        adler = zlib.adler32(bytes(size), adler)
    idat = b"\x78\xda" + body + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def _deflate_zeros(size: int, mode: int) -> bytes:
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    return raw.compress(bytes(size)) + raw.flush(mode)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def avi(frame: bytes, width: int, height: int, subtitle: bytes | None = None) -> bytes:
    """A one-frame AVI whose video is the PNG ``frame`` (fourcc MPNG), plus a text stream
    carrying ``subtitle`` as one chunk when given."""
    streams = 1 if subtitle is None else 2
    avih = struct.pack("<14I", 40000, 0, 0, 0, 1, 0, streams, 0, width, height, 0, 0, 0, 0)
    bitmap = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MPNG", 0, 0, 0, 0, 0)
    headers = [_riff(b"avih", avih),
               _list(b"strl", _strh(b"vids", b"MPNG"), _riff(b"strf", bitmap))]
    chunks = [_riff(b"00dc", frame)]
    if subtitle is not None:
        headers.append(_list(b"strl", _strh(b"txts", bytes(4)), _riff(b"strf", bytes(4))))
        chunks.append(_riff(b"01tx", subtitle))
    return _riff(b"RIFF", b"AVI " + _list(b"hdrl", *headers) + _list(b"movi", *chunks))


def _riff(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _riff(b"LIST", kind + b"".join(chunks))


def _strh(kind: bytes, handler: bytes) -> bytes:
    fields = struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, 25, 0, 1, 0, 0xFFFFFFFF, 0, 0, 0, 16,
                         16)
    return _riff(b"strh", kind + handler + fields)


def gab2(text: str) -> bytes:
    """A GAB2 subtitle chunk (the container of CVE-2017-9993) holding ``text`` as its file."""
    name = "English".encode("utf-16-le") + b"\0\0"
    data = text.encode()
    return (b"GAB2\0" + struct.pack("<HI", 2, len(name)) + name
            + struct.pack("<HI", 4, len(data)) + data)


def playlist(*segments: str) -> str:
    entries = "".join(f"#EXTINF:1.0,\n{segment}\n" for segment in segments)
    return f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n{entries}#EXT-X-ENDLIST\n"


def garbage() -> bytes:
    """128 KiB of fixed noise: not random, so it can't now and then sniff as MP3."""
    return b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(4096))


# ---------------------------------------------------------------- the corpus


class Outcome(Enum):
    REFUSED = "refused"  # a MediaError with a client-safe message
    CONTAINED = "contained"  # it runs, but reaches nothing outside the job directory


@dataclass(frozen=True)
class Env:
    """What a hostile file may point at: the loopback listener's port and a good clip."""

    port: int
    clip: Path


@dataclass(frozen=True)
class Hostile:
    name: str
    file_name: str
    make: Callable[[Env], bytes | Path]  # the file's bytes, or a Path to make it a symlink to
    as_worker: Outcome  # probe, plan, encode, verify
    direct: Outcome  # ffmpeg on the file, the probe skipped
    reasons: tuple[str, ...] = ()  # one of these is in ffmpeg's stderr when it refuses
    needs_network_layer: bool = False

    def write(self, job: Path, env: Env) -> None:
        content = self.make(env)
        if isinstance(content, Path):
            (job / self.file_name).symlink_to(content)
        else:
            (job / self.file_name).write_bytes(content)


WHITELIST = ("not on whitelist",)
PIXELS = ("max pixel count",)
CORPUS = (
    Hostile("hls-file-url", "source.m3u8", lambda _: playlist("file:///etc/passwd").encode(),
            Outcome.REFUSED, Outcome.REFUSED, WHITELIST),
    Hostile("hls-loopback", "source.m3u8",
            lambda env: playlist(f"http://127.0.0.1:{env.port}/s.ts").encode(),
            Outcome.REFUSED, Outcome.REFUSED, WHITELIST),
    Hostile("hls-cloud-metadata", "source.m3u8",
            lambda _: playlist("http://169.254.169.254/latest/meta-data/").encode(),
            Outcome.REFUSED, Outcome.REFUSED, WHITELIST, needs_network_layer=True),
    Hostile("concat-list", "source", lambda _: b"ffconcat version 1.0\nfile /etc/passwd\n",
            Outcome.REFUSED, Outcome.REFUSED, WHITELIST),
    Hostile("avi-gab2-hls", "source",
            lambda env: avi(black_png(16, 16), 16, 16, gab2(playlist(
                "file:///etc/passwd", f"http://127.0.0.1:{env.port}/leak.ts"))),
            Outcome.CONTAINED, Outcome.CONTAINED),
    Hostile("png-8000x8000", "source.png", lambda _: black_png(8000, 8000),
            Outcome.REFUSED, Outcome.REFUSED, WHITELIST),
    Hostile("png-bomb-in-avi", "source", lambda _: avi(black_png(15000, 15000), 15000, 15000),
            Outcome.REFUSED, Outcome.REFUSED, PIXELS),
    Hostile("mp4-cut-in-half", "source",
            lambda env: env.clip.read_bytes()[: env.clip.stat().st_size // 2],
            Outcome.REFUSED, Outcome.CONTAINED),
    Hostile("garbage-named-mp4", "source.mp4", lambda _: garbage(),
            Outcome.REFUSED, Outcome.REFUSED, ("Invalid data found",)),
    Hostile("empty", "source", lambda _: b"",
            Outcome.REFUSED, Outcome.REFUSED, ("Invalid data found",)),
    Hostile("symlink-to-passwd", "source", lambda _: PASSWD,
            Outcome.REFUSED, Outcome.REFUSED,
            ("No such file", "Permission denied", "Invalid data found")),
)  # fmt: skip


# ---------------------------------------------------------------- fixtures and checks


class Listener:
    """A loopback TCP listener that only counts the connections that reach it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.seen = 0

    def connections(self) -> int:
        """Accept whatever is waiting (a completed handshake sits in the backlog) and count it."""
        while select.select([self.server], [], [], 0.05)[0]:
            peer, _ = self.server.accept()
            peer.close()
            self.seen += 1
        return self.seen


@pytest.fixture(scope="module")
def loopback() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.server.close()


@pytest.fixture(scope="module", params=["as-installed", "without-bwrap"])
def hostile_runner(request: pytest.FixtureRequest) -> Runner:
    """The default runner, then (where bwrap exists) one that can't find bwrap, so Landlock and
    seccomp are applied between fork and exec instead of by the shim inside the sandbox."""
    if request.param == "as-installed":
        return Runner(find_ffmpeg())
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed: the default runner already runs without it")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner_module.shutil, "which", lambda _name: None)
        return Runner(find_ffmpeg())


def blocks_network(runner: Runner) -> bool:
    """True when a kernel layer, not just ffmpeg's allowlists, stops a connection."""
    tcp_rules = landlock_abi() >= 4 and any(n.startswith("landlock") for n in runner.confined)
    return runner.sandboxed or "seccomp" in runner.confined or tcp_rules


def as_the_worker(runner: Runner, job: Path, name: str) -> None:
    spec = parse_start_encode2_query(
        json.dumps({"query": {"source": "tus:" + "c" * 32, "format": [MP4_AT_120P]}}))
    plan = plan_job(spec, runner.probe(job / name), source_path=name, threads=2)
    for command in plan.commands:
        runner.run(command, cwd=job)
    for output in plan.outputs:
        verify_output(runner, output, job)


def run_directly(runner: Runner, job: Path, name: str) -> None:
    command = FfmpegCommand(
        inputs=(InputFile(name),),
        output_args=("-map", "0:v:0", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
                     "-f", "mp4", "direct/video.mp4"),
        expected_duration=2.0, output_dirs=("direct",))
    runner.run(command, cwd=job)


def attempt(action: Callable[[], None]) -> MediaError | None:
    try:
        action()
    except MediaError as exc:
        return exc
    return None


def tree(folder: Path, *, leave_out: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p != leave_out and leave_out not in p.parents}


def passwd_marker() -> bytes | None:
    try:
        return PASSWD.read_bytes().split(b"\n", 1)[0][:24] or None
    except OSError:
        return None


def assert_client_safe(error: MediaError, job: Path) -> None:
    message = error.user_message
    assert "/" not in message and str(job) not in message and "passwd" not in message
    assert "Traceback" not in message and "0x" not in message


def assert_nothing_leaked_into(job: Path) -> None:
    marker = passwd_marker()
    if marker is None:
        return
    for path in job.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert marker not in path.read_bytes(), path.name


def assert_video_only(runner: Runner, output: Path) -> None:
    document = runner.probe_json(output, policy=InputPolicy.OWN_OUTPUT)
    assert [stream["codec_type"] for stream in document["streams"]] == ["video"]


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("hostile", CORPUS, ids=lambda hostile: hostile.name)
def test_a_hostile_input_is_refused_or_contained(
        hostile: Hostile, hostile_runner: Runner, loopback: Listener, clip: Path,
        tmp_path: Path) -> None:
    if hostile.needs_network_layer and not blocks_network(hostile_runner):
        pytest.skip("no kernel layer blocks the network here: no packet to a non-loopback "
                    "address is risked on the allowlists alone")
    job = tmp_path / "job"
    job.mkdir()
    (tmp_path / "outside-the-job").mkdir()
    hostile.write(job, Env(loopback.port, clip))
    before = tree(tmp_path, leave_out=job)

    as_worker = attempt(lambda: as_the_worker(hostile_runner, job, hostile.file_name))
    direct = attempt(lambda: run_directly(hostile_runner, job, hostile.file_name))

    outcomes = [Outcome.CONTAINED if e is None else Outcome.REFUSED for e in (as_worker, direct)]
    assert outcomes == [hostile.as_worker, hostile.direct]
    for error in (as_worker, direct):
        if error is not None:
            assert_client_safe(error, job)
    if direct is not None and hostile.reasons:
        assert any(reason in direct.detail for reason in hostile.reasons), direct.detail[-600:]
    if direct is None:
        assert_video_only(hostile_runner, job / "direct" / "video.mp4")
    assert loopback.connections() == 0
    assert tree(tmp_path, leave_out=job) == before
    assert_nothing_leaked_into(job)


def test_the_runner_still_works_after_the_corpus(hostile_runner: Runner, job_dir: Path) -> None:
    info = hostile_runner.probe(job_dir / "source")
    assert info.video is not None and info.video.width == 320
    command = FfmpegCommand(inputs=(InputFile("source"),),
                            output_args=("-t", "0.5", "-f", "mp4", "out0/v.mp4"),
                            expected_duration=0.5, output_dirs=("out0",))
    hostile_runner.run(command, cwd=job_dir)
    assert (job_dir / "out0" / "v.mp4").stat().st_size > 0


IMPOSTOR = """#!{python} -I
# Stands in for a probe that a hostile file has taken over: it tries to get out.
import json, socket
results = {{}}
def attempt(name, action):
    try:
        action()
        results[name] = "done"
    except OSError as exc:
        results[name] = type(exc).__name__
attempt("read_passwd", lambda: open("/etc/passwd", "rb").read(1))
attempt("read_outside", lambda: open({secret!r}, "rb").read())
attempt("write_outside", lambda: open({escaped!r}, "wb").close())
attempt("connect_loopback", lambda: socket.create_connection(("127.0.0.1", {port}), 2).close())
attempt("socket_inet6", lambda: socket.socket(socket.AF_INET6).close())
attempt("write_job_dir", lambda: open("written-inside", "wb").close())
print(json.dumps(results))
"""


def test_a_taken_over_media_process_cannot_get_out(hostile_runner: Runner, loopback: Listener,
                                                   tmp_path: Path) -> None:
    fs_layer = hostile_runner.sandboxed or any(
        name.startswith("landlock") for name in hostile_runner.confined)
    if not fs_layer or not blocks_network(hostile_runner):
        pytest.skip("neither bwrap nor Landlock is active here")
    (tmp_path / "bin").mkdir()
    secret, escaped = tmp_path / "secret", tmp_path / "escaped"
    secret.write_text("not for the media process")
    impostor = tmp_path / "bin" / "probe"
    impostor.write_text(IMPOSTOR.format(python=sys.executable, secret=str(secret),
                                        escaped=str(escaped), port=loopback.port))
    impostor.chmod(0o755)
    source = tmp_path / "job" / "source"
    source.parent.mkdir()
    source.write_bytes(b"anything")
    seen_before = loopback.connections()

    # The runner starts the impostor exactly as it starts the probe, with every layer.
    if hostile_runner.sandboxed:
        confined = Runner(hostile_runner.ffmpeg, python=impostor)
    else:
        confined = _without_bwrap(hostile_runner.ffmpeg, impostor)
    results = confined.probe_json(source)

    assert results["write_job_dir"] == "done"
    assert (source.parent / "written-inside").exists()
    assert results["read_passwd"] != "done" and results["read_outside"] != "done"
    assert results["connect_loopback"] != "done"
    assert loopback.connections() == seen_before
    # Inside bwrap alone the write lands in the sandbox's private /tmp; either way not here.
    assert not escaped.exists()
    if "seccomp" in confined.confined:
        assert results["socket_inet6"] == "PermissionError"
    if any(name.startswith("landlock") for name in confined.confined):
        assert results["write_outside"] == "PermissionError"


def _without_bwrap(ffmpeg: Path, python: Path) -> Runner:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner_module.shutil, "which", lambda _name: None)
        return Runner(ffmpeg, python=python)


def test_the_log_line_names_every_active_layer(caplog: pytest.LogCaptureFixture) -> None:
    runner_module._announced.clear()  # the line is logged once per process
    with caplog.at_level(logging.INFO, logger="strongroom.media.runner"):
        runner = Runner(find_ffmpeg())
        Runner(find_ffmpeg())
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sandbox:")]
    head = line.split(";")[0]
    assert head.endswith("rlimits") or head == "sandbox: rlimits only"
    assert ("bwrap+" in head) == runner.sandboxed
    assert ("bwrap not available" in line) == (not runner.sandboxed)
    abi = landlock_abi()
    if abi:
        assert f"landlock(abi {abi}" in head
    else:
        assert "landlock unavailable (kernel)" in line
    assert ("+seccomp+" in head) == ("seccomp" in runner.confined)


def test_sandbox_off_leaves_only_the_rlimits(caplog: pytest.LogCaptureFixture) -> None:
    runner_module._announced.clear()
    with caplog.at_level(logging.INFO, logger="strongroom.media.runner"):
        runner = Runner(find_ffmpeg(), sandbox="off")
    assert not runner.sandboxed and runner.confined == ()
    assert "sandbox: rlimits only (sandbox turned off)" in caplog.messages
