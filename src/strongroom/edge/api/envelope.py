"""Qencode's response envelope: always JSON with an integer `error` (0 = success)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from django.http import JsonResponse


class QencodeError(IntEnum):
    """Error codes from Qencode's published table (reference: qencode-api.md §3.2)."""

    OK = 0
    SERVER_INTERNAL = 1
    BAD_APP_ID = 2
    APP_ID_NOT_FOUND = 3
    BAD_TOKEN = 4
    TOKEN_NOT_FOUND = 5
    SYSTEM_BUSY = 8  # also what the edge's rate limits answer
    BAD_PAYLOAD = 9
    PROJECT_NOT_FOUND = 10
    BAD_TOKENS = 13
    FIELD_REQUIRED = 14
    QUERY_NOT_WRAPPED = 19


class ApiFailure(Exception):
    """Raised inside a view; rendered as the envelope with `code` and a client-safe message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message


def success(**fields: Any) -> JsonResponse:
    return JsonResponse({"error": 0, **fields})


def failure(code: int, message: str, status: int = 200) -> JsonResponse:
    return JsonResponse({"error": int(code), "message": message}, status=status)
