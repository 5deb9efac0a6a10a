"""The native JSON API (`/api/v2/...`, OpenAPI via Django Ninja).

Authentication: `Authorization: Bearer <API key>` (never in the URL). Every object is looked up
within the key's project, so another project's task token answers 404, not 403.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer

from strongroom.edge.accounts.apikeys import ScopeMissing, authenticate_api_key, require_scope
from strongroom.edge.accounts.key_rate import KeyRateLimited, check_key_rate
from strongroom.edge.accounts.models import ApiKey
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.services.cancel import TaskNotCancellable, cancel_task


class ApiKeyBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = authenticate_api_key(token, address=request.META.get("REMOTE_ADDR"))
        if key is not None:
            try:
                check_key_rate(key)
            except KeyRateLimited as exc:
                raise HttpError(429, str(exc)) from None
        return key


api = NinjaAPI(
    title="Strongroom", version="2", urls_namespace="native", auth=ApiKeyBearer(), docs_url=None
)


class OutputOut(Schema):
    index: int
    kind: str
    user_tag: str
    files: int


class ErrorOut(Schema):
    detail: str


# Every answer a client can get is in the OpenAPI document (schemathesis checks it).
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class TaskOut(Schema):
    task_token: str
    status: str
    percent: float
    error_description: str | None
    outputs: list[OutputOut]


def _task_out(task: Task) -> dict[str, Any]:
    return {
        "task_token": task.token,
        "status": task.status,
        "percent": round(task.percent, 2),
        "error_description": task.error_description or None,
        "outputs": [
            {"index": o.index, "kind": o.kind, "user_tag": o.user_tag, "files": len(o.files)}
            for o in task.outputs.all()
        ],
    }


def _project_task(request: HttpRequest, token: str, action: Action) -> Task:
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    try:  # before the lookup, so a key without the scope learns nothing about tokens
        require_scope(key, action)
    except ScopeMissing as exc:
        raise HttpError(403, str(exc)) from None
    task = Task.objects.filter(project=key.project, token=token).first()
    if task is None:
        raise HttpError(404, "No task with that token in this project")
    return task


@api.get("/tasks/{task_token}", response={200: TaskOut, **ERRORS})
def get_task(request: HttpRequest, task_token: str) -> dict[str, Any]:
    return _task_out(_project_task(request, task_token, Action.TASK_READ))


@api.post("/tasks/{task_token}/cancel", response={200: TaskOut, 409: ErrorOut, **ERRORS})
def cancel(request: HttpRequest, task_token: str) -> dict[str, Any]:
    task = _project_task(request, task_token, Action.TASK_CANCEL)
    try:
        return _task_out(cancel_task(task.project, task.token))
    except TaskNotCancellable:
        raise HttpError(409, f"The task is already {task.status}") from None
