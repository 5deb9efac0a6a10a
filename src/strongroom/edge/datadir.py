"""The embedded profile's data directory (`--data-dir` / `STRONGROOM_DATA_DIR`, default `./var`).

Everything Strongroom persists on the embedded default lives below one private (0700) folder:
the master key, the local CA and server certificate, the SQLCipher database, the task queue's
database and the encrypted object store. Nothing in it is ever written in the clear except
public certificates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "var"


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def master_key(self) -> Path:
        return self.root / "keys" / "master.json"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def database(self) -> Path:
        return self.root / "db" / "strongroom.db"

    @property
    def task_queue(self) -> Path:
        return self.root / "db" / "tasks.db"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def workers(self) -> Path:
        return self.root / "workers"

    @property
    def server_info(self) -> Path:
        """Written by `strongroom serve` so other commands can find the running edge."""
        return self.root / "run" / "server.json"

    def create(self) -> None:
        """Create every folder private to the owner (idempotent)."""
        for folder in (
            self.root,
            self.master_key.parent,
            self.tls,
            self.database.parent,
            self.objects,
            self.workers,
            self.server_info.parent,
        ):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)


def resolve_data_dir(value: str | os.PathLike[str] | None) -> DataDir:
    return DataDir(Path(value or DEFAULT_DATA_DIR).expanduser().resolve())
