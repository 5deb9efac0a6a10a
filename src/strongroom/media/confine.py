"""Landlock and seccomp: kernel layers around a media process, where the kernel has them.

Both are applied by the process itself just before it becomes ffmpeg or the probe, and both are
inherited across ``exec`` and can't be undone:

* **Landlock** (Linux >= 5.13): the process may read and execute only the system library folders
  and the program's own folders, and read and write only the job directory. From Landlock ABI 4
  it may not bind or connect TCP sockets either; from ABI 6 it may not reach abstract Unix
  sockets or signal processes outside its own sandbox.
* **seccomp**: a deny list (``DENIED_SYSCALLS``) answered with ``EPERM``: sockets, debugging other
  processes, the kernel keyring, namespaces and mounts, io_uring (whose operations bypass
  seccomp), module loading. The filter is compiled once by libseccomp (through ``pyseccomp``,
  optional) and loaded as a raw BPF program, so the child only makes two ``prctl`` calls.

Without bubblewrap, ``runner`` applies them in the child between fork and exec. Inside
bubblewrap they can't be applied before ``bwrap`` starts (a Landlock-restricted process may not
mount, and bwrap must bind and also configure loopback through a netlink socket), so ``runner``
starts ``python -I -m strongroom.media.confine SPEC -- PROGRAM ARGS...`` inside the sandbox: this
module's ``main`` applies the layers and replaces itself with the program (``execv``; it never
starts a process).

Landlock is spoken to through ``ctypes`` rather than the PyPI ``landlock`` package because that
package (1.0.0.dev5, pre-release) has no network rules or scopes and reports stale ``errno``
values as failures.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntFlag
from pathlib import Path
from typing import Any

__all__ = [
    "DENIED_SYSCALLS",
    "SYSTEM_READ_EXEC",
    "Confinement",
    "FsAccess",
    "Layers",
    "PathRule",
    "compile_seccomp_filter",
    "detect_layers",
    "landlock_abi",
    "path_rules",
    "shim_argv",
]

# What every media process may read and execute: the system's libraries and loader cache.
SYSTEM_READ_EXEC = (
    "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache", "/etc/alternatives",
)  # fmt: skip

# ffmpeg and the probe never need any of these. Sockets are refused for every family, not just
# AF_INET/AF_INET6: the media programs read local files only, and a Unix socket (a container
# runtime's, a database's) is as much a way out as TCP.
DENIED_SYSCALLS = (
    # network
    "socket", "connect", "bind", "listen", "accept", "accept4",
    # io_uring can open sockets and files without passing through this filter
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # other processes' memory, and debugging
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "perf_event_open",
    # the kernel keyring
    "keyctl", "add_key", "request_key",
    # namespaces, mounts, file handles (a classic container escape)
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr", "open_by_handle_at",
    "name_to_handle_at",
    # the kernel itself
    "bpf", "userfaultfd", "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl",
)  # fmt: skip

# Landlock's syscalls have the same numbers on every architecture (they came after the 5.1
# unification); only where the kernel ABI is known to be that are they used.
_LANDLOCK_MACHINES = frozenset({"x86_64", "aarch64", "arm64", "riscv64"})
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_BPF_INSTRUCTION_BYTES = 8
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_EXIT_USAGE, _EXIT_CONFINE_FAILED, _EXIT_EXEC_FAILED = 64, 70, 127

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
if _LIBC is not None:
    _LIBC.syscall.restype = ctypes.c_long  # ctypes assumes int; syscall(2) returns long


class FsAccess(IntFlag):
    """Landlock filesystem access rights (``LANDLOCK_ACCESS_FS_*``)."""

    EXECUTE = 1 << 0
    WRITE_FILE = 1 << 1
    READ_FILE = 1 << 2
    READ_DIR = 1 << 3
    REMOVE_DIR = 1 << 4
    REMOVE_FILE = 1 << 5
    MAKE_CHAR = 1 << 6
    MAKE_DIR = 1 << 7
    MAKE_REG = 1 << 8
    MAKE_SOCK = 1 << 9
    MAKE_FIFO = 1 << 10
    MAKE_BLOCK = 1 << 11
    MAKE_SYM = 1 << 12
    REFER = 1 << 13  # ABI 2
    TRUNCATE = 1 << 14  # ABI 3
    IOCTL_DEV = 1 << 15  # ABI 5


_READ_EXEC_FILE = FsAccess.EXECUTE | FsAccess.READ_FILE
_READ_EXEC_DIR = _READ_EXEC_FILE | FsAccess.READ_DIR
# No EXECUTE, no devices, sockets, FIFOs or symlinks: the job directory holds media, nothing else.
_READ_WRITE_DIR = (
    FsAccess.READ_FILE | FsAccess.WRITE_FILE | FsAccess.READ_DIR | FsAccess.REMOVE_DIR
    | FsAccess.REMOVE_FILE | FsAccess.MAKE_DIR | FsAccess.MAKE_REG | FsAccess.REFER
    | FsAccess.TRUNCATE
)  # fmt: skip


def handled_fs(abi: int) -> int:
    """Every filesystem right the kernel's Landlock ``abi`` knows (all of them are restricted)."""
    # Each ABI added exactly one filesystem right, in bit order: 2 REFER, 3 TRUNCATE, 5 IOCTL_DEV.
    added = (
        (5, FsAccess.IOCTL_DEV),
        (3, FsAccess.TRUNCATE),
        (2, FsAccess.REFER),
        (1, FsAccess.MAKE_SYM),
    )
    highest = next((right for since, right in added if abi >= since), None)
    return 0 if highest is None else (highest << 1) - 1


