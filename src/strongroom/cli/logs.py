"""`strongroom logs search`: the request log, newest first, as a table or JSON lines."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from strongroom.cli.errors import CommandFailed

if TYPE_CHECKING:
    from strongroom.edge.audit.models import RequestLog

FILTERS = ("since", "until", "status", "route", "actor", "address", "request_id", "text", "limit")
COLUMNS = (
    ("time (UTC)", 19),
    ("request", 16),
    ("method", 7),
    ("status", 6),
    ("ms", 9),
    ("actor", 24),
    ("address", 15),
    ("route", 0),
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    logs = commands.add_parser("logs", help="the request log").add_subparsers(
        dest="logs_command", required=True, metavar="LOGS_COMMAND"
    )
    search = logs.add_parser(
        "search",
        help="search the request log (newest first)",
        description="Every filter narrows the search; times are 15m, 2h, 7d (ago) or ISO 8601.",
    )
    search.add_argument(
        "--data-dir", default=None, help="data directory (default: $STRONGROOM_DATA_DIR or ./var)"
    )
    search.add_argument("--since", help="only requests at or after this time")
    search.add_argument("--until", help="only requests before this time")
    search.add_argument("--status", help="a status code (404) or class (5xx)")
    search.add_argument("--route", help="a route template as logged (/v1/status, stream:tus)")
    search.add_argument("--actor", help="API key id, worker id or user id (optionally kind:id)")
    search.add_argument("--address", help="client address")
    search.add_argument("--request-id", help="the X-Request-Id of one request")
    search.add_argument(
        "--text",
        help="case-insensitive text in the path or user agent (without --since: last 7 days)",
    )
    search.add_argument("--limit", default="50", help="most records to show (1-1000)")
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.set_defaults(handler=cmd_logs_search)


def cmd_logs_search(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415  (Django only when run)

    setup_django(args.data_dir)
    from strongroom.edge.audit.request_search import (  # noqa: PLC0415
        InvalidFilter,
        filters_from_strings,
        search_requests,
    )

    try:
        filters = filters_from_strings({name: getattr(args, name) for name in FILTERS})
    except InvalidFilter as exc:
        raise CommandFailed(str(exc)) from None
    records = search_requests(filters).records
    if args.json:
        for record in records:
            print(json.dumps(as_dict(record), separators=(",", ":")))
    else:
        print(render_table(records))
    return 0


def as_dict(record: RequestLog) -> dict[str, Any]:
    return {
        "started_at": record.started_at.isoformat(),
        "request_id": record.request_id,
        "method": record.method,
        "route": record.route,
        "path": record.path,
        "status": record.status,
        "duration_ms": record.duration_ms,
        "bytes_in": record.bytes_in,
        "bytes_out": record.bytes_out,
        "actor_kind": record.actor_kind,
        "actor_id": record.actor_id,
        "organization_id": record.organization_id,
        "address": record.address,
        "user_agent": record.user_agent,
    }


def render_table(records: list[RequestLog]) -> str:
    lines = [_row([title for title, _ in COLUMNS])]
    for record in records:
        actor = f"{record.actor_kind}:{record.actor_id}" if record.actor_kind else "-"
        lines.append(
            _row(
                [
                    record.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                    record.request_id,
                    record.method,
                    str(record.status),
                    f"{record.duration_ms:.1f}",
                    actor,
                    record.address or "-",
                    f"{record.route}  {record.path}",
                ]
            )
        )
    return "\n".join(lines) if records else "no matching requests"


def _row(cells: list[str]) -> str:
    return "  ".join(
        _printable(cell).ljust(width) if width else _printable(cell)
        for cell, (_, width) in zip(cells, COLUMNS, strict=True)
    ).rstrip()


def _printable(text: str) -> str:
    # Paths and agents come from clients: no control characters reach the operator's terminal.
    return "".join(ch if ch.isprintable() else "?" for ch in text)
