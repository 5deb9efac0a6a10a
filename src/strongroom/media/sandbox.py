"""Wrap a media process in bubblewrap: no network, read-only system, one writable directory.

Only the argument list is built here (pure); ``runner`` decides whether bwrap exists and works.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

_NAMESPACE_FLAGS = ("--unshare-all", "--die-with-parent", "--new-session")
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_SYSTEM_FILES = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
)


def bwrap_argv(bwrap: str, job_dir: Path, readonly: Iterable[Path], argv: list[str]) -> list[str]:
    """Return ``argv`` wrapped in ``bwrap`` with every namespace unshared (so no network).

    ``/usr`` and the system library folders are mounted read-only (on merged-/usr systems the
    top-level folders become the same symlinks), plus ``readonly`` paths such as the ffmpeg
    binary's folder and the Python environment. ``job_dir`` is the only writable bind and the
    working directory; ``/tmp`` is a private tmpfs.
    """
    # The fresh /proc, /dev and /tmp come first: a later bind lands on top of them, so a
    # virtualenv or job folder that lives under /tmp stays visible (an earlier one would be
    # hidden by the tmpfs). The tmpfs is inside the sandbox, not a host file: S108 does not apply.
    args = [bwrap, *_NAMESPACE_FLAGS, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # noqa: S108
    args += ["--ro-bind", "/usr", "/usr"]
    for folder in _SYSTEM_DIRS:
        args += _system_dir(folder)
    for name in _SYSTEM_FILES:
        args += ["--ro-bind-try", name, name]
    for path in sorted({str(p) for p in readonly}):
        args += ["--ro-bind-try", path, path]
    args += ["--bind", str(job_dir), str(job_dir), "--chdir", str(job_dir), "--"]
    return args + argv


def _system_dir(folder: str) -> list[str]:
    path = Path(folder)
    if path.is_symlink():
        return ["--symlink", str(path.readlink()), folder]
    if path.is_dir():
        return ["--ro-bind", folder, folder]
    return []
