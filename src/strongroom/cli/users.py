"""`strongroom users list | deactivate | activate | end-sessions | reset-2fa`: operator actions
on console users, thin wrappers over strongroom.edge.accounts.users (Django loads only when a
command runs)."""

from __future__ import annotations

import argparse
import os
from typing import Any, TypeAlias

from strongroom.cli.errors import CommandFailed

Subparsers: TypeAlias = (
    "argparse._SubParsersAction[argparse.ArgumentParser]"  # subscriptable only when type checking
)


def register(commands: Subparsers) -> None:
    users = commands.add_parser("users", help="console users").add_subparsers(
        dest="users_command", required=True, metavar="USERS_COMMAND"
    )
    _command(users, "list", "users: state, 2FA, open sessions, last sign-in", cmd_list)
    for name, help_text in (
        ("deactivate", "stop a user now: sessions end and their API keys stop"),
        ("activate", "let a deactivated user sign in again"),
        ("end-sessions", "sign a user out of every browser"),
        ("reset-2fa", "remove a user's authenticator and recovery codes; signs them out"),
    ):
        _command(users, name, help_text, cmd_change).add_argument("email")


def _command(
    parent: Subparsers, name: str, help_text: str, handler: Any
) -> argparse.ArgumentParser:
    command = parent.add_parser(name, help=help_text)
    command.add_argument(
        "--data-dir", default=None, help="data directory (default: $STRONGROOM_DATA_DIR or ./var)"
    )
    command.set_defaults(handler=handler)
    return command


def _operator() -> str:
    return f"cli:{os.environ.get('USER', 'operator')}"


def cmd_list(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.accounts.users import list_users  # noqa: PLC0415

    print(f"{'EMAIL':32} {'STATE':8} {'2FA':4} {'SESSIONS':8} LAST SIGN-IN")
    for user in list_users():
        state = "active" if user.active else "inactive"
        second = "yes" if user.second_factor else "no"
        last = user.last_login.strftime("%Y-%m-%d %H:%M") if user.last_login else "-"
        print(f"{user.email:32} {state:8} {second:4} {user.sessions:<8} {last}")
    return 0


def cmd_change(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.accounts import users  # noqa: PLC0415

    try:
        if args.users_command in ("deactivate", "activate"):
            users.set_active(args.email, args.users_command == "activate", actor=_operator())
            print(f"{args.email}: {args.users_command}d")
        elif args.users_command == "end-sessions":
            ended = users.end_all_sessions(args.email, actor=_operator())
            print(f"{args.email}: {ended} session(s) ended")
        else:
            users.reset_second_factor(args.email, actor=_operator())
            print(f"{args.email}: second factor removed; every session ended")
    except users.UnknownUser:
        raise CommandFailed(f"no user {args.email!r}") from None
    return 0
