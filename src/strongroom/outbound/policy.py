"""What the operator allows outbound requests to reach, and how long and large they may be."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cached_property

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one outbound transfer.

    ``allow_networks`` are CIDRs the operator opens on purpose (e.g. an internal media server);
    an address inside one of them is allowed even when it is not globally routable.
    ``allowed_ports`` replaces the default (80, 443). ``idle_timeout`` bounds the wait for each
    chunk; ``total_timeout`` bounds the whole transfer including redirects. ``ca_file`` is a
    PEM bundle to trust instead of the public CAs (for an allowlisted internal server).
    """

    allow_networks: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = (80, 443)
    connect_timeout: float = 5.0
    total_timeout: float = 3600.0
    max_bytes: int = 64 << 30
    max_redirects: int = 3
    idle_timeout: float = 60.0
    ca_file: str | None = None

    def __post_init__(self) -> None:
        # Parse once here so a typo in operator configuration fails at start-up, not per fetch.
        _ = self.networks
        if self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("max_bytes must be positive and max_redirects not negative")
        if min(self.connect_timeout, self.total_timeout, self.idle_timeout) <= 0:
            raise ValueError("timeouts must be positive")

    @cached_property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The parsed ``allow_networks``; raises ValueError for a malformed CIDR."""
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in self.allow_networks)
