"""How local workers reach and trust the edge (local CA vs the operator's certificates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.cli.certs import WeakCertificate
from strongroom.cli.init import Initialised
from strongroom.crypto.tls import CertPaths
from strongroom.edge.datadir import DataDir

CA = CertPaths(cert=Path("/data/tls/ca/ca.crt"), key=Path("/data/tls/ca/ca.key"))


def initialised(operator: bool) -> Initialised:
    return Initialised(data=DataDir(Path("/data")), ca=CA, served=(), operator_tls=operator)


def test_with_the_local_ca_workers_use_the_loopback_url_and_trust_the_ca() -> None:
    assert initialised(False).worker_trust("https://127.0.0.1:8443", "") == (
        "https://127.0.0.1:8443",
        CA.cert,
    )


def test_with_operator_certificates_workers_use_the_public_name_and_system_trust() -> None:
    assert initialised(True).worker_trust("https://127.0.0.1:8443", "https://tx.example.com/") == (
        "https://tx.example.com",
        None,
    )


def test_operator_certificates_without_a_public_url_are_refused_plainly() -> None:
    with pytest.raises(WeakCertificate, match="STRONGROOM_PUBLIC_URL"):
        initialised(True).worker_trust("https://127.0.0.1:8443", "")
