"""`strongroom keys status | rotate | retire` and `strongroom projects delete`: thin wrappers
over strongroom.edge.jobs.services.{keys,key_rotation,shredding}. Django is imported only when
a command runs, so `--help` stays fast and Django-free."""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from strongroom.cli.errors import CommandFailed

if TYPE_CHECKING:  # argparse's subparser class is generic only to type checkers
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

WAIT_POLL_SECONDS = 2.0


def register(commands: Subparsers) -> None:
    keys = commands.add_parser("keys", help="object encryption keys").add_subparsers(
        dest="keys_command", required=True, metavar="KEYS_COMMAND"
    )
    _command(
        keys, "status", "which key wraps how many stored objects; rotation progress", cmd_status
    )
    rotate = _command(
        keys, "rotate", "new key for new data; re-wrap every stored data key under it", cmd_rotate
    )
    rotate.add_argument(
        "--wait", action="store_true", help="do the re-wrapping here and show progress"
    )
    rotate.add_argument(
        "--key-file-is-shared",
        action="store_true",
        help="cluster profile with a local key: every edge reads the same object key file",
    )
    retire = _command(keys, "retire", "stop using a key no object needs any more", cmd_retire)
    retire.add_argument("key_id")
    projects = commands.add_parser("projects", help="projects").add_subparsers(
        dest="projects_command", required=True, metavar="PROJECTS_COMMAND"
    )
    delete = _command(
        projects,
        "delete",
        "delete a project and crypto-shred all of its media",
        cmd_projects_delete,
    )
    delete.add_argument("name")
    delete.add_argument("--organization", default=None)
    delete.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")


def _command(
    parent: Subparsers, name: str, help_text: str, handler: Any
) -> argparse.ArgumentParser:
    command = parent.add_parser(name, help=help_text)
    command.add_argument(
        "--data-dir", default=None, help="data directory (default: $STRONGROOM_DATA_DIR or ./var)"
    )
    command.set_defaults(handler=handler)
    return command


def _setup(args: argparse.Namespace) -> None:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)


@contextlib.contextmanager
def _key_file_errors() -> Iterator[None]:
    """A broken or unreadable key file is the operator's to fix: one line, no traceback."""
    from strongroom.crypto.keyfile import KeyFileError  # noqa: PLC0415
    from strongroom.crypto.providers import KekConfigError  # noqa: PLC0415

    try:
        yield
    except (KeyFileError, KekConfigError) as exc:
        raise CommandFailed(str(exc)) from None


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'operator')}"


def cmd_status(args: argparse.Namespace) -> int:
    _setup(args)
    from strongroom.edge.jobs.services.keys import key_usage  # noqa: PLC0415

    with _key_file_errors():
        usage = key_usage()
    print(f"primary key: {usage.primary}")
    for key_id in sorted(set(usage.usable) | set(usage.objects_by_key)):
        role = (
            "primary"
            if key_id == usage.primary
            else ("unwrap-only" if key_id in usage.usable else "NOT AVAILABLE")
        )
        print(f"{key_id}  {usage.objects_by_key.get(key_id, 0)} object(s)  {role}")
    if usage.rotation is not None:
        print(_progress(usage.rotation))
    return 0


def _progress(rotation: Any) -> str:
    line = (
        f"rotation {rotation.pk} to {rotation.target_key_id}: {rotation.status}, "
        f"{rotation.done}/{rotation.total} object(s) done, {rotation.rewrapped} re-wrapped, "
        f"{rotation.failed} failed"
    )
    return f"{line}; last error: {rotation.last_error}" if rotation.last_error else line


def cmd_rotate(args: argparse.Namespace) -> int:
    _setup(args)
    from strongroom.edge.jobs.services import key_rotation  # noqa: PLC0415

    try:
        start = key_rotation.start_rotation(
            actor=_actor(), key_file_is_shared=args.key_file_is_shared
        )
    except key_rotation.RotationRefused as exc:
        raise CommandFailed(str(exc)) from None
    rotation = start.rotation
    verb = "resuming" if start.resumed else "started"
    print(f"{verb} rotation {rotation.pk}: {rotation.previous_key_id} -> {rotation.target_key_id}")
    if not args.wait:
        print("re-wrapping runs in the background; follow it with `strongroom keys status`")
        return 0
    return _wait(rotation.pk)


def _wait(rotation_id: int) -> int:
    from strongroom.crypto.kek import KeyProviderUnavailable  # noqa: PLC0415
    from strongroom.edge.jobs.models import KeyRotation, RotationStatus  # noqa: PLC0415
    from strongroom.edge.jobs.services.key_rotation import run_rotation  # noqa: PLC0415

    while True:
        try:
            more = run_rotation(rotation_id)
        except KeyProviderUnavailable as exc:
            raise CommandFailed(f"rotation paused (progress kept): {exc}") from None
        rotation = KeyRotation.objects.get(pk=rotation_id)
        print(_progress(rotation), flush=True)
        if rotation.status != RotationStatus.RUNNING:
            return 0 if rotation.failed == 0 else 1
        if not more:  # the background consumer holds this rotation: watch it
            time.sleep(WAIT_POLL_SECONDS)


def cmd_retire(args: argparse.Namespace) -> int:
    _setup(args)
    from strongroom.edge.jobs.services.keys import RetireRefused, retire_key  # noqa: PLC0415

    try:
        with _key_file_errors():
            retire_key(args.key_id, actor=_actor())
    except RetireRefused as exc:
        raise CommandFailed(str(exc)) from None
    print(f"retired {args.key_id}")
    return 0


def cmd_projects_delete(args: argparse.Namespace) -> int:
    if not args.yes:
        raise CommandFailed("this destroys the project's media for good; add --yes to confirm")
    _setup(args)
    from strongroom.edge.accounts.services import UnknownProject, find_project  # noqa: PLC0415
    from strongroom.edge.jobs.services.shredding import (  # noqa: PLC0415
        delete_project as delete,
    )

    try:
        project = find_project(args.name, args.organization)
    except UnknownProject:
        raise CommandFailed(f"no single project named {args.name!r} (try --organization)") from None
    result = delete(project, actor=_actor())
    print(
        f"deleted project {args.name}: {result.objects} object(s) of {result.tasks} task(s) "
        f"and {result.uploads} upload(s) shredded"
    )
    return 0
