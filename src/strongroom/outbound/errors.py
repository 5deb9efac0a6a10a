"""Errors raised by the outbound fetcher.

Every error carries a ``reason`` that is safe to show to the client who supplied the URL: a fixed
sentence that never echoes the URL, its credentials, or the addresses a name resolved to.
"""

from __future__ import annotations


class OutboundError(Exception):
    """Base class: a URL could not be fetched; ``reason`` is client-safe text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlockedDestination(OutboundError):
    """The URL is refused by policy (scheme, port, credentials, or a non-public address)."""


class FetchFailed(OutboundError):
    """The destination was allowed but the transfer failed (DNS, connection, status, size, time)."""
