"""Run ffmpeg and the probe program: the only module that starts a process.

Every process gets an argument list (never a shell), its own session and process group (so
cancel and timeout can kill the whole group: SIGTERM, a short grace, then SIGKILL), rlimits set
in the child before exec (address space, CPU, file size, open files, no core dumps), stdin from
/dev/null, a minimal environment (nothing of the worker's, such as its keys, leaks in), the job
directory as its working directory, a wall-clock budget, where bubblewrap works a sandbox with
no network and a read-only system, and where the kernel has them Landlock filesystem (and TCP)
rules and a seccomp deny list (``confine``). stderr is kept as a capped tail for the logs only.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

import imageio_ffmpeg

import strongroom
from strongroom.media.allowlists import InputPolicy
from strongroom.media.argv import build_argv, file_url
from strongroom.media.confine import Layers, detect_layers, shim_argv
from strongroom.media.errors import (
    Cancelled,
    EncodeFailed,
    InputRejected,
    MediaError,
    MediaTimeout,
    VerificationError,
)
from strongroom.media.limits import Limits
from strongroom.media.planner import FfmpegCommand, InputFile
from strongroom.media.probe import MediaInfo, check_limits, parse_probe
from strongroom.media.progress import ProgressTracker
from strongroom.media.sandbox import bwrap_argv

__all__ = [
    "Cancelled",
    "EncodeFailed",
    "InputRejected",
    "Limits",
    "MediaError",
    "MediaTimeout",
    "Runner",
    "VerificationError",
    "build_argv",
    "find_ffmpeg",
]

log = logging.getLogger(__name__)

SandboxMode = Literal["auto", "off", "require"]
TERM_GRACE_SECONDS = 1.0
PROBE_WALL_SECONDS = 120.0
_STDERR_TAIL_BYTES = 8192
_PROBE_MAX_STDOUT = 4 << 20
_POLL_SECONDS = 0.1
_CHILD_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
# stderr phrases that mean the input itself was refused: not worth a retry.
_REJECTION_MARKERS = (
    "not on whitelist",
    "max pixel count",
    "Invalid data found when processing input",
    "Too many streams",
    "not in allowed_extensions",
    "not in allowed_segment_extensions",
)
_announced: set[str] = set()
_announce_lock = threading.Lock()


def find_ffmpeg(configured: str | None = None) -> Path:
    """Return the ffmpeg to use: ``configured`` (must be an executable file) or the pinned
    build shipped by the ``imageio-ffmpeg`` wheel. Raises ``MediaError`` otherwise."""
    if configured:
        path = Path(configured)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise MediaError("ffmpeg is not available", detail="configured ffmpeg not executable")
        return path
    try:
        return Path(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise MediaError("ffmpeg is not available", detail=str(exc)) from None


def _wall_budget(limits: Limits, expected_duration: float) -> float:
    # Generous for slow ladders (4K on 2 cores runs well below real time), capped by the limit.
    return min(limits.wall_seconds, 300.0 + 20.0 * max(0.0, expected_duration))


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None
)


def _child_setup(limits: Limits, confine: Callable[[], None] | None) -> None:
    """Runs in the child between fork and exec: rlimits, then Landlock and seccomp if given."""
    _apply_rlimits(limits)
    if confine is not None:
        confine()


def _apply_rlimits(limits: Limits) -> None:
    """Runs in the child between fork and exec: only async-signal-safe-ish calls."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.address_space, limits.address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if _LIBC is not None:
        # If the worker dies, even by SIGKILL, its encoder dies with it: no orphan keeps burning
        # CPU on a job whose lease is about to move to another worker.
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _announce(message: str) -> None:
    with _announce_lock:
        if message not in _announced:
            _announced.add(message)
            log.info(message)