@dataclass(frozen=True, order=True)
class PathRule:
    """Allow ``access`` (``FsAccess`` bits) beneath ``path``."""

    path: str
    access: int


def path_rules(read_exec: Iterable[Path], read_write: Path, abi: int) -> tuple[PathRule, ...]:
    """Landlock rules for ``abi``: ``read_exec`` readable and executable, ``read_write`` (the job
    directory) readable and writable. Sorted and without duplicates.

    A path is resolved first (Landlock follows symlinks when it opens it). A missing path gets
    no rule; a file gets only file rights (the kernel refuses directory rights on a file).
    ``read_write`` must be a directory, else ``ValueError``.
    """
    handled = handled_fs(abi)
    rules = set()
    for path in read_exec:
        resolved = path.resolve()
        if resolved.is_dir():
            rules.add(PathRule(str(resolved), _READ_EXEC_DIR & handled))
        elif resolved.is_file():
            rules.add(PathRule(str(resolved), _READ_EXEC_FILE & handled))
    job = read_write.resolve()
    if not job.is_dir():
        raise ValueError("the writable path must be a directory")
    rules.add(PathRule(str(job), _READ_WRITE_DIR & handled))
    return _drop_covered(sorted(rules))


def _drop_covered(rules: list[PathRule]) -> tuple[PathRule, ...]:
    # Rights apply to everything beneath a rule's folder, so a rule inside another one that
    # already grants all its rights adds nothing (e.g. /lib resolving to /usr/lib, below /usr).
    kept: list[PathRule] = []
    for rule in rules:
        if not any(_covers(outer, rule) for outer in kept):
            kept.append(rule)
    return tuple(kept)


