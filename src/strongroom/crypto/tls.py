"""TLS for the embedded profile: a local CA, two server certificates, and the TLS policy.

`ensure_local_ca` creates an ECDSA P-256 / SHA-256 CA; `ensure_server_certificates` issues
from it an ECDSA P-256 leaf (what current clients get) and an RSA-2048 leaf (for clients
that only offer ECDHE-RSA suites), and keeps both fresh. `check_certificate` applies the
same policy to certificates an operator brings (see `strongroom.crypto.certpolicy`). The
context builders apply Mozilla's Server Side TLS 6.0 "intermediate" profile: TLS 1.2 and
1.3 only, ECDHE with AEAD ciphers only, groups X25519MLKEM768/X25519/P-256/P-384.
"""

from __future__ import annotations

import ctypes
import enum
import ipaddress
import os
import secrets
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from strongroom.crypto.certpolicy import check_certificate, load_certificate

__all__ = [
    "INTERMEDIATE_TLS12_CIPHERS",
    "CertPaths",
    "KeyKind",
    "check_certificate",
    "client_ssl_context",
    "ensure_local_ca",
    "ensure_server_certificate",
    "ensure_server_certificates",
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
# Mozilla 6.0 intermediate groups, best first. OpenSSL before 3.5 does not know the hybrid
# post-quantum group and refuses the whole list, hence the second list without it.
ECDH_GROUP_LISTS = ("X25519MLKEM768:X25519:P-256:P-384", "X25519:P-256:P-384")
CA_LIFETIME = timedelta(days=3650)
RENEW_BEFORE = timedelta(days=7)
MAX_LEAF_DAYS = 366  # Mozilla intermediate's maximum certificate lifespan
RSA_BITS = 2048  # Mozilla intermediate's RSA size; ECDSA P-256 carries every modern client
_BACKDATE = timedelta(minutes=5)  # tolerate small clock differences on clients


@dataclass(frozen=True)
class CertPaths:
    """A PEM certificate and its PEM private key (mode 0600)."""

    cert: Path
    key: Path


class KeyKind(enum.Enum):
    """The key type of a served certificate; OpenSSL keeps at most one chain per type."""

    ECDSA = "ecdsa"
    RSA = "rsa"


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_LEAF_STEMS = {KeyKind.ECDSA: "server", KeyKind.RSA: "server-rsa"}


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


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _save(paths: CertPaths, cert: x509.Certificate, key: PrivateKey) -> None:
    paths.cert.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_atomically(paths.key, _key_pem(key), 0o600)
    _write_atomically(paths.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def key_kind(key: object) -> KeyKind | None:
    """ECDSA or RSA for a public or private key of that type, else None."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return KeyKind.ECDSA
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return KeyKind.RSA
    return None


def _new_key(kind: KeyKind) -> PrivateKey:
    if kind is KeyKind.RSA:
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return ec.generate_private_key(ec.SECP256R1())


def _load_pair(paths: CertPaths, kind: KeyKind) -> tuple[x509.Certificate, PrivateKey] | None:
    """The certificate and `kind` key at `paths` if both load and belong together, else None."""
    try:
        cert = load_certificate(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return None
    if key_kind(key) is not kind or key.public_key() != cert.public_key():
        return None
    return cert, key


def _load_ca(paths: CertPaths) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    pair = _load_pair(paths, KeyKind.ECDSA)
    if pair is None or not isinstance(pair[1], ec.EllipticCurvePrivateKey):
        return None
    return pair[0], pair[1]


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
    pair = _load_ca(paths)
    if pair is not None and pair[0].not_valid_after_utc > _now() + RENEW_BEFORE:
        return paths
    key = ec.generate_private_key(ec.SECP256R1())
    _save(paths, _ca_certificate(key, common_name), key)
    return paths


def _san(hostnames: Sequence[str], ips: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [
        x509.DNSName(h) for h in dict.fromkeys(map(str.lower, hostnames))
    ]
    addresses = dict.fromkeys(ipaddress.ip_address(ip) for ip in ips)
    names += [x509.IPAddress(address) for address in addresses]
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
    key: PrivateKey,
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
    kind: KeyKind = KeyKind.ECDSA,
    force: bool = False,
) -> CertPaths:
    """Return the `kind` leaf in `directory` (server.crt/.key for ECDSA P-256,
    server-rsa.crt/.key for RSA-2048), signed by `ca` with SHA-256 and exactly these SANs.
    Re-issued when `force`, missing, expiring within 7 days, not issued by this CA, or when
    the SANs differ. ValueError for bad names or days outside 1-366."""
    if not 1 <= days <= MAX_LEAF_DAYS or not (hostnames or ips):
        raise ValueError(f"need at least one name, and days between 1 and {MAX_LEAF_DAYS}")
    ca_pair = _load_ca(ca)
    if ca_pair is None:
        raise ValueError("the CA certificate or key cannot be loaded")
    wanted = _san(hostnames, ips)
    stem = _LEAF_STEMS[kind]
    paths = CertPaths(cert=directory / f"{stem}.crt", key=directory / f"{stem}.key")
    pair = None if force else _load_pair(paths, kind)
    if pair is not None and _leaf_is_current(pair[0], ca_pair[0], wanted):
        return paths
    key = _new_key(kind)
    _save(paths, _leaf_certificate(ca_pair[0], ca_pair[1], key, wanted, days), key)
    return paths


def ensure_server_certificates(
    ca: CertPaths,
    directory: Path,
    *,
    hostnames: Sequence[str],
    ips: Sequence[str],
    days: int = 90,
    force: bool = False,
) -> tuple[CertPaths, CertPaths]:
    """The ECDSA leaf, then the RSA leaf, each as `ensure_server_certificate` makes it."""
    ecdsa, rsa_leaf = (
        ensure_server_certificate(
            ca, directory, hostnames=hostnames, ips=ips, days=days, kind=kind, force=force
        )
        for kind in (KeyKind.ECDSA, KeyKind.RSA)
    )
    return ecdsa, rsa_leaf


def _context_pointer(context: ssl.SSLContext, library: ctypes.CDLL) -> int | None:
    """The SSL_CTX* behind `context`, or None when it cannot be found with certainty.

    CPython's context object is PyObject_HEAD followed by the SSL_CTX pointer. Reading it is
    only trusted when OpenSSL reports, for that pointer, the very options Python reports."""
    if sys.implementation.name != "cpython" or ssl.OPENSSL_VERSION_INFO < (1, 1, 1):
        return None
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not pointer:
        return None
    get_options = library.SSL_CTX_get_options
    get_options.restype, get_options.argtypes = ctypes.c_uint64, [ctypes.c_void_p]
    return pointer if get_options(pointer) == context.options else None


def _set_groups_with_openssl(context: ssl.SSLContext, groups: str) -> bool:
    # Python < 3.15 has no SSLContext.set_groups and its set_ecdh_curve keeps one curve only
    # (losing X25519, so most TLS 1.3 clients would need a HelloRetryRequest); so call
    # OpenSSL's SSL_CTX_set1_groups_list (= SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, ...))
    # on the context's own SSL_CTX, through the library the ssl module itself is linked to.
    import _ssl  # noqa: PLC0415 - only needed on this path

    try:
        library = ctypes.CDLL(getattr(_ssl, "__file__", None))
        pointer = _context_pointer(context, library)
        if pointer is None:
            return False
        ctrl = library.SSL_CTX_ctrl
        ctrl.restype = ctypes.c_long
        ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
        return bool(ctrl(pointer, _SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode()) == 1)
    except (OSError, AttributeError):
        return False


_SSL_CTRL_SET_GROUPS_LIST = 92  # openssl/ssl.h, stable since OpenSSL 1.0.2


def _restrict_groups(context: ssl.SSLContext) -> None:
    """Mozilla intermediate groups only; OpenSSL's defaults would add X448 and P-521."""
    set_groups = getattr(context, "set_groups", None)
    for groups in ECDH_GROUP_LISTS:
        if callable(set_groups):
            try:
                set_groups(groups)
            except ssl.SSLError:
                continue
            return
        if _set_groups_with_openssl(context, groups):
            return
    context.set_ecdh_curve("prime256v1")  # last resort: compliant, if without X25519


def _restrict(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(INTERMEDIATE_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    _restrict_groups(context)
    return context


def server_ssl_context(*chains: CertPaths) -> ssl.SSLContext:
    """A server context serving each chain (at most one ECDSA and one RSA: OpenSSL picks per
    handshake from what the client offers). TLS 1.2 minimum (1.3 allowed), Mozilla
    intermediate TLS 1.2 ciphers only (ECDHE + AES-GCM/ChaCha20) in the client's order of
    preference, intermediate groups only, no compression, no renegotiation. ValueError when
    no chain is given or two share a key type; ssl.SSLError when a key does not fit."""
    kinds = [key_kind(load_certificate(chain.cert.read_bytes()).public_key()) for chain in chains]
    if not chains or len(set(kinds)) != len(kinds) or None in kinds:
        raise ValueError("need one ECDSA and/or one RSA certificate, at most one of each")
    context = _restrict(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    # Mozilla intermediate: every listed suite is strong, so let clients without AES
    # hardware choose ChaCha20 rather than impose the server's order.
    context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    for chain in chains:
        context.load_cert_chain(certfile=chain.cert, keyfile=chain.key)
    return context


def client_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """A verifying client context (hostname and chain checked, TLS 1.2 minimum, intermediate
    ciphers and groups), trusting `ca_file` or, when None, the system's CAs."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    return _restrict(context)