class Runner:
    """Starts sandboxed ffmpeg and probe processes for one worker.

    ``sandbox``: "auto" uses bubblewrap when it exists and works, "off" never does, "require"
    raises ``MediaError`` here if it can't. Landlock and seccomp are added wherever the kernel
    (and, for seccomp, the optional ``pyseccomp``) supports them and a self-check passes, except
    with "off", which leaves only the rlimits. Which layers are active is logged once (INFO).
    """

    def __init__(
        self,
        ffmpeg: Path,
        *,
        limits: Limits = Limits(),  # noqa: B008 - frozen
        sandbox: SandboxMode = "auto",
        python: Path | None = None,
    ) -> None:
        self.ffmpeg = ffmpeg
        self.limits = limits
        self.python = python or Path(sys.executable)
        self.term_grace = TERM_GRACE_SECONDS
        self._layers = Layers(0, b"")
        self._bwrap = None if sandbox == "off" else self._working_bwrap()
        if sandbox == "require" and self._bwrap is None:
            raise MediaError(
                "the media sandbox is not available",
                detail="sandbox=require but bwrap is missing or fails",
            )
        if sandbox == "off":
            _announce("sandbox: rlimits only (sandbox turned off)")
        else:
            self._layers = self._working_layers(detect_layers())
            _announce(self._layers.summary(bwrap=self.sandboxed))

    @property
    def sandboxed(self) -> bool:
        """True when processes run inside bubblewrap."""
        return self._bwrap is not None

    @property
    def confined(self) -> tuple[str, ...]:
        """The active kernel layers besides bwrap, e.g. ``("landlock(abi 7)", "seccomp")``."""
        return self._layers.active

    def run(
        self,
        command: FfmpegCommand,
        *,
        cwd: Path,
        on_progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Run a planned encode of untrusted input in ``cwd`` (the job directory).

        ``on_progress`` gets 0..100 (from ``-progress``'s ``out_time_us``) in this thread.
        Raises ``Cancelled`` when ``cancel`` is set, ``MediaTimeout`` past the wall budget,
        ``InputRejected`` when ffmpeg refused the input, ``EncodeFailed`` otherwise.
        """
        self._ffmpeg(command, cwd, InputPolicy.UNTRUSTED, on_progress, cancel)

    def generate(self, command: FfmpegCommand, *, cwd: Path) -> None:
        """Run a command whose inputs are trusted generators (``lavfi``), e.g. sample clips."""
        self._ffmpeg(command, cwd, InputPolicy.GENERATED, None, None)

    def decode_check(self, path: Path, *, cwd: Path, expected_duration: float) -> float:
        """Decode every stream of one of our own outputs with ``-xerror``; return the seconds
        decoded (the furthest output position), which verification compares with the plan
        because a cleanly cut file (e.g. an mp3 ending on a frame boundary) decodes without
        error. ``path`` may be an image series pattern (``thumb_%04d.png``).

        Raises ``VerificationError`` if any decode error occurs.
        """
        command = FfmpegCommand(
            inputs=(InputFile(str(path)),),
            output_args=("-map", "0", "-f", "null", "-"),
            expected_duration=expected_duration,
        )
        try:
            return self._ffmpeg(command, cwd, InputPolicy.OWN_OUTPUT, None, None)
        except (EncodeFailed, InputRejected) as exc:
            raise VerificationError(
                "an output does not decode cleanly", detail=exc.detail
            ) from None

    def probe(self, path: Path) -> MediaInfo:
        """Probe an untrusted source file and enforce the input limits.

        Raises ``InputRejected`` for an empty, oversized, unreadable or over-limit file.
        """
        info = parse_probe(self.probe_json(path))
        check_limits(info, self.limits)
        return info

    def probe_json(
        self, path: Path, *, policy: InputPolicy = InputPolicy.UNTRUSTED
    ) -> dict[str, Any]:
        """Run the probe program on ``path`` (sandboxed, rlimited) and return its raw JSON."""
        self._check_source_file(path)
        argv = [
            str(self.python),
            "-I",
            "-m",
            "strongroom.media.probe_tool",
            "--policy",
            policy.value,
            "--max-streams",
            str(self.limits.max_streams),
            "--max-pixels",
            str(self.limits.max_pixels),
            "--",
            file_url(path.name),
        ]
        stdout = bytearray()

        def collect(chunk: bytes) -> None:
            if len(stdout) + len(chunk) > _PROBE_MAX_STDOUT:
                raise InputRejected("the source has too much metadata")
            stdout.extend(chunk)

        deadline = time.monotonic() + min(self.limits.wall_seconds, PROBE_WALL_SECONDS)
        code, tail = self._execute(argv, path.parent, deadline, collect, None)
        if code != 0:
            raise InputRejected(detail=f"probe exit {code}: {tail}")
        try:
            document = json.loads(stdout)
        except ValueError:
            raise MediaError("the media could not be inspected", detail="probe output") from None
        if not isinstance(document, dict):
            raise MediaError("the media could not be inspected", detail="probe output")
        return document

    def _check_source_file(self, path: Path) -> None:
        try:
            stat = path.lstat()
        except OSError:
            raise InputRejected("the source file is missing") from None
        if path.is_symlink() or not path.is_file():
            raise InputRejected("the source is not a regular file")
        if stat.st_size == 0:
            raise InputRejected("the source file is empty")
        if stat.st_size > self.limits.max_input_bytes:
            raise InputRejected("the source file is too large")

    def _ffmpeg(
        self,
        command: FfmpegCommand,
        cwd: Path,
        policy: InputPolicy,
        on_progress: Callable[[float], None] | None,
        cancel: threading.Event | None,
    ) -> float:
        """Run ``command``; return the furthest output position reached, in seconds."""
        for folder in command.output_dirs:
            _make_output_dir(cwd, folder)
        tracker = ProgressTracker(command.expected_duration)

        def report(chunk: bytes) -> None:
            for percent in tracker.feed(chunk.decode("ascii", "replace")):
                if on_progress is not None:
                    on_progress(percent)

        argv = build_argv(self.ffmpeg, command, self.limits, policy=policy)
        deadline = time.monotonic() + _wall_budget(self.limits, command.expected_duration)
        code, tail = self._execute(argv, cwd, deadline, report, cancel)
        if code != 0:
            raise _failure(code, tail)
        if on_progress is not None and not tracker.finished:
            on_progress(100.0)
        return tracker.position

    def _execute(
        self,
        argv: list[str],
        cwd: Path,
        deadline: float,
        on_stdout: Callable[[bytes], None],
        cancel: threading.Event | None,
    ) -> tuple[int, str]:
        """Start ``argv`` and supervise it; return (exit status, stderr tail)."""
        process = self._start(argv, cwd)
        supervisor = _Supervisor(process, self.term_grace)
        try:
            return supervisor.watch(deadline, {process.stdout: on_stdout}, cancel)
        finally:
            supervisor.kill_group()

    def _start(self, argv: list[str], cwd: Path) -> subprocess.Popen[bytes]:
        """Start ``argv`` in ``cwd`` with every active layer; ``MediaError`` if it can't start.

        Without bwrap, Landlock and seccomp are applied in the child after the rlimits. With
        bwrap they can't be (a Landlock-restricted bwrap may not mount, and its loopback set-up
        needs a socket), so the ``confine`` shim applies them inside the sandbox and then execs.
        """
        try:
            confinement = self._layers.confinement(self._readonly_paths(), cwd)
            confine = None
            if self._bwrap is not None:
                # The shim runs on the worker's own interpreter, never on ``self.python``: the
                # layers must not depend on the program they are meant to confine.
                shim = Path(sys.executable)
                inner = argv if confinement is None else shim_argv(shim, confinement, argv)
                argv = bwrap_argv(self._bwrap, cwd.resolve(), self._readonly_paths(), inner)
            elif confinement is not None:
                confine = confinement.applier()
            return subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_CHILD_ENV,
                start_new_session=True,
                close_fds=True,
                # rlimits and the kernel layers must be set in the child itself.
                preexec_fn=lambda: _child_setup(self.limits, confine),  # noqa: PLW1509
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise MediaError(detail=f"could not start {Path(argv[0]).name}: {exc}") from None

    def _working_layers(self, layers: Layers) -> Layers:
        """``layers`` if ffmpeg and the probe's Python start under them here, else none."""
        self._layers = layers
        checks = ([str(self.ffmpeg), "-version"], [str(self.python), "-I", "-c", "import av"])
        with tempfile.TemporaryDirectory(prefix="strongroom-confine-check-") as scratch:
            for argv in checks if layers.active else ():
                try:
                    deadline = time.monotonic() + 20.0
                    code, tail = self._execute(argv, Path(scratch), deadline, _discard, None)
                except MediaError as exc:
                    code, tail = -1, exc.detail
                if code != 0:
                    log.warning("landlock/seccomp self-check failed: %s", tail[-500:])
                    return Layers(0, b"", (*layers.notes, "landlock/seccomp failed a self-check"))
        return layers

    def _readonly_paths(self) -> list[Path]:
        package_root = Path(strongroom.__file__).resolve().parent.parent
        return [
            self.ffmpeg.resolve().parent,
            Path(sys.prefix),
            Path(sys.base_prefix),
            Path(sys.executable).resolve().parent,
            self.python.resolve().parent,
            package_root,
        ]

    def _working_bwrap(self) -> str | None:
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            return None
        with tempfile.TemporaryDirectory(prefix="strongroom-bwrap-check-") as scratch:
            argv = bwrap_argv(
                bwrap,
                Path(scratch).resolve(),
                self._readonly_paths(),
                [str(self.ffmpeg), "-hide_banner", "-version"],
            )
            try:
                done = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=20,
                    env=_CHILD_ENV,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                return None
        return bwrap if done.returncode == 0 else None


class _Supervisor:
    """Reads a child's stdout/stderr without threads and enforces deadline and cancel."""

    def __init__(self, process: subprocess.Popen[bytes], grace: float) -> None:
        self.process = process
        self.grace = grace
        self.tail = bytearray()

    def watch(
        self,
        deadline: float,
        readers: dict[IO[bytes] | None, Callable[[bytes], None]],
        cancel: threading.Event | None,
    ) -> tuple[int, str]:
        """Pump the pipes until both close and the child exits; return (status, stderr tail)."""
        readers = {**readers, self.process.stderr: self._keep_tail}
        with selectors.DefaultSelector() as selector:
            for stream, reader in readers.items():
                if stream is not None:
                    selector.register(stream, selectors.EVENT_READ, reader)
            while selector.get_map():
                self._check(deadline, cancel)
                for key, _ in selector.select(timeout=_POLL_SECONDS):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    else:
                        key.data(chunk)
        while self.process.poll() is None:
            self._check(deadline, cancel)
            time.sleep(_POLL_SECONDS / 2)
        return self.process.returncode, self.tail.decode("utf-8", "replace")

    def _keep_tail(self, chunk: bytes) -> None:
        self.tail.extend(chunk)
        del self.tail[:-_STDERR_TAIL_BYTES]

    def _check(self, deadline: float, cancel: threading.Event | None) -> None:
        if cancel is not None and cancel.is_set():
            self.kill_group()
            raise Cancelled
        if time.monotonic() > deadline:
            self.kill_group()
            raise MediaTimeout(detail=self.tail.decode("utf-8", "replace"))

    def kill_group(self) -> None:
        """SIGTERM the process group, wait ``grace``, then SIGKILL whatever is left."""
        pgid = self.process.pid  # start_new_session=True: the child leads its own group
        if self.process.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=self.grace)
        _signal_group(pgid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _discard(_: bytes) -> None:
    """Drop a self-check's stdout."""


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _make_output_dir(cwd: Path, folder: str) -> None:
    target = (cwd / folder).resolve()
    if not target.is_relative_to(cwd.resolve()) or target == cwd.resolve():
        raise MediaError(detail=f"output dir outside the job dir: {folder!r}")
    target.mkdir(parents=True, exist_ok=True)


def _failure(code: int, tail: str) -> MediaError:
    if code == -signal.SIGXCPU:
        return MediaTimeout("encoding used more CPU time than allowed", detail=tail)
    if code == -signal.SIGXFSZ:
        return EncodeFailed("an output grew larger than allowed", detail=tail)
    if any(marker in tail for marker in _REJECTION_MARKERS):
        return InputRejected(detail=tail)
    return EncodeFailed(detail=f"exit {code}: {tail}")
