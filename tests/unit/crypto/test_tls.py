"""Local CA, server certificates, the certificate policy and the TLS contexts."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from strongroom.crypto.tls import (
    INTERMEDIATE_TLS12_CIPHERS,
    CertPaths,
    check_certificate,
    client_ssl_context,
    ensure_local_ca,
    ensure_server_certificate,
    server_ssl_context,
)

NOW = datetime.now(UTC)
SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")
SHA1_WITH_RSA = bytes.fromhex("06092a864886f70d010105")
MD5_WITH_RSA = bytes.fromhex("06092a864886f70d010104")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def make_cert(
    tmp_path: Path,
    *,
    key: PrivateKey | None = None,
    names: tuple[str, ...] = ("media.example.com",),
    start: datetime = NOW - timedelta(days=1),
    days: int = 90,
    swap_oid: bytes | None = None,
) -> Path:
    key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
    )
    if names:
        entries: list[x509.GeneralName] = []
        for name in names:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                entries.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    der = builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)
    if swap_oid is not None:
        # cryptography no longer signs with SHA-1/MD5; the policy only reads the algorithm
        # identifier, so relabel a SHA-256 certificate (same DER length) to get one.
        der = der.replace(SHA256_WITH_RSA, swap_oid)
    path = tmp_path / f"cert-{x509.random_serial_number()}.pem"
    cert = x509.load_der_x509_certificate(der)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def rsa2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - deliberately weak, to test the policy


# ---------------------------------------------------------------------------- policy


def test_a_good_ecdsa_certificate_has_no_problems(tmp_path: Path) -> None:
    assert check_certificate(make_cert(tmp_path), hostname="media.example.com") == []


def test_a_good_rsa_2048_certificate_has_no_problems(
    tmp_path: Path, rsa2048: rsa.RSAPrivateKey
) -> None:
    assert check_certificate(make_cert(tmp_path, key=rsa2048)) == []


def test_it_flags_rsa_1024(tmp_path: Path, rsa1024: rsa.RSAPrivateKey) -> None:
    problems = check_certificate(make_cert(tmp_path, key=rsa1024))
    assert len(problems) == 1
    assert "1024 bits" in problems[0]


@pytest.mark.parametrize(("oid", "label"), [(SHA1_WITH_RSA, "SHA-1"), (MD5_WITH_RSA, "MD5")])
def test_it_flags_sha1_and_md5_signatures(
    tmp_path: Path, rsa2048: rsa.RSAPrivateKey, oid: bytes, label: str
) -> None:
    problems = check_certificate(make_cert(tmp_path, key=rsa2048, swap_oid=oid))
    assert len(problems) == 1
    assert label in problems[0]


@pytest.mark.parametrize("curve", [ec.SECP521R1(), ec.SECP256K1()])
def test_it_flags_curves_other_than_p256_and_p384(tmp_path: Path, curve: ec.EllipticCurve) -> None:
    problems = check_certificate(make_cert(tmp_path, key=ec.generate_private_key(curve)))
    assert problems == [f"The key uses curve {curve.name}; only P-256 and P-384 are allowed."]


def test_it_accepts_p384(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    assert check_certificate(make_cert(tmp_path, key=key)) == []


def test_it_flags_key_types_other_than_rsa_and_ecdsa(tmp_path: Path) -> None:
    problems = check_certificate(make_cert(tmp_path, key=ed25519.Ed25519PrivateKey.generate()))
    assert len(problems) == 1
    assert "not allowed" in problems[0]


def test_it_flags_an_expired_certificate(tmp_path: Path) -> None:
    path = make_cert(tmp_path, start=NOW - timedelta(days=100), days=90)
    problems = check_certificate(path)
    assert len(problems) == 1
    assert "expired" in problems[0]


def test_it_flags_a_certificate_that_is_not_yet_valid(tmp_path: Path) -> None:
    problems = check_certificate(make_cert(tmp_path, start=NOW + timedelta(days=2)))
    assert len(problems) == 1
    assert "not valid until" in problems[0]


def test_now_can_be_given(tmp_path: Path) -> None:
    path = make_cert(tmp_path)
    assert "expired" in check_certificate(path, now=NOW + timedelta(days=200))[0]


def test_it_flags_a_lifetime_over_366_days(tmp_path: Path) -> None:
    # Mozilla intermediate's maximum lifespan, in whole days as its own checker counts.
    assert check_certificate(make_cert(tmp_path, days=366)) == []
    problems = check_certificate(make_cert(tmp_path, days=367))
    assert len(problems) == 1
    assert "367 days" in problems[0]


@pytest.mark.parametrize(
    ("names", "hostname", "ok"),
    [
        (("media.example.com",), "media.example.com", True),
        (("media.example.com",), "MEDIA.example.com", True),
        (("media.example.com",), "other.example.com", False),
        (("*.example.com",), "media.example.com", True),
        (("*.example.com",), "a.b.example.com", False),
        (("*.example.com",), "example.com", False),
        (("127.0.0.1",), "127.0.0.1", True),
        (("127.0.0.1",), "127.0.0.2", False),
        (("::1",), "::1", True),
        (("localhost",), "127.0.0.1", False),
    ],
)
def test_it_checks_the_hostname_against_the_san(
    tmp_path: Path, names: tuple[str, ...], hostname: str, ok: bool
) -> None:
    problems = check_certificate(make_cert(tmp_path, names=names), hostname=hostname)
    assert (problems == []) is ok
    if not ok:
        assert hostname in problems[0]


def test_a_certificate_without_san_matches_no_hostname(tmp_path: Path) -> None:
    problems = check_certificate(make_cert(tmp_path, names=()), hostname="test")
    assert problems == [
        "The certificate has no subjectAltName extension, so it matches no hostname."
    ]


def test_it_reports_every_problem_at_once(tmp_path: Path, rsa1024: rsa.RSAPrivateKey) -> None:
    path = make_cert(tmp_path, key=rsa1024, start=NOW - timedelta(days=900), days=800)
    assert len(check_certificate(path, hostname="wrong.example")) == 4


def test_unreadable_or_non_pem_files_are_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("hello")
    assert check_certificate(tmp_path / "junk.pem") == [
        "The file does not contain a PEM certificate."
    ]
    assert "cannot be read" in check_certificate(tmp_path / "missing.pem")[0]


# ---------------------------------------------------------------------------- local CA


def test_the_local_ca_is_p256_sha256_with_a_private_key(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "tls", common_name="Test CA")
    cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.subject.rfc4514_string() == "CN=Test CA"
    assert mode_of(ca.key) == 0o600
    assert mode_of(tmp_path / "tls") == 0o700


def test_ensure_local_ca_is_idempotent(tmp_path: Path) -> None:
    first = ensure_local_ca(tmp_path)
    before = first.cert.read_bytes(), first.key.read_bytes()
    second = ensure_local_ca(tmp_path)
    assert second == first
    assert (second.cert.read_bytes(), second.key.read_bytes()) == before


def test_a_damaged_ca_is_recreated(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    ca.key.write_bytes(b"garbage")
    ensure_local_ca(tmp_path)
    key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)


# ---------------------------------------------------------------------------- server cert


def load(paths: CertPaths) -> x509.Certificate:
    return x509.load_pem_x509_certificate(paths.cert.read_bytes())


def test_the_server_certificate_is_a_p256_leaf_of_the_ca_that_passes_policy(
    tmp_path: Path,
) -> None:
    ca = ensure_local_ca(tmp_path / "ca")
    server = ensure_server_certificate(
        ca, tmp_path / "srv", hostnames=["localhost", "media.test"], ips=["127.0.0.1", "::1"]
    )
    leaf = load(server)
    leaf.verify_directly_issued_by(load(ca))
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert mode_of(server.key) == 0o600
    for host in ("localhost", "media.test", "127.0.0.1", "::1"):
        assert check_certificate(server.cert, hostname=host) == []
    assert check_certificate(server.cert, hostname="other.test") != []
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert timedelta(days=90) <= lifetime <= timedelta(days=90, minutes=10)


def test_the_server_certificate_is_kept_while_current(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    first = ensure_server_certificate(ca, tmp_path, hostnames=["localhost"], ips=[])
    pem = first.cert.read_bytes()
    ensure_server_certificate(ca, tmp_path, hostnames=["LOCALHOST"], ips=[])
    assert first.cert.read_bytes() == pem


def test_it_reissues_when_the_names_change(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    paths = ensure_server_certificate(ca, tmp_path, hostnames=["localhost"], ips=[])
    ensure_server_certificate(ca, tmp_path, hostnames=["localhost"], ips=["10.0.0.5"])
    assert check_certificate(paths.cert, hostname="10.0.0.5") == []


def test_it_reissues_when_expiring_within_seven_days(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    paths = ensure_server_certificate(ca, tmp_path, hostnames=["localhost"], ips=[], days=7)
    serial = load(paths).serial_number
    ensure_server_certificate(ca, tmp_path, hostnames=["localhost"], ips=[], days=7)
    assert load(paths).serial_number != serial
    serial = load(paths).serial_number
    ensure_server_certificate(ca, tmp_path, hostnames=["localhost"], ips=[], days=30)
    assert load(paths).serial_number != serial


def test_it_reissues_when_the_ca_changed(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "ca")
    paths = ensure_server_certificate(ca, tmp_path, hostnames=["localhost"], ips=[])
    ca.cert.unlink()
    new_ca = ensure_local_ca(tmp_path / "ca")
    ensure_server_certificate(new_ca, tmp_path, hostnames=["localhost"], ips=[])
    load(paths).verify_directly_issued_by(load(new_ca))


@pytest.mark.parametrize(
    ("hostnames", "ips", "days"),
    [([], [], 90), (["localhost"], [], 0), (["localhost"], [], 367), ([], ["not-an-ip"], 90)],
)
def test_it_rejects_bad_server_certificate_requests(
    tmp_path: Path, hostnames: list[str], ips: list[str], days: int
) -> None:
    ca = ensure_local_ca(tmp_path)
    with pytest.raises(ValueError):
        ensure_server_certificate(ca, tmp_path, hostnames=hostnames, ips=ips, days=days)


# ---------------------------------------------------------------------------- contexts


def test_the_server_context_enforces_the_intermediate_profile(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    context = server_ssl_context(ensure_server_certificate(ca, tmp_path, hostnames=["a"], ips=[]))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.options & ssl.OP_NO_COMPRESSION
    tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == set(INTERMEDIATE_TLS12_CIPHERS.split(":"))
    assert all("GCM" in name or "CHACHA20" in name for name in tls12)
    assert all(name.startswith("ECDHE-") for name in tls12)


def test_the_client_context_verifies_and_needs_tls_12(tmp_path: Path) -> None:
    context = client_ssl_context(ensure_local_ca(tmp_path).cert)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert client_ssl_context(None).verify_mode == ssl.CERT_REQUIRED
