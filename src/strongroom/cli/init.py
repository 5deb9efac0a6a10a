"""`strongroom init`: data directory, master key, local CA + server certificate, database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from strongroom.cli.bootstrap import migrate, setup_django
from strongroom.cli.certs import WeakCertificate, prepare_tls
from strongroom.crypto.tls import CertPaths
from strongroom.edge.datadir import DataDir

# WeakCertificate moved to strongroom.cli.certs; kept importable from here.
__all__ = ["Initialised", "SystemCheckFailed", "WeakCertificate", "initialise"]


@dataclass(frozen=True)
class Initialised:
    data: DataDir
    ca: CertPaths
    served: tuple[CertPaths, ...]  # the chains the edge serves (local or the operator's)
    operator_tls: bool = False  # True: the operator's certificates, not the local CA's

    def worker_trust(self, local_url: str, public_url: str) -> tuple[str, Path | None]:
        """(edge URL, CA file) for local workers. With the operator's certificates they reach
        the edge by its public name and trust the system's CAs, like any remote worker."""
        if not self.operator_tls:
            return local_url, self.ca.cert
        if not public_url:
            raise WeakCertificate(
                "STRONGROOM_PUBLIC_URL must name the host the operator's "
                "certificate is for, so local workers can verify it"
            )
        return public_url.rstrip("/"), None


def initialise(data_dir: str | Path | None, *, extra_hosts: tuple[str, ...] = ()) -> Initialised:
    """Idempotent: creates what is missing, renews a certificate close to expiry, checks the
    served certificates against the TLS policy (WeakCertificate), migrates."""
    data = setup_django(data_dir)
    tls = prepare_tls(data, extra_hosts)
    migrate()
    run_system_checks()
    operator = any(item.label.startswith("STRONGROOM_TLS_CERT") for item in tls.served)
    return Initialised(
        data=data, ca=tls.ca, served=tuple(item.paths for item in tls.served), operator_tls=operator
    )


class SystemCheckFailed(Exception):
    """A start-up check found a problem (strongroom.E…); the message lists them."""


def run_system_checks() -> None:
    from django.core.checks import run_checks  # noqa: PLC0415  (Django is set up by now)

    serious = [m for m in run_checks(tags=["strongroom"]) if m.is_serious()]
    if serious:
        raise SystemCheckFailed("; ".join(f"{m.id}: {m.msg}" for m in serious))
