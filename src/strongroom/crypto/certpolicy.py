"""The certificate policy check shared by generated and operator-supplied certificates.

`check_certificate` returns every problem as a plain sentence for an operator, so a
startup check can print them all at once rather than stopping at the first;
`check_key_pair` does the same for a certificate and the private key meant to go with it,
and `summarize_certificate` describes a certificate for `strongroom certs inspect`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

MIN_RSA_BITS = 2048
ALLOWED_CURVES = frozenset({"secp256r1", "secp384r1"})
# Mozilla Server Side TLS 6.0 intermediate: "maximum_certificate_lifespan": 366, counted in
# whole days as Mozilla's own checker does.
MAX_LIFETIME_DAYS = 366
_CURVE_LABELS = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_WEAK_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "MD5 with RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA-1 with RSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "SHA-1 with ECDSA",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "SHA-1 with DSA",
}


def load_certificate(data: bytes) -> x509.Certificate:
    """The first certificate of a PEM file (a leaf followed by its chain is fine).
    ValueError when there is none."""
    return _load_chain(data)[0]


def _load_chain(data: bytes) -> list[x509.Certificate]:
    certificates = x509.load_pem_x509_certificates(data)
    if not certificates:
        raise ValueError("no PEM certificate found")
    return certificates


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


def _chain_problems(chain: list[x509.Certificate]) -> list[str]:
    # A root's own signature is never checked by clients; an intermediate's is.
    problems = []
    for cert in chain[1:]:
        name = _WEAK_SIGNATURES.get(cert.signature_algorithm_oid)
        if name is not None and cert.issuer != cert.subject:
            subject = cert.subject.rfc4514_string()
            problems.append(f"The chain certificate {subject} is signed with {name}.")
    return problems


def _validity_problems(cert: x509.Certificate, now: datetime) -> list[str]:
    problems = []
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if end < now:
        problems.append(f"The certificate expired on {end:%Y-%m-%d %H:%M} UTC.")
    if start > now:
        problems.append(f"The certificate is not valid until {start:%Y-%m-%d %H:%M} UTC.")
    days = (end - start).days
    if days > MAX_LIFETIME_DAYS:
        problems.append(
            f"The certificate is valid for {days} days; at most {MAX_LIFETIME_DAYS} are allowed."
        )
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
    signature on it or on an intermediate after it, currently valid, lifetime <= 366 days,
    and `hostname` (DNS name or IP) covered by the subjectAltNames when given."""
    try:
        chain = _load_chain(cert_path.read_bytes())
    except OSError as exc:
        return [f"The certificate file cannot be read ({exc.strerror})."]
    except ValueError:
        return ["The file does not contain a PEM certificate."]
    cert = chain[0]
    moment = now if now is not None else datetime.now(UTC)
    problems = _key_problems(cert) + _signature_problems(cert) + _chain_problems(chain)
    problems += _validity_problems(cert, moment)
    if hostname is not None:
        problems += _hostname_problems(cert, hostname)
    return problems


def check_key_pair(cert_path: Path, key_path: Path) -> list[str]:
    """Problems with the unencrypted PEM private key at `key_path` as the key of the (first)
    certificate in `cert_path`; empty when it loads and matches. Never quotes the key."""
    try:
        cert = load_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return []  # check_certificate reports an unreadable certificate
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        return [f"The private key file cannot be read ({exc.strerror})."]
    except (ValueError, TypeError):
        return ["The private key file does not hold an unencrypted PEM private key."]
    if key.public_key() != cert.public_key():
        return ["The private key does not belong to the certificate."]
    return []


@dataclass(frozen=True)
class CertificateSummary:
    """What an operator wants to see about a served certificate."""

    subject: str
    names: tuple[str, ...]
    key: str
    signature: str
    not_after: datetime


def _describe_key(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits"
    if isinstance(key, ec.EllipticCurvePublicKey):
        label = _CURVE_LABELS.get(key.curve.name, key.curve.name)
        return f"ECDSA {label} ({key.key_size} bits)"
    return type(key).__name__


def _describe_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = [f"DNS:{name}" for name in san.get_values_for_type(x509.DNSName)]
    return (*dns, *(f"IP:{ip}" for ip in san.get_values_for_type(x509.IPAddress)))


def summarize_certificate(cert_path: Path) -> CertificateSummary:
    """Subject, subjectAltNames, key type and size, signature algorithm and expiry of the
    (first) certificate in `cert_path`. OSError/ValueError when it cannot be read."""
    cert = load_certificate(cert_path.read_bytes())
    # OpenSSL's name ("ecdsa-with-SHA256"), as scanners print it; the dotted OID otherwise.
    oid = cert.signature_algorithm_oid
    signature = oid.dotted_string if oid._name == "Unknown OID" else oid._name
    return CertificateSummary(
        subject=cert.subject.rfc4514_string(),
        names=_describe_names(cert),
        key=_describe_key(cert),
        signature=signature,
        not_after=cert.not_valid_after_utc,
    )
