"""How the browser comes to trust the edge's TLS certificates.

Chromium on Linux trusts its root store plus an NSS database; adding the local CA there needs
`certutil` and a private HOME, a second package to install just for tests. Chromium's
`--ignore-certificate-errors-spki-list` is narrower than `ignore_https_errors=True`: it accepts
only certificates carrying the listed public keys, and errors for any other stay errors. The keys
listed are taken from handshakes that Python verified against the local CA (chain and host name),
so the browser trusts exactly what the local CA vouches for on this address.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.e2e.conftest import RunningServer

# The edge serves an ECDSA and an RSA certificate; TLS 1.2 suites pick one or the other.
CERTIFICATE_SUITES = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256")


def served_key_pins(server: RunningServer) -> list[str]:
    """base64(SHA-256(SubjectPublicKeyInfo)) of each certificate the edge serves."""
    return sorted({_pin(_verified_certificate(server, suite)) for suite in CERTIFICATE_SUITES})


def _verified_certificate(server: RunningServer, suite: str) -> x509.Certificate:
    parts = urlsplit(server.url)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=str(server.ca))  # chain + host name checked
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(suite)
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _pin(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()
