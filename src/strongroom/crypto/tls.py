"""TLS for the embedded profile: a local CA, a server certificate, and the TLS policy.

`ensure_local_ca` and `ensure_server_certificate` create ECDSA P-256 / SHA-256 material at
first start and keep it fresh; `check_certificate` applies the same policy to certificates
an operator brings (see `strongroom.crypto.certpolicy`); the two context builders apply
Mozilla's "intermediate" profile: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers only.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from strongroom.crypto.certpolicy import check_certificate, load_certificate

__all__ = [
    "INTERMEDIATE_TLS12_CIPHERS",
    "CertPaths",
    "check_certificate",
    "client_ssl_context",
    "ensure_local_ca",
    "ensure_server_certificate",
    "server_ssl_context",
]

# Mozilla Server Side TLS 6.0 "intermediate", TLS 1.2 suites (OpenSSL names). TLS 1.3
# suites are all AEAD already and Python's ssl module cannot restrict them.
INTERMEDIATE_TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
ECDH_GROUPS = "X25519:P-256:P-384"
CA_LIFETIME = timedelta(days=3650)
RENEW_BEFORE = timedelta(days=7)
MAX_LEAF_DAYS = 398
_BACKDATE = timedelta(minutes=5)  # tolerate small clock differences on clients


@dataclass(frozen=True)
class CertPaths:
    """A PEM certificate and its PEM private key (mode 0600)."""

    cert: Path
    key: Path


def _now() -> datetime:
    return datetime.now(UTC)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _save(paths: CertPaths, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    paths.cert.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_atomically(paths.key, _key_pem(key), 0o600)
    _write_atomically(paths.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _load_pair(paths: CertPaths) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The certificate and key at `paths` if both load and belong together, else None."""
    try:
        cert = load_certificate(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return None
    return cert, key


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_certificate(key: ec.EllipticCurvePrivateKey, common_name: str) -> x509.Certificate:
    now = _now()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def ensure_local_ca(directory: Path, *, common_name: str = "Strongroom local CA") -> CertPaths:
    """Return the local CA in `directory` (ca.crt, ca.key), creating it when missing,
    unreadable, mismatched, or expiring within 7 days: ECDSA P-256, SHA-256, key file
    0600, valid 10 years. Idempotent."""
    paths = CertPaths(cert=directory / "ca.crt", key=directory / "ca.key")
    pair = _load_pair(paths)
    if pair is not None and pair[0].not_valid_after_utc > _now() + RENEW_BEFORE:
        return paths
    key = ec.generate_private_key(ec.SECP256R1())
    _save(paths, _ca_certificate(key, common_name), key)
    return paths


def _san(hostnames: Sequence[str], ips: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.DNSName(host.lower()) for host in hostnames]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    return x509.SubjectAlternativeName(names)


def _san_names(san: x509.SubjectAlternativeName) -> set[str]:
    dns = {f"dns:{name.lower()}" for name in san.get_values_for_type(x509.DNSName)}
    return dns | {f"ip:{ip}" for ip in san.get_values_for_type(x509.IPAddress)}


def _cert_san_names(cert: x509.Certificate) -> set[str]:
    try:
        return _san_names(
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        )
    except x509.ExtensionNotFound:
        return set()


def _leaf_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    san: x509.SubjectAlternativeName,
    days: int,
) -> x509.Certificate:
    now = _now()
    first = next(iter(san), None)
    common_name = str(first.value) if first is not None else "strongroom"
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _leaf_is_current(
    leaf: x509.Certificate, ca_cert: x509.Certificate, wanted: x509.SubjectAlternativeName
) -> bool:
    if leaf.not_valid_after_utc <= _now() + RENEW_BEFORE:
        return False
    try:
        leaf.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return _cert_san_names(leaf) == _san_names(wanted)


def ensure_server_certificate(
    ca: CertPaths,
    directory: Path,
    *,
    hostnames: Sequence[str],
    ips: Sequence[str],
    days: int = 90,
) -> CertPaths:
    """Return server.crt/server.key in `directory`: an ECDSA P-256 leaf signed by `ca`
    with exactly these SANs. Re-issued when missing, expiring within 7 days, not issued by
    this CA, or when the SANs differ. ValueError for bad names or days outside 1-398."""
    if not 1 <= days <= MAX_LEAF_DAYS or not (hostnames or ips):
        raise ValueError(f"need at least one name, and days between 1 and {MAX_LEAF_DAYS}")
    ca_pair = _load_pair(ca)
    if ca_pair is None:
        raise ValueError("the CA certificate or key cannot be loaded")
    wanted = _san(hostnames, ips)
    paths = CertPaths(cert=directory / "server.crt", key=directory / "server.key")
    pair = _load_pair(paths)
    if pair is not None and _leaf_is_current(pair[0], ca_pair[0], wanted):
        return paths
    key = ec.generate_private_key(ec.SECP256R1())
    _save(paths, _leaf_certificate(ca_pair[0], ca_pair[1], key, wanted, days), key)
    return paths


def _restrict(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(INTERMEDIATE_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    # Python 3.11's ssl module can only pin a single ECDH curve, which would drop X25519;
    # newer Pythons expose set_groups. Otherwise OpenSSL 3's default groups apply
    # (X25519, P-256, X448, P-521, P-384), which are all strong.
    set_groups = getattr(context, "set_groups", None)
    if callable(set_groups):
        set_groups(ECDH_GROUPS)
    return context


def server_ssl_context(cert: CertPaths) -> ssl.SSLContext:
    """A server context: TLS 1.2 minimum (1.3 allowed), Mozilla intermediate TLS 1.2
    ciphers only (ECDHE + AES-GCM/ChaCha20), no compression, no renegotiation."""
    context = _restrict(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    context.load_cert_chain(certfile=cert.cert, keyfile=cert.key)
    return context


def client_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """A verifying client context (hostname and chain checked, TLS 1.2 minimum), trusting
    `ca_file` or, when None, the system's CAs."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    return _restrict(context)
