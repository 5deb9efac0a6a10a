"""Seed a benchmark edge's data folder through the product's own services; JSON on stdout.

``python -m bench.edge_seed --data-dir D tasks --count 10000 --started 1000``: a project with
``count`` tasks, the first ``started`` of them started (spec, outputs, work item), and prints
the started tokens. ``upload-tasks --count N``: N fresh tasks a tus upload can target.
``media --size BYTES --count N``: N encrypted stored objects and their signed media paths.
Run as its own process by ``bench.edge_server``: Django is set up for this data folder only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

BLOCK = 1 << 20
EXTERNAL_SOURCE = "https://media.example.com/in.mp4"  # never fetched: no worker runs
FORMATS = [{"output": "mp4", "resolution": 240, "tag": "small"},
           {"output": "advanced_hls", "stream": [{"size": "1280x720", "video_codec": "libx264"}]}]


def _project() -> Any:
    from strongroom.edge.accounts.services import ensure_project  # noqa: PLC0415
    return ensure_project("Bench", "Status")


def seed_tasks(count: int, started: int) -> dict[str, Any]:
    """``count`` tasks in one bulk insert; the first ``started`` go through start_task."""
    import secrets  # noqa: PLC0415

    from strongroom.edge.jobs.models import Task  # noqa: PLC0415
    from strongroom.edge.jobs.services import tasks as task_service  # noqa: PLC0415
    project = _project()
    rows = [Task(project=project, token=secrets.token_hex(16)) for _ in range(count)]
    Task.objects.bulk_create(rows, batch_size=2000)
    query = json.dumps({"query": {"source": EXTERNAL_SOURCE, "format": FORMATS}})
    tokens = [task_service.start_task(row.token, query).token for row in rows[:started]]
    return {"tasks": Task.objects.filter(project=project).count(), "started": tokens}


def seed_upload_tasks(count: int) -> dict[str, Any]:
    """Fresh tasks (status created) with no API key: not scope-limited, as from the console."""
    from strongroom.edge.jobs.services import tasks as task_service  # noqa: PLC0415
    project = _project()
    return {"tokens": [task_service.create_task(project).token for _ in range(count)]}


def seed_media(size: int, count: int) -> dict[str, Any]:
    """``count`` objects of ``size`` bytes, encrypted like outputs; one media path each."""
    from strongroom.edge.jobs.services.grants import media_token  # noqa: PLC0415
    from strongroom.edge.jobs.services.objects import object_store  # noqa: PLC0415
    store, block, paths = object_store(), os.urandom(BLOCK), []
    for index in range(count):
        prefix = f"tasks/bench{index:04d}/out0/"
        writer = store.open_write(prefix + "video.mp4")
        for _ in range(size // BLOCK):
            writer.write(block)
        writer.write(block[: size % BLOCK])
        writer.commit()
        paths.append(f"/media/{media_token(prefix)}/video.mp4")
    return {"paths": paths}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.edge_seed")
    parser.add_argument("--data-dir", required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    tasks = commands.add_parser("tasks")
    tasks.add_argument("--count", type=int, required=True)
    tasks.add_argument("--started", type=int, default=0)
    upload = commands.add_parser("upload-tasks")
    upload.add_argument("--count", type=int, required=True)
    media = commands.add_parser("media")
    media.add_argument("--size", type=int, required=True)
    media.add_argument("--count", type=int, required=True)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from strongroom.cli.bootstrap import setup_django  # noqa: PLC0415  (before any model import)
    setup_django(args.data_dir)
    if args.command == "tasks":
        answer = seed_tasks(args.count, args.started)
    elif args.command == "upload-tasks":
        answer = seed_upload_tasks(args.count)
    else:
        answer = seed_media(args.size, args.count)
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
