"""The `strongroom` command. Thin: parse arguments, call one function, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from strongroom import __version__
from strongroom.cli import apikeys, keys, logs, users

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strongroom",
        description="Strongroom: a self-hosted, secure-by-default video transcoding service "
        "speaking the Qencode v1 API. Every command takes --data-dir (or "
        "STRONGROOM_DATA_DIR; default ./var). See docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"strongroom {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _server_commands(commands)
    _admin_commands(commands)
    logs.register(commands)
    _client_commands(commands)
    return parser


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", default=None, help="data directory (default: $STRONGROOM_DATA_DIR or ./var)"
    )


def _server_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = commands.add_parser(
        "init", help="create the data directory, keys, certificates and database"
    )
    _data_dir(init)
    init.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_init"))
    serve = commands.add_parser("serve", help="run the edge (HTTPS), local workers and background")
    _data_dir(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--workers", default="auto", help="local worker processes: N or 'auto'")
    serve.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_serve"))
    background = commands.add_parser("background", help="run the background task consumer")
    _data_dir(background)
    background.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_background"))
    worker = commands.add_parser("worker", help="encoder workers").add_subparsers(
        dest="worker_command", required=True, metavar="WORKER_COMMAND"
    )
    token = worker.add_parser("join-token", help="print a one-time worker join token")
    _data_dir(token)
    token.add_argument("--label", action="append", default=[], help="label for the joining worker")
    token.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_join_token"))
    listing = worker.add_parser("list", help="enrolled workers: state, labels, current job")
    _data_dir(listing)
    listing.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_worker_list"))
    revoke = worker.add_parser("revoke", help="refuse a worker's key from its next request on")
    _data_dir(revoke)
    revoke.add_argument("worker_id")
    revoke.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_worker_revoke"))
    run = worker.add_parser("run", help="run a standalone worker against an edge")
    run.add_argument("--edge", required=True, help="the edge's base URL (https://…)")
    run.add_argument("--join", default=None, help="one-time join token (first start only)")
    run.add_argument("--ca", default=None, help="CA certificate to trust for the edge")
    run.add_argument("--state-dir", default=None, help="where the worker keeps its identity")
    run.add_argument("--name", default=None)
    run.add_argument("--label", action="append", default=[])
    run.add_argument("--ffmpeg", default=None, help="ffmpeg binary (default: the pinned build)")
    run.add_argument(
        "--slots",
        default="auto",
        type=_slots,
        help="jobs at once: N, or 'auto' (one per two cores, fewer if memory is short)",
    )
    run.add_argument(
        "--allow-network",
        action="append",
        default=[],
        metavar="CIDR",
        help="let source URLs reach this private network (default: public only)",
    )
    run.add_argument(
        "--allow-port",
        action="append",
        default=[],
        type=int,
        metavar="PORT",
        help="a port source URLs may use besides 80 and 443",
    )
    run.add_argument(
        "--drain-seconds",
        type=float,
        default=300.0,
        help="after SIGTERM, finish the current job for this long, then hand it back",
    )
    run.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_worker_run"))


def _admin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = commands.add_parser("migrate", help="apply database migrations")
    _data_dir(migrate)
    migrate.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_migrate"))
    user = commands.add_parser("createuser", help="create a console user")
    _data_dir(user)
    user.add_argument("--email", required=True)
    user.add_argument("--organization", default=None)
    user.add_argument("--staff", action="store_true")
    user.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_createuser"))
    apikeys.register(commands)
    users.register(commands)
    hooks = commands.add_parser("webhooks", help="callbacks").add_subparsers(
        dest="webhooks_command", required=True, metavar="WEBHOOKS_COMMAND"
    )
    secret = hooks.add_parser("secret", help="print a project's callback signing secret")
    _data_dir(secret)
    secret.add_argument("--project", required=True)
    secret.add_argument("--organization", default="default")
    secret.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_webhook_secret"))
    certs = commands.add_parser("certs", help="TLS certificates").add_subparsers(
        dest="certs_command", required=True, metavar="CERTS_COMMAND"
    )
    ca_path = certs.add_parser("ca-path", help="print the local CA certificate's path")
    _data_dir(ca_path)
    ca_path.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_ca_path"))
    for name, help_text in (
        ("create", "create the local CA and server certificates, or renew expiring ones"),
        ("renew", "re-issue the local server certificates now"),
        ("inspect", "show the served certificates and check them (exit 1 on a problem)"),
    ):
        command = certs.add_parser(name, help=help_text)
        _data_dir(command)
        command.set_defaults(handler=_lazy("strongroom.cli.certs", f"cmd_certs_{name}"))
    keys.register(commands)  # keys status|rotate|retire, projects delete
    workers = commands.add_parser("workers", help="list enrolled workers (= worker list)")
    _data_dir(workers)
    workers.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_worker_list"))
    audit = commands.add_parser("audit", help="audit log").add_subparsers(
        dest="audit_command", required=True, metavar="AUDIT_COMMAND"
    )
    verify = audit.add_parser("verify", help="check the audit hash chain")
    _data_dir(verify)
    verify.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_audit_verify"))
    checkpoint = audit.add_parser("checkpoint", help="sign the chain's head; prints it for export")
    _data_dir(checkpoint)
    checkpoint.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_audit_checkpoint"))


def _client_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    transcode = commands.add_parser(
        "transcode", help="transcode a file on a server ($STRONGROOM_URL, $STRONGROOM_API_KEY)"
    )
    transcode.add_argument("file")
    transcode.add_argument("--preset", default="mp4", help="mp4, hls or demo (docs/cli.md)")
    transcode.add_argument("--out", default=".", help="where to download the outputs")
    transcode.add_argument("--ca", default=None, help="CA certificate ($STRONGROOM_CA)")
    transcode.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_transcode"))
    demo = commands.add_parser("demo", help="run an end-to-end transcode on the embedded default")
    _data_dir(demo)
    demo.add_argument("--input", default=None, help="a video file (default: a generated clip)")
    demo.add_argument("--out", default=None, help="where to put the outputs (default: DATA/demo)")
    demo.set_defaults(handler=_lazy("strongroom.cli.commands", "cmd_demo"))


def _lazy(module: str, name: str) -> Handler:
    """Import a command only when it runs: `--help` and client commands stay Django-free."""

    def handler(args: argparse.Namespace) -> int:
        import importlib  # noqa: PLC0415

        result: int = getattr(importlib.import_module(module), name)(args)
        return result

    return handler


def _slots(text: str) -> int | None:
    if text == "auto":
        return None
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError("a number from 1 to 64, or 'auto'")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # everything Strongroom writes is private to its user
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request's full URL at INFO, and ours carry signed grant and media tokens.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the command's own errors are printed plainly, without a traceback
        from strongroom.cli.errors import describe  # noqa: PLC0415

        message = describe(exc)
        if message is None:
            raise
        print(f"strongroom: {message}", file=sys.stderr)
        return 1
