"""Reading Qencode's form fields strictly (required, length-capped, token-shaped)."""

from __future__ import annotations

import re

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest

from strongroom.edge.api.envelope import ApiFailure, QencodeError

_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
MAX_TOKENS_PER_STATUS = 100


def required_field(request: HttpRequest, name: str, max_length: int = 4096) -> str:
    value = request.POST.get(name, "").strip()
    if not value:
        raise ApiFailure(QencodeError.FIELD_REQUIRED, f"Field '{name}' is required")
    if len(value) > max_length:
        raise ApiFailure(QencodeError.FIELD_REQUIRED, f"Field '{name}' is too long")
    return value


def token_field(request: HttpRequest, name: str, bad_code: QencodeError) -> str:
    value = required_field(request, name, max_length=64)
    if not _TOKEN_RE.match(value):
        raise ApiFailure(bad_code, f"Field '{name}' is malformed")
    return value


def status_tokens(request: HttpRequest) -> list[str]:
    """task_tokens in every form clients send: one, `task_tokens[]` repeated, or a comma list."""
    try:
        raw = [*request.POST.getlist("task_tokens"), *request.POST.getlist("task_tokens[]")]
    except TooManyFieldsSent:
        raise ApiFailure(QencodeError.BAD_TOKENS, "Too many task_tokens in one call") from None
    tokens = [part.strip() for value in raw for part in value.split(",") if part.strip()]
    if not tokens:
        raise ApiFailure(QencodeError.BAD_TOKENS, "Field 'task_tokens' is required")
    if len(tokens) > MAX_TOKENS_PER_STATUS:
        raise ApiFailure(
            QencodeError.BAD_TOKENS, f"At most {MAX_TOKENS_PER_STATUS} task_tokens per call"
        )
    bad = [t for t in tokens if not _TOKEN_RE.match(t)]
    if bad:
        raise ApiFailure(QencodeError.BAD_TOKENS, "task_tokens contains a malformed token")
    return list(dict.fromkeys(tokens))
