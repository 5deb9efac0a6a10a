"""New job (browser upload or URL; preset or Qencode query), job detail, progress and cancel.

Jobs are started by the same service the v1 API uses (`start_task`), so the console accepts
exactly the queries the API accepts and refuses the rest with the same messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from strongroom.cli.presets import preset_formats
from strongroom.edge.accounts.permissions import Action, Credential, allows
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view
from strongroom.edge.console.forms import NewJobForm
from strongroom.edge.jobs.models import Output, Task
from strongroom.edge.jobs.qencode_status import media_url
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.jobs.services.cancel import TaskNotCancellable, cancel_task
from strongroom.edge.jobs.states import TERMINAL, TaskStatus
from strongroom.edge.public_url import base_url
from strongroom.media.output_kinds import OutputKind
from strongroom.media.qencode import QueryError
from strongroom.media.qencode_values import ERROR_FIELD

MAX_FILE_LINKS = 20
# Output kinds the sandboxed preview can show, and how.
PREVIEW_KINDS = {
    OutputKind.MP4: "video",
    OutputKind.WEBM: "video",
    OutputKind.REPACK: "video",
    OutputKind.ADVANCED_HLS: "hls",
    OutputKind.HLS_AUDIO: "hls",
    OutputKind.MP3: "audio",
    OutputKind.FLAC: "audio",
    OutputKind.THUMBNAIL: "image",
    OutputKind.GIF: "image",
}
START_REFUSALS = {
    task_service.PayloadTooLong: "The payload is longer than 1000 characters.",
    task_service.TaskAlreadyStarted: "This upload was already used for a job; upload again.",
    task_service.SourceUnavailable: "The uploaded file is not complete; upload it again.",
}


@dataclass(frozen=True)
class OutputView:
    output: Output
    links: list[tuple[str, str]]  # (file path, signed URL)
    more_files: int
    preview: str | None


@require_http_methods(["GET", "POST"])
@console_view(Action.TASK_CREATE)
def new_job(request: HttpRequest) -> HttpResponse:
    form = NewJobForm(request.POST or None, projects=scoping.projects(request))
    if request.method == "POST" and form.is_valid():
        task = _start(request, form)
        if task is not None:
            return HttpResponseRedirect(reverse("console:job_detail", args=[task.pk]))
    status = 400 if form.errors else 200
    return render(request, "console/job_new.html", {"form": form}, status=status)


@require_POST
@console_view(Action.UPLOAD)
def upload_task(request: HttpRequest) -> JsonResponse:
    """A task to upload into; the browser sends the file to the tus endpoint with its token."""
    project_id = request.POST.get("project", "")
    if not project_id.isdigit():
        return JsonResponse({"error": "choose a project"}, status=400)
    task = task_service.create_task(scoping.project(request, int(project_id)))
    return JsonResponse({"task_token": task.token, "upload_url": f"/v1/upload_file/{task.token}"})


@require_GET
@console_view(Action.TASK_READ)
def job_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = scoping.task(request, task_id)
    return render(request, "console/job_detail.html", _detail(request, task))


@require_GET
@console_view(Action.TASK_READ)
def job_progress(request: HttpRequest, task_id: int) -> HttpResponse:
    """The part of the job page htmx polls while the job runs: status, then its outputs."""
    task = scoping.task(request, task_id)
    return render(request, "console/partials/job_progress.html", _detail(request, task))


@require_POST
@console_view(Action.TASK_CANCEL)
def job_cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    task = scoping.task(request, task_id)
    try:
        cancel_task(task.project, task.token)
        messages.success(request, "The job was cancelled.")
    except TaskNotCancellable:
        messages.error(request, "The job already finished.")
    return HttpResponseRedirect(reverse("console:job_detail", args=[task.pk]))


def previewable_output(request: HttpRequest, task_id: int, index: int) -> tuple[Task, Output, str]:
    """The output of a completed task in the user's organization, and how to preview it."""
    task = scoping.task(request, task_id)
    output = get_object_or_404(Output, task=task, index=index)
    kind = _preview_kind(output)
    if task.status != TaskStatus.COMPLETED or kind is None or "prefix" not in output.report:
        raise Http404
    return task, output, str(kind)


def output_url(request: HttpRequest, output: Output, path: str) -> str:
    return media_url(base_url(request), str(output.report["prefix"]), path)


def _start(request: HttpRequest, form: NewJobForm) -> Task | None:
    data = form.cleaned_data
    try:
        query = _query_text(data)
        task = _task_for(request, data)
        return task_service.start_task(task.token, query, data.get("payload") or "")
    except QueryError as exc:
        form.add_error("query" if not data.get("preset") else None, exc.message)
    except tuple(START_REFUSALS) as exc:
        form.add_error(None, START_REFUSALS[type(exc)])
    return None


def _task_for(request: HttpRequest, data: dict[str, Any]) -> Task:
    """The task the browser uploaded into (same project, not started yet), else a new one."""
    if not data.get("upload_task"):
        return task_service.create_task(data["project"])
    return get_object_or_404(
        scoping.tasks(request),
        token=data["upload_task"],
        project=data["project"],
        status=TaskStatus.CREATED,
    )


def _query_text(data: dict[str, Any]) -> str:
    """The start_encode2 `query` text: a preset around the source, or the user's own JSON."""
    source = f"{task_service.TUS_PREFIX}{data['upload_id']}" if data.get("upload_id") else None
    source = source or data.get("source_url") or None
    if data.get("preset"):
        return json.dumps({"query": {"source": source, "format": preset_formats(data["preset"])}})
    try:
        outer = json.loads(data["query"])
    except ValueError:
        raise QueryError(ERROR_FIELD, "query is not valid JSON", "query") from None
    inner = outer.get("query") if isinstance(outer, dict) else None
    if source and isinstance(inner, dict) and "source" not in inner:
        inner["source"] = source  # the uploaded file fills in a query written without a source
        return json.dumps(outer)
    return str(data["query"])  # unchanged: the service gives the precise error


def _outputs(request: HttpRequest, task: Task) -> list[OutputView]:
    if task.status != TaskStatus.COMPLETED:
        return []
    views = []
    for output in task.outputs.all():
        files = [str(f["path"]) for f in output.files]
        shown = files[:MAX_FILE_LINKS]
        links = (
            [(path, output_url(request, output, path)) for path in shown] if _stored(output) else []
        )
        preview = _preview_kind(output)
        views.append(OutputView(output, links, len(files) - len(shown), preview if links else None))
    return views


def _detail(request: HttpRequest, task: Task) -> dict[str, object]:
    live = task.status not in TERMINAL
    role = scoping.membership(request).role
    return {
        "task": task,
        "live": live,
        "may_cancel": live and allows(Action.TASK_CANCEL, Credential.SESSION, role=role),
        "outputs": _outputs(request, task),
        "warnings": _warnings(task),
    }


def _preview_kind(output: Output) -> str | None:
    known = output.kind in {str(kind) for kind in OutputKind}
    return PREVIEW_KINDS.get(OutputKind(output.kind)) if known else None


def _stored(output: Output) -> bool:
    return "prefix" in output.report


def _warnings(task: Task) -> list[dict[str, object]]:
    return [w if isinstance(w, dict) else {"message": str(w)} for w in task.warnings]
