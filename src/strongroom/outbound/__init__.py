"""SSRF-safe outbound HTTP for client-supplied source and callback URLs (no Django)."""

from strongroom.outbound.addresses import IPAddress, is_allowed_address
from strongroom.outbound.destination import Resolver, check_url, system_resolver
from strongroom.outbound.errors import BlockedDestination, FetchFailed, OutboundError
from strongroom.outbound.fetch import FetchResult, Reply, fetch_to_file, post_form, send_bytes
from strongroom.outbound.policy import FetchPolicy

__all__ = [
    "BlockedDestination",
    "FetchFailed",
    "FetchPolicy",
    "FetchResult",
    "IPAddress",
    "OutboundError",
    "Reply",
    "Resolver",
    "check_url",
    "fetch_to_file",
    "is_allowed_address",
    "post_form",
    "send_bytes",
    "system_resolver",
]
