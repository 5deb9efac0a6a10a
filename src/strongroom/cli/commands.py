"""One function per `strongroom` command; each parses nothing and calls one service."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from strongroom.cli.errors import CommandFailed


def cmd_init(args: argparse.Namespace) -> int:
    from strongroom.cli.init import initialise  # noqa: PLC0415

    init = initialise(args.data_dir)
    print(f"Data directory ready: {init.data.root}")
    print(f"Local CA certificate (trust this): {init.ca.cert}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from strongroom.cli.serve import ServeOptions, serve  # noqa: PLC0415

    try:
        return serve(
            ServeOptions(
                data_dir=args.data_dir, host=args.host, port=args.port, workers=args.workers
            )
        )
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None


def cmd_background(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from django.conf import settings  # noqa: PLC0415
    from django.utils.module_loading import autodiscover_modules  # noqa: PLC0415

    autodiscover_modules("tasks")
    settings.HUEY.create_consumer(workers=2, worker_type="thread", periodic=True).run()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import migrate, setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    migrate(quiet=False)
    return 0


def cmd_createuser(args: argparse.Namespace) -> int:
    import getpass  # noqa: PLC0415

    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from django.contrib.auth.password_validation import validate_password  # noqa: PLC0415
    from django.core.exceptions import ValidationError  # noqa: PLC0415

    from strongroom.edge.accounts.services import create_user  # noqa: PLC0415

    password = os.environ.get("STRONGROOM_NEW_USER_PASSWORD") or getpass.getpass("Password: ")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise CommandFailed(" ".join(exc.messages)) from None
    create_user(args.email, password, organization=args.organization, staff=args.staff)
    print(f"Created user {args.email}")
    return 0


def cmd_webhook_secret(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.accounts.services import ensure_project  # noqa: PLC0415

    print(ensure_project(args.organization, args.project).webhook_secret)
    return 0


def cmd_join_token(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.jobs.services.workers import create_join_token  # noqa: PLC0415

    print(create_join_token(tuple(args.label)))
    return 0


def cmd_worker_list(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.jobs.services.workers import list_workers  # noqa: PLC0415

    rows = [("WORKER", "NAME", "STATE", "LABELS", "TASK", "LAST SEEN", "VERSION")]
    for w in list_workers():
        seen = w.last_seen_at.strftime("%Y-%m-%d %H:%M:%S") if w.last_seen_at else "-"
        rows.append(
            (
                w.worker_id,
                w.name,
                w.state,
                ",".join(w.labels) or "-",
                w.current_task or "-",
                seen,
                w.version or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_worker_revoke(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.jobs.services.workers import UnknownWorker, revoke_worker  # noqa: PLC0415

    try:
        revoke_worker(args.worker_id, actor=f"cli:{os.environ.get('USER', 'operator')}")
    except UnknownWorker:
        raise CommandFailed(f"no worker {args.worker_id}") from None
    print(f"Revoked {args.worker_id}; its leases go back to the queue")
    return 0


def cmd_ca_path(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import use_data_dir  # noqa: PLC0415

    ca = use_data_dir(args.data_dir).tls / "ca" / "ca.crt"
    if not ca.exists():
        raise CommandFailed(f"no local CA yet in {ca.parent}: run `strongroom init` first")
    print(ca)
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.audit.checkpoints import checkpoint_problems  # noqa: PLC0415
    from strongroom.edge.audit.services import first_broken_event  # noqa: PLC0415

    broken = first_broken_event()
    if broken is not None:
        raise CommandFailed(f"audit chain broken at event {broken}")
    problems = checkpoint_problems()
    if problems:
        raise CommandFailed("; ".join(problems))
    print("audit chain OK")
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    import dataclasses  # noqa: PLC0415
    import json  # noqa: PLC0415

    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415

    setup_django(args.data_dir)
    from strongroom.edge.audit.checkpoints import make_checkpoint  # noqa: PLC0415

    checkpoint = make_checkpoint()
    if checkpoint is None:
        raise CommandFailed("the audit log is empty: nothing to sign yet")
    print(json.dumps(dataclasses.asdict(checkpoint)))  # keep a copy off this host
    return 0


def cmd_worker_run(args: argparse.Namespace) -> int:
    from strongroom.outbound import FetchPolicy  # noqa: PLC0415
    from strongroom.worker.main import WorkerConfig, run_worker  # noqa: PLC0415

    state = Path(args.state_dir or os.environ.get("STRONGROOM_WORKER_DIR") or "worker-state")
    try:
        policy = FetchPolicy(
            allow_networks=tuple(args.allow_network),
            allowed_ports=tuple(sorted({80, 443, *args.allow_port})),
        )
    except ValueError as exc:
        raise CommandFailed(f"--allow-network/--allow-port: {exc}") from None
    config = WorkerConfig(
        edge_url=args.edge,
        state_dir=state,
        join_token=args.join,
        ca_file=Path(args.ca) if args.ca else None,
        name=args.name or os.uname().nodename,
        labels=tuple(args.label),
        ffmpeg=args.ffmpeg,
        drain_seconds=args.drain_seconds,
        fetch_policy=policy,
        slots=args.slots,
    )
    return run_worker(config)


def cmd_transcode(args: argparse.Namespace) -> int:
    from strongroom.cli.transcode import transcode_file  # noqa: PLC0415

    url, key = os.environ.get("STRONGROOM_URL"), os.environ.get("STRONGROOM_API_KEY")
    if not url or not key:
        raise CommandFailed("set STRONGROOM_URL and STRONGROOM_API_KEY")
    ca = args.ca or os.environ.get("STRONGROOM_CA")
    result = transcode_file(
        url, key, Path(args.file), args.preset, Path(args.out), ca_file=Path(ca) if ca else None
    )
    for path in result.downloaded:
        print(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from strongroom.cli.demo import run_demo  # noqa: PLC0415

    return run_demo(
        args.data_dir,
        Path(args.input) if args.input else None,
        Path(args.out) if args.out else None,
        stream=sys.stderr,
    )
