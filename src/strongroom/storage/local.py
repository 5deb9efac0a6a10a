"""Objects as files under one root folder (the embedded profile's backend).

Files are 0600 and folders 0700. A write goes to a temporary file in the target folder and
becomes visible with `os.replace` after an fsync, so readers see the old object or the new
one, never half of one. Keys are validated before any path is built, and files are opened
with O_NOFOLLOW, so a key can never reach outside the root.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from strongroom.storage.interface import DerivedOperations, ObjectNotFound, clamp_range
from strongroom.storage.keys import InvalidObjectKey, is_valid_key, validate_key, validate_prefix

BLOCK_SIZE = 1 << 20
FILE_MODE = 0o600
DIR_MODE = 0o700
# "~" can never appear in a key, so a temporary file is never listed or read as an object.
_TEMP_PREFIX = ".~tmp-"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the folder entry itself reaches the disk.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalWriter:
    """Writes one object to a temporary file; `commit` renames it into place."""

    def __init__(self, final: Path, temp: Path, fd: int) -> None:
        self._final = final
        self._temp = temp
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._size = 0
        self._done = False

    def write(self, data: bytes | memoryview) -> None:
        """Append bytes to the pending object."""
        if self._done:
            raise RuntimeError("the object writer is already closed")
        self._file.write(data)
        self._size += len(data)

    def commit(self) -> int:
        """fsync, rename into place (atomic), and return the size written."""
        if self._done:
            raise RuntimeError("the object writer is already closed")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._temp.replace(self._final)
        except BaseException:
            self.abort()
            raise
        self._done = True
        _fsync_dir(self._final.parent)
        return self._size

    def abort(self) -> None:
        """Remove the temporary file. Safe to call more than once."""
        if self._done:
            return
        self._done = True
        self._file.close()
        self._temp.unlink(missing_ok=True)


class _FileRange:
    """Iterates a byte range of an open file in BLOCK_SIZE pieces and closes the file when
    exhausted, closed, or garbage-collected (a plain generator would leak the descriptor
    if it were never started)."""

    def __init__(self, fd: int, start: int, stop: int) -> None:
        self._file: BinaryIO | None = os.fdopen(fd, "rb", buffering=0)
        self._file.seek(start)
        self._remaining = stop - start

    def __iter__(self) -> _FileRange:
        return self

    def __next__(self) -> bytes:
        if self._file is None:
            raise StopIteration
        block = self._file.read(min(BLOCK_SIZE, self._remaining)) if self._remaining else b""
        if not block:
            self.close()
            raise StopIteration
        self._remaining -= len(block)
        return block

    def close(self) -> None:
        """Release the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        self.close()


class LocalStore(DerivedOperations):
    """An ObjectStore keeping each object as one file under `root`."""

    def __init__(self, root: Path) -> None:
        root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        self._root = root

    def __repr__(self) -> str:
        return "LocalStore(...)"

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*validate_key(key).split("/"))

    def _make_parents(self, path: Path) -> None:
        # Path.mkdir(parents=True) would create the intermediate folders with the default
        # mode, so each level is created here with 0700.
        current = self._root
        for part in path.relative_to(self._root).parts[:-1]:
            current = current / part
            try:
                current.mkdir(mode=DIR_MODE)
            except FileExistsError:
                if not current.is_dir() or current.is_symlink():
                    raise InvalidObjectKey("object key collides with an existing object") from None

    def open_write(self, key: str) -> LocalWriter:
        """Start writing `key`; nothing is visible until `commit`."""
        path = self._path(key)
        self._make_parents(path)
        if path.is_dir():
            raise InvalidObjectKey("object key collides with an existing prefix")
        temp = path.with_name(_TEMP_PREFIX + secrets.token_hex(8))
        return LocalWriter(path, temp, os.open(temp, _CREATE_FLAGS, FILE_MODE))

    def _open_regular(self, key: str) -> tuple[int, int]:
        try:
            fd = os.open(self._path(key), _READ_FLAGS)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ObjectNotFound(key) from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ObjectNotFound(key)
        return fd, info.st_size

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes [start, end) in blocks of at most 1 MiB."""
        fd, size = self._open_regular(key)
        try:
            first, stop = clamp_range(start, end, size)
        except ValueError:
            os.close(fd)
            raise
        return _FileRange(fd, first, stop)

    def size(self, key: str) -> int:
        """Size in bytes; ObjectNotFound if missing."""
        try:
            info = self._path(key).lstat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if not stat.S_ISREG(info.st_mode):
            raise ObjectNotFound(key)
        return info.st_size

    def delete(self, key: str) -> None:
        """Delete the object if present, and any folders it leaves empty."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            path.unlink()
        self._prune(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object equal to or under `prefix` (not "": that would be all)."""
        if validate_prefix(prefix) == "":
            raise InvalidObjectKey("refusing to delete with an empty prefix")
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    def list(self, prefix: str) -> list[str]:
        """Sorted keys equal to or under `prefix`."""
        clean = validate_prefix(prefix)
        base = self._root.joinpath(*clean.split("/")) if clean else self._root
        if clean and self.exists(clean):
            return [clean]
        if base.is_symlink() or not base.is_dir():
            return []
        return sorted(self._walk(base, clean))

    def _walk(self, folder: Path, key_prefix: str) -> Iterator[str]:
        with os.scandir(folder) as entries:
            for entry in entries:
                key = f"{key_prefix}/{entry.name}" if key_prefix else entry.name
                if not is_valid_key(key):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    yield from self._walk(Path(entry.path), key)
                elif entry.is_file(follow_symlinks=False):
                    yield key

    def _prune(self, folder: Path) -> None:
        # Remove folders left empty, stopping at the root or the first non-empty one.
        while folder != self._root and self._root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent
