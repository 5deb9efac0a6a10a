"""Qencode v1 API: access_token, create_task, start_encode2, status (qencode-api.md §2, §9)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from strongroom.crypto.apikeys import parse_api_key
from strongroom.edge.accounts.apikeys import (
    ScopeMissing,
    authenticate_api_key,
    issue_access_token,
    key_for_access_token,
    require_scope,
)
from strongroom.edge.accounts.key_rate import KeyRateLimited, check_key_rate
from strongroom.edge.accounts.permissions import Action
from strongroom.edge.api.envelope import ApiFailure, QencodeError, failure, success
from strongroom.edge.api.forms import required_field, status_tokens, token_field
from strongroom.edge.jobs.models import Task
from strongroom.edge.jobs.qencode_status import status_object
from strongroom.edge.jobs.services import tasks as task_service
from strongroom.edge.public_url import base_url
from strongroom.media.qencode import QueryError

logger = logging.getLogger(__name__)
# Qencode's table has no "forbidden" code. "Token failed validation" is the closest; error 5
# ("Token not found") would be wrong, as the Node client re-fetches a token and retries on it.
SCOPE_REFUSED = QencodeError.BAD_TOKEN
View = Callable[[HttpRequest], JsonResponse]


def qencode_endpoint(view: View) -> View:
    """POST only, no cookies (so no CSRF), every failure rendered as the Qencode envelope."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest) -> JsonResponse:
        if request.method != "POST":
            response = failure(QencodeError.FIELD_REQUIRED, "Use POST with a form body", status=405)
            response["Allow"] = "POST"
            return response
        try:
            return view(request)
        except ApiFailure as exc:
            return failure(exc.code, exc.message)
        except ScopeMissing as exc:  # create_task, or start_encode2 on a key-made task
            return failure(SCOPE_REFUSED, str(exc))
        except KeyRateLimited as exc:
            response = failure(QencodeError.SYSTEM_BUSY, str(exc), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        except (RequestDataTooBig, TooManyFieldsSent):
            return failure(
                QencodeError.FIELD_REQUIRED, "The request has too many or too large fields"
            )

    return wrapper


@qencode_endpoint
def access_token(request: HttpRequest) -> JsonResponse:
    key_text = required_field(request, "api_key", max_length=200)
    if parse_api_key(key_text) is None:  # shape and checksum, before any database lookup
        raise ApiFailure(QencodeError.BAD_APP_ID, "API key is malformed")
    key = authenticate_api_key(key_text, address=request.META.get("REMOTE_ADDR"))
    if key is None:
        raise ApiFailure(QencodeError.APP_ID_NOT_FOUND, "API key not found")
    check_key_rate(key)
    issued = issue_access_token(key)
    return success(token=issued.token, expire=issued.expires_at.strftime("%Y-%m-%dT%H:%M:%S"))


@qencode_endpoint
def create_task(request: HttpRequest) -> JsonResponse:
    token = token_field(request, "token", QencodeError.BAD_TOKEN)
    key = key_for_access_token(token)
    if key is None:
        raise ApiFailure(QencodeError.TOKEN_NOT_FOUND, "Token not found")
    require_scope(key, Action.TASK_CREATE)
    check_key_rate(key)
    task = task_service.create_task(key.project, api_key=key)
    return success(task_token=task.token, upload_url=f"{base_url(request)}/v1/upload_file")


@qencode_endpoint
def start_encode2(request: HttpRequest) -> JsonResponse:
    token = token_field(request, "task_token", QencodeError.BAD_TOKEN)
    query = required_field(request, "query", max_length=settings.QENCODE_QUERY_MAX_BYTES)
    payload = request.POST.get("payload", "")
    try:
        task_service.start_task(token, query, payload)
    except QueryError as exc:
        raise ApiFailure(exc.code, exc.message) from None
    except task_service.PayloadTooLong:
        raise ApiFailure(
            QencodeError.BAD_PAYLOAD, "payload is longer than 1000 characters"
        ) from None
    except task_service.TaskNotFound:
        raise ApiFailure(QencodeError.TOKEN_NOT_FOUND, "Task not found") from None
    except task_service.TaskAlreadyStarted:
        raise ApiFailure(
            QencodeError.FIELD_REQUIRED, "This task_token was already started"
        ) from None
    except task_service.SourceUnavailable:
        raise ApiFailure(
            QencodeError.FIELD_REQUIRED,
            "source: no completed upload with that tus id in this project",
        ) from None
    return success(status_url=f"{base_url(request)}/v1/status")


@qencode_endpoint
def status(request: HttpRequest) -> JsonResponse:
    tokens = status_tokens(request)
    found = {t.token: t for t in Task.objects.filter(token__in=tokens).prefetch_related("outputs")}
    url = base_url(request)
    statuses = {
        token: status_object(found[token], url) if token in found else None for token in tokens
    }
    return success(statuses=statuses)
