"""Shared by the query-parsing tests: a start_encode2 query with one format entry, and the
refusal it should get (Qencode error 14, with the message to check)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom.media.jobspec import Rendition
from strongroom.media.qencode import QueryError, parse_start_encode2_query

SOURCE = "https://example.com/in.mp4"


def query(output: str, **fields: Any) -> str:
    return json.dumps({"query": {"source": SOURCE, "format": [{"output": output, **fields}]}})


def rendition(output: str = "mp4", **fields: Any) -> Rendition:
    (spec,) = parse_start_encode2_query(query(output, **fields)).outputs
    return spec.renditions[0]


def refused(output: str, **fields: Any) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_start_encode2_query(query(output, **fields))
    assert caught.value.code == 14
    return caught.value
