"""Searching and expiring the request log: one service for the console and `strongroom logs`.

Every filter but `text` is an equality (or a status class, or a time bound) served by an index
that pairs the column with the time, and results come newest first, so a search reads one
index backwards and stops after `limit` rows. `text` is a case-insensitive "contains" over the
path and the user agent: it is not indexed, so it reads the rows the other filters leave (and
stops at `limit` matches). Typed searches therefore bound it: text without `since` looks at the
last TEXT_WINDOW only (about a second per million rows read on a small embedded install).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from strongroom.edge.audit.models import ActorKind, RequestLog

DEFAULT_LIMIT = 50
TEXT_WINDOW = timedelta(days=7)
MAX_LIMIT = 1000
PURGE_BATCH = 5000
_RELATIVE = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_STATUS_CLASS = re.compile(r"^([1-5])xx$")
_STATUS_CODE = re.compile(r"^[1-5]\d\d$")
_CURSOR = re.compile(r"^(\d{1,20})\.(\d{1,20})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class InvalidFilter(ValueError):
    """A search filter could not be understood; the message names it, for a person."""


@dataclass(frozen=True)
class RequestFilters:
    since: datetime | None = None
    until: datetime | None = None
    status: str = ""  # "404" or a class such as "5xx"
    route: str = ""  # a route template, exactly as logged (/v1/status, stream:tus)
    actor: str = ""  # an actor id (API key public id, worker id, user id) or kind:id
    address: str = ""
    request_id: str = ""
    organization_id: int | None = None  # the console limits people to their organisation
    text: str = ""
    limit: int = DEFAULT_LIMIT
    before: str = ""  # a page's `next_cursor`: continue after it


@dataclass(frozen=True)
class RequestPage:
    records: list[RequestLog]
    next_cursor: str | None  # pass as `before` for the next (older) page; None: no more


def search_requests(filters: RequestFilters) -> RequestPage:
    """The newest records matching every given filter, `filters.limit` at most."""
    limit = _checked_limit(filters.limit)
    rows = list(_matching(filters).order_by("-started_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return RequestPage(rows, _cursor(rows[-1]) if more and rows else None)


def filters_from_strings(
    values: Mapping[str, str | None], now: datetime | None = None
) -> RequestFilters:
    """Filters from text as people type it (CLI flags, console query fields); InvalidFilter."""
    now = now or timezone.now()
    text = {key: (value or "").strip() for key, value in values.items()}
    status = text.get("status", "")
    if status and not (_STATUS_CODE.match(status) or _STATUS_CLASS.match(status)):
        raise InvalidFilter(f"status {status!r}: use a code such as 404 or a class such as 5xx")
    limit = text.get("limit") or str(DEFAULT_LIMIT)
    if not limit.isdigit():
        raise InvalidFilter(f"limit {limit!r}: use a whole number")
    since = parse_time(text.get("since", ""), now, "since")
    until = parse_time(text.get("until", ""), now, "until")
    if text.get("text") and since is None:
        since = (until or now) - TEXT_WINDOW
    return RequestFilters(
        since=since,
        until=until,
        status=status,
        route=text.get("route", ""),
        actor=text.get("actor", ""),
        address=text.get("address", ""),
        request_id=text.get("request_id", ""),
        text=text.get("text", ""),
        limit=_checked_limit(int(limit)),
        before=_checked_cursor(text.get("before", "")),
    )


def parse_time(value: str, now: datetime, name: str) -> datetime | None:
    """`15m`, `2h`, `7d` (that long ago) or an ISO 8601 time (UTC unless it says otherwise)."""
    if not value:
        return None
    if match := _RELATIVE.match(value):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidFilter(f"{name} {value!r}: use 15m, 2h, 7d or an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def purge_request_log(now: datetime | None = None, days: int | None = None) -> int:
    """Delete records older than the retention period, in batches; the number deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=days or settings.REQUEST_LOG_DAYS)
    deleted = 0
    while True:
        # Small batches keep each delete's write lock short (SQLite has one writer at a time).
        ids = list(
            RequestLog.objects.filter(started_at__lt=cutoff).values_list("id", flat=True)[
                :PURGE_BATCH
            ]
        )
        if not ids:
            return deleted
        deleted += RequestLog.objects.filter(id__in=ids).delete()[0]


def _matching(filters: RequestFilters) -> QuerySet[RequestLog]:
    rows = RequestLog.objects.all()
    for condition in _conditions(filters):
        rows = rows.filter(condition)
    return rows


def _conditions(f: RequestFilters) -> list[Q]:
    exact = {
        "route": f.route,
        "address": f.address,
        "request_id": f.request_id,
    }
    found = [Q(**{name: value}) for name, value in exact.items() if value]
    if f.since:
        found.append(Q(started_at__gte=f.since))
    if f.until:
        found.append(Q(started_at__lt=f.until))
    if f.organization_id is not None:
        found.append(Q(organization_id=f.organization_id))
    if f.status:
        found.append(_status_condition(f.status))
    if f.actor:
        found.append(_actor_condition(f.actor))
    if f.text:
        found.append(Q(path__icontains=f.text) | Q(user_agent__icontains=f.text))
    if f.before:
        found.append(_before_condition(f.before))
    return found


def _status_condition(status: str) -> Q:
    if match := _STATUS_CLASS.match(status):
        low = int(match[1]) * 100
        return Q(status__gte=low, status__lte=low + 99)
    return Q(status=int(status))


def _actor_condition(actor: str) -> Q:
    kind, _, actor_id = actor.rpartition(":")
    if kind in ActorKind.values and kind:
        return Q(actor_kind=kind, actor_id=actor_id)
    return Q(actor_id=actor)


def _cursor(row: RequestLog) -> str:
    micros = (row.started_at - _EPOCH) // _MICROSECOND  # exact, unlike float timestamps
    return f"{micros}.{row.id}"


def _before_condition(cursor: str) -> Q:
    micros, row_id = (int(part) for part in cursor.split("."))
    at = _EPOCH + micros * _MICROSECOND
    return Q(started_at__lt=at) | Q(started_at=at, id__lt=row_id)


def _checked_cursor(cursor: str) -> str:
    if cursor and not _CURSOR.match(cursor):
        raise InvalidFilter("before: not a cursor this search returned")
    return cursor


def _checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidFilter(f"limit {limit}: use 1 to {MAX_LIMIT}")
    return limit
