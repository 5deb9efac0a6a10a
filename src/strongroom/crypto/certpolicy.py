"""The certificate policy check shared by generated and operator-supplied certificates.

`check_certificate` returns every problem as a plain sentence for an operator, so a
startup check can print them all at once rather than stopping at the first.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

MIN_RSA_BITS = 2048
ALLOWED_CURVES = frozenset({"secp256r1", "secp384r1"})
MAX_LIFETIME = timedelta(days=398)
_WEAK_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "MD5 with RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA-1 with RSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "SHA-1 with ECDSA",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "SHA-1 with DSA",
}


def load_certificate(data: bytes) -> x509.Certificate:
    """The first certificate of a PEM file (a leaf followed by its chain is fine).
    ValueError when there is none."""
    certificates = x509.load_pem_x509_certificates(data)
    if not certificates:
        raise ValueError("no PEM certificate found")
    return certificates[0]


def _key_problems(cert: x509.Certificate) -> list[str]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return [f"The RSA key is {key.key_size} bits; at least {MIN_RSA_BITS} are required."]
        return []
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ALLOWED_CURVES:
            return [f"The key uses curve {key.curve.name}; only P-256 and P-384 are allowed."]
        return []
    return [f"The key type ({type(key).__name__}) is not allowed; use RSA or ECDSA."]


def _signature_problems(cert: x509.Certificate) -> list[str]:
    name = _WEAK_SIGNATURES.get(cert.signature_algorithm_oid)
    if name is not None:
        return [f"The certificate is signed with {name}; SHA-1 and MD5 signatures are refused."]
    return []


def _validity_problems(cert: x509.Certificate, now: datetime) -> list[str]:
    problems = []
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if end < now:
        problems.append(f"The certificate expired on {end:%Y-%m-%d %H:%M} UTC.")
    if start > now:
        problems.append(f"The certificate is not valid until {start:%Y-%m-%d %H:%M} UTC.")
    if end - start > MAX_LIFETIME:
        days = (end - start).days
        problems.append(f"The certificate is valid for {days} days; at most 398 are allowed.")
    return problems


def _dns_matches(pattern: str, hostname: str) -> bool:
    # RFC 6125: a wildcard may only stand for the whole leftmost label.
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname


def _hostname_problems(cert: x509.Certificate, hostname: str) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ["The certificate has no subjectAltName extension, so it matches no hostname."]
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        matched = any(
            _dns_matches(name, hostname) for name in san.get_values_for_type(x509.DNSName)
        )
    else:
        matched = address in san.get_values_for_type(x509.IPAddress)
    if matched:
        return []
    return [f"The hostname {hostname!r} is not among the certificate's subjectAltNames."]


def check_certificate(
    cert_path: Path, *, hostname: str | None = None, now: datetime | None = None
) -> list[str]:
    """Policy problems with the (first) certificate in `cert_path`, as sentences; an empty
    list means it passes. Checks: RSA >= 2048 bits or ECDSA P-256/P-384, no SHA-1/MD5
    signature, currently valid, lifetime <= 398 days, and `hostname` (DNS name or IP)
    covered by the subjectAltNames when given."""
    try:
        cert = load_certificate(cert_path.read_bytes())
    except OSError as exc:
        return [f"The certificate file cannot be read ({exc.strerror})."]
    except ValueError:
        return ["The file does not contain a PEM certificate."]
    moment = now if now is not None else datetime.now(UTC)
    problems = _key_problems(cert) + _signature_problems(cert)
    problems += _validity_problems(cert, moment)
    if hostname is not None:
        problems += _hostname_problems(cert, hostname)
    return problems