def _covers(outer: PathRule, inner: PathRule) -> bool:
    inside = Path(inner.path).is_relative_to(outer.path)
    return inside and inner.access & ~outer.access == 0


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is missing or turned off."""
    if _LIBC is None or platform.machine() not in _LANDLOCK_MACHINES:
        return 0
    return max(0, _syscall(_SYS_CREATE_RULESET, 0, 0, _CREATE_RULESET_VERSION))


def compile_seccomp_filter(denied: Sequence[str] = DENIED_SYSCALLS) -> bytes:
    """The BPF program (raw ``sock_filter`` array) that answers ``denied`` with ``EPERM``.

    Syscalls this architecture or libseccomp doesn't know are left out. Raises ``ImportError``
    when ``pyseccomp`` is not installed, ``RuntimeError`` when libseccomp is missing.
    """
    # Imported by name: it is optional, and it has no type information.
    seccomp: Any = importlib.import_module("pyseccomp")
    program = seccomp.SyscallFilter(seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in denied:
        number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
        if number >= 0:
            program.add_rule(deny, number)
    with tempfile.TemporaryFile() as out:
        program.export_bpf(out)
        out.seek(0)
        return out.read()


@dataclass(frozen=True)
class Confinement:
    """The Landlock ruleset and seccomp program for one process.

    ``handled_fs == 0`` means no Landlock; an empty ``seccomp_bpf`` means no seccomp.
    """

    handled_fs: int
    handled_net: int
    scoped: int
    rules: tuple[PathRule, ...]
    seccomp_bpf: bytes

    def applier(self) -> Callable[[], None]:
        """Prepare the kernel structures now (in the parent); return the function that applies
        them (in the child, just before exec). That function raises ``OSError`` on failure."""
        landlock = _prepare_landlock(self) if self.handled_fs else None
        seccomp = _prepare_seccomp(self.seccomp_bpf) if self.seccomp_bpf else None

        def apply() -> None:
            # Needed for both (an unprivileged process may not restrict itself otherwise), and
            # it stops a setuid program from regaining what is taken away here.
            _check(_prctl(_PR_SET_NO_NEW_PRIVS, 1, 0))
            if landlock is not None:
                landlock()
            if seccomp is not None:
                seccomp()

        return apply

    def encode(self) -> str:
        """A JSON form for ``shim_argv``'s command line."""
        return json.dumps(
            {
                "fs": self.handled_fs,
                "net": self.handled_net,
                "scoped": self.scoped,
                "rules": [[rule.path, rule.access] for rule in self.rules],
                "seccomp": self.seccomp_bpf.hex(),
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> Confinement:
        """Read ``encode``'s output; raises ``ValueError`` (or ``KeyError``/``TypeError``) on
        anything else."""
        data = json.loads(text)
        rules = tuple(PathRule(str(path), int(access)) for path, access in data["rules"])
        return cls(int(data["fs"]), int(data["net"]), int(data["scoped"]), rules,
                   bytes.fromhex(data["seccomp"]))  # fmt: skip


@dataclass(frozen=True)
class Layers:
    """Which of the two layers this host can apply, found once per worker by ``detect_layers``.

    ``landlock_abi`` is 0 without Landlock; ``seccomp_bpf`` is empty without seccomp; ``notes``
    says why a layer is off, for the log.
    """

    landlock_abi: int
    seccomp_bpf: bytes
    notes: tuple[str, ...] = ()

    @property
    def active(self) -> tuple[str, ...]:
        """The active layers as they appear in the runner's log line."""
        names = []
        if self.landlock_abi:
            tcp = "" if self.landlock_abi >= 4 else ", no TCP rules"
            names.append(f"landlock(abi {self.landlock_abi}{tcp})")
        if self.seccomp_bpf:
            names.append("seccomp")
        return tuple(names)

    def summary(self, *, bwrap: bool) -> str:
        """The runner's log line, e.g. ``sandbox: bwrap+landlock(abi 7)+seccomp+rlimits``, then
        each missing layer and why (``...; landlock unavailable (kernel)``)."""
        active = (*(["bwrap"] if bwrap else []), *self.active)
        head = "+".join((*active, "rlimits")) if active else "rlimits only"
        missing = [] if bwrap else ["bwrap not available"]
        return "; ".join([f"sandbox: {head}", *missing, *self.notes])

    def confinement(self, read_exec: Iterable[Path], job_dir: Path) -> Confinement | None:
        """The confinement for one process working in ``job_dir``; None if no layer is active."""
        if not self.active:
            return None
        abi = self.landlock_abi
        rules = path_rules([*map(Path, SYSTEM_READ_EXEC), *read_exec], job_dir, abi) if abi else ()
        return Confinement(
            handled_fs=handled_fs(abi),
            handled_net=(_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
            scoped=(_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0,
            rules=rules,
            seccomp_bpf=self.seccomp_bpf,
        )


def detect_layers() -> Layers:
    """Find which layers work here: the kernel's Landlock ABI and a compiled seccomp filter."""
    notes = []
    abi = landlock_abi()
    if not abi:
        notes.append("landlock unavailable (kernel)")
    try:
        bpf = compile_seccomp_filter()
    except ImportError:
        bpf = b""
        notes.append("seccomp unavailable (pyseccomp not installed)")
    except (RuntimeError, OSError):
        bpf = b""
        notes.append("seccomp unavailable (libseccomp)")
    return Layers(abi, bpf, tuple(notes))


def shim_argv(python: Path, confinement: Confinement, argv: Sequence[str]) -> list[str]:
    """``argv`` preceded by this module as a shim that applies ``confinement`` and then execs."""
    return [str(python), "-I", "-m", __name__, confinement.encode(), "--", *argv]


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is packed (12 bytes)
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def _prepare_landlock(confinement: Confinement) -> Callable[[], None]:
    attr = _RulesetAttr(confinement.handled_fs, confinement.handled_net, confinement.scoped)
    rules = [(rule.path, _PathBeneathAttr(rule.access, -1)) for rule in confinement.rules]

    def restrict() -> None:
        ruleset = _check(_syscall(_SYS_CREATE_RULESET, ctypes.addressof(attr),
                                  ctypes.sizeof(attr), 0))  # fmt: skip
        try:
            for path, beneath in rules:
                _add_path_rule(ruleset, path, beneath)
            _check(_syscall(_SYS_RESTRICT_SELF, ruleset, 0))
        finally:
            os.close(ruleset)

    return restrict


def _add_path_rule(ruleset: int, path: str, beneath: _PathBeneathAttr) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # gone since the rules were built: no rule only means less access
    try:
        beneath.parent_fd = fd
        _check(_syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.addressof(beneath), 0))
    finally:
        os.close(fd)


def _prepare_seccomp(bpf: bytes) -> Callable[[], None]:
    if not bpf or len(bpf) % _BPF_INSTRUCTION_BYTES:
        raise ValueError("a BPF program is a whole number of 8-byte instructions")
    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    # The kernel reads the instructions through the buffer's address: the closure keeps both.
    kept = (buffer, _SockFprog(len(bpf) // _BPF_INSTRUCTION_BYTES, ctypes.addressof(buffer)))

    def load() -> None:
        _check(_prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(kept[1])))

    return load


def _syscall(number: int, *args: int) -> int:
    if _LIBC is None:
        raise OSError(errno.ENOSYS, "not Linux")
    return int(_LIBC.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args)))


def _prctl(option: int, arg2: int, arg3: int) -> int:
    if _LIBC is None:
        raise OSError(errno.ENOSYS, "not Linux")
    args = (ctypes.c_ulong(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3))
    return int(_LIBC.prctl(*args, ctypes.c_ulong(0), ctypes.c_ulong(0)))


def _check(result: int) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -I -m strongroom.media.confine SPEC -- PROGRAM [ARGS...]``: apply the encoded
    ``Confinement`` to this process, then replace it with ``PROGRAM``. Returns only on failure:
    64 for bad arguments, 70 when the layers can't be applied, 127 when exec fails."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write("usage: confine SPEC -- PROGRAM [ARGS...]\n")
        return _EXIT_USAGE
    try:
        Confinement.decode(args[0]).applier()()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        sys.stderr.write(f"confine failed: {type(exc).__name__}: {exc}\n")
        return _EXIT_CONFINE_FAILED
    try:
        os.execv(args[2], args[2:])  # noqa: S606 - replacing itself with the program is the job
    except OSError as exc:
        sys.stderr.write(f"confine: exec failed: {exc.strerror}\n")
    return _EXIT_EXEC_FAILED


if __name__ == "__main__":
    sys.exit(main())
