"""A rate limit per API key, on top of the per-address limit in the ASGI layer: a key used from
many addresses (a leaked key, a runaway fleet) still gets only `RATE_LIMIT_API_KEY`."""

from __future__ import annotations

from strongroom.edge.accounts.models import ApiKey
from strongroom.edge.ratelimit import over_limit

RETRY_AFTER_SECONDS = 60


class KeyRateLimited(Exception):
    """This key made too many requests; the caller answers 429 (or Qencode error 8)."""

    def __init__(self) -> None:
        super().__init__(
            f"Too many requests with this API key; retry after {RETRY_AFTER_SECONDS} s"
        )
        self.retry_after = RETRY_AFTER_SECONDS


def check_key_rate(key: ApiKey) -> None:
    if over_limit("api_key", f"key:{key.public_id}"):
        raise KeyRateLimited
