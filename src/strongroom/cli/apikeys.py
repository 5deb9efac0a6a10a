"""`strongroom apikey create | list | regenerate | revoke`: thin wrappers over
strongroom.edge.accounts.apikeys. Django is imported only when a command runs, so `--help`
stays fast and Django-free."""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from strongroom.cli.errors import CommandFailed

if TYPE_CHECKING:  # argparse's subparser class is generic only to type checkers
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def register(commands: Subparsers) -> None:
    apikey = commands.add_parser("apikey", help="API keys").add_subparsers(
        dest="apikey_command", required=True, metavar="APIKEY_COMMAND"
    )
    create = _command(apikey, "create", "create an API key; prints only the key", cmd_create)
    create.add_argument("--project", required=True)
    create.add_argument("--organization", default="default")
    create.add_argument("--name", default="")
    create.add_argument(
        "--scopes",
        default=None,
        type=_scope_list,
        help="comma-separated: tasks:write, tasks:read, uploads (default: all)",
    )
    create.add_argument(
        "--expires-in", type=_positive_int, default=None, metavar="DAYS", help="default: never"
    )
    listing = _command(
        apikey, "list", "a project's keys: scopes, expiry, last use, state", cmd_list
    )
    listing.add_argument("--project", required=True)
    listing.add_argument("--organization", default=None)
    regenerate = _command(
        apikey,
        "regenerate",
        "replace a key with a new one; prints only the new key",
        cmd_regenerate,
    )
    regenerate.add_argument("public_id")
    regenerate.add_argument(
        "--grace",
        type=_non_negative_int,
        default=0,
        metavar="SECONDS",
        help="how long the old key keeps working (default 0: it stops now)",
    )
    revoke = _command(apikey, "revoke", "stop a key and its access tokens now", cmd_revoke)
    revoke.add_argument("public_id")


def _command(
    parent: Subparsers, name: str, help_text: str, handler: Any
) -> argparse.ArgumentParser:
    command = parent.add_parser(name, help=help_text)
    command.add_argument(
        "--data-dir", default=None, help="data directory (default: $STRONGROOM_DATA_DIR or ./var)"
    )
    command.set_defaults(handler=handler)
    return command


def _scope_list(text: str) -> list[str]:
    # Only split here: the service knows the scopes and refuses unknown ones.
    return [part.strip() for part in text.split(",") if part.strip()]


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return int(text)


def _non_negative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError("must be a whole number of at least 0")
    return int(text)


def _actor() -> Any:
    from strongroom.edge.accounts.apikeys import Actor  # noqa: PLC0415

    return Actor.cli(os.environ.get("USER", "operator"))


def cmd_create(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from django.utils import timezone  # noqa: PLC0415

    from strongroom.edge.accounts import apikeys  # noqa: PLC0415
    from strongroom.edge.accounts.services import ensure_project  # noqa: PLC0415

    expires_at = timezone.now() + timedelta(days=args.expires_in) if args.expires_in else None
    try:
        text = apikeys.create_api_key(
            ensure_project(args.organization, args.project),
            name=args.name,
            scopes=args.scopes,
            expires_at=expires_at,
            actor=_actor(),
        )
    except apikeys.InvalidScopes as exc:
        raise CommandFailed(f"--scopes: {exc}") from None
    print(text)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.accounts.apikeys import key_state, list_api_keys  # noqa: PLC0415
    from strongroom.edge.accounts.services import UnknownProject, find_project  # noqa: PLC0415

    try:
        project = find_project(args.project, args.organization)
    except UnknownProject:
        raise CommandFailed(
            f"no single project named {args.project!r} (give --organization)"
        ) from None
    rows: list[tuple[str, ...]] = [
        ("KEY", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "FROM", "STATE")
    ]
    for key in list_api_keys(project):
        rows.append(
            (
                key.public_id,
                key.name or "-",
                ",".join(key.scopes) or "-",
                _when(key.created_at),
                _when(key.expires_at),
                _when(key.last_used_at),
                key.last_used_ip or "-",
                str(key_state(key)),
            )
        )
    _print_table(rows)
    return 0


def cmd_regenerate(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.accounts import apikeys  # noqa: PLC0415

    try:
        key = apikeys.find_api_key(args.public_id)
        print(apikeys.regenerate_api_key(key, grace_seconds=args.grace, actor=_actor()))
    except apikeys.UnknownApiKey:
        raise CommandFailed(f"no API key {args.public_id}") from None
    except apikeys.ApiKeyNotActive:
        raise CommandFailed(
            f"API key {args.public_id} is revoked, expired, already replaced or its creator "
            "is deactivated: create a new key instead"
        ) from None
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.accounts import apikeys  # noqa: PLC0415

    try:
        key = apikeys.find_api_key(args.public_id)
    except apikeys.UnknownApiKey:
        raise CommandFailed(f"no API key {args.public_id}") from None
    if apikeys.revoke_api_key(key, actor=_actor()):
        print(f"Revoked {key.public_id}; its access tokens stop now")
    else:
        print(f"{key.public_id} was already revoked")
    return 0


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
