"""`strongroom init`: data directory, master key, local CA + server certificate, database."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from strongroom.cli.bootstrap import migrate, setup_django
from strongroom.crypto.tls import (
    CertPaths,
    check_certificate,
    ensure_local_ca,
    ensure_server_certificate,
)
from strongroom.edge.datadir import DataDir

LOCAL_NAMES = ("localhost",)
LOCAL_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class Initialised:
    data: DataDir
    ca: CertPaths
    server: CertPaths


class WeakCertificate(Exception):
    """The server certificate fails the TLS policy; the message lists why."""


def initialise(data_dir: str | Path | None, *, extra_hosts: tuple[str, ...] = ()) -> Initialised:
    """Idempotent: creates what is missing, renews a certificate close to expiry, migrates."""
    data = setup_django(data_dir)
    ca = ensure_local_ca(data.tls / "ca")
    names = tuple(h for h in extra_hosts if not _is_ip(h))
    ips = tuple(h for h in extra_hosts if _is_ip(h))
    server = ensure_server_certificate(
        ca, data.tls / "server", hostnames=LOCAL_NAMES + names, ips=LOCAL_IPS + ips
    )
    problems = check_certificate(server.cert)
    if problems:
        raise WeakCertificate("; ".join(problems))
    migrate()
    run_system_checks()
    return Initialised(data=data, ca=ca, server=server)


class SystemCheckFailed(Exception):
    """A start-up check found a problem (strongroom.E…); the message lists them."""


def run_system_checks() -> None:
    from django.core.checks import run_checks  # noqa: PLC0415  (Django is set up by now)

    serious = [m for m in run_checks(tags=["strongroom"]) if m.is_serious()]
    if serious:
        raise SystemCheckFailed("; ".join(f"{m.id}: {m.msg}" for m in serious))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
