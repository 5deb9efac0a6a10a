"""The log formatter behind the request log's stdout stream: one JSON object per line.

Its own module, free of models, because Django configures logging before the apps load.
"""

from __future__ import annotations

import json
import logging


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line for log shippers.

    Written here rather than pulled in as a dependency: the records are already dicts, so the
    whole job is one `json.dumps` (which also escapes control characters: no log injection).
    """

    def format(self, record: logging.LogRecord) -> str:
        body = record.msg if isinstance(record.msg, dict) else {"message": record.getMessage()}
        return json.dumps({"log": record.name, **body}, separators=(",", ":"), default=str)
