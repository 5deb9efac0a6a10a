"""The two served certificates (ECDSA + RSA), the operator's certificates, and the policy on both.

Covers `strongroom.crypto.tls`/`certpolicy` and the plain-file logic of `strongroom.cli.certs`
(no Django, no sockets).
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from strongroom.cli.certs import (
    ServedCertificate,
    WeakCertificate,
    ensure_local_certificates,
    operator_certificates,
    policy_problems,
    prepare_tls,
)
from strongroom.crypto.certpolicy import check_key_pair, summarize_certificate
from strongroom.crypto.tls import (
    CertPaths,
    KeyKind,
    check_certificate,
    ensure_local_ca,
    ensure_server_certificate,
    ensure_server_certificates,
    server_ssl_context,
)
from strongroom.edge.datadir import DataDir
from strongroom.edge.settings.env import ConfigError, Env

NOW = datetime.now(UTC)
SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")
SHA1_WITH_RSA = bytes.fromhex("06092a864886f70d010105")

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(
    folder: Path,
    stem: str,
    *,
    key: Key | None = None,
    issuer: tuple[x509.Name, Key] | None = None,
    names: tuple[str, ...] = ("localhost",),
    days: int = 90,
    ca: bool = False,
    chain: bytes = b"",
) -> CertPaths:
    """A certificate (self-signed unless `issuer`) and its key, as PEM files."""
    key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = issuer if issuer is not None else (_name(stem), key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(stem))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW - timedelta(hours=1) + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )
    paths = CertPaths(folder / f"{stem}.crt", folder / f"{stem}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + chain)
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture(scope="module")
def rsa2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - deliberately weak, to test the policy


def public_key_of(paths: CertPaths) -> object:
    return x509.load_pem_x509_certificate(paths.cert.read_bytes()).public_key()


# ---------------------------------------------------------------------------- local leaves


def test_the_local_ca_issues_an_ecdsa_and_an_rsa_2048_leaf(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path / "ca")
    ecdsa, rsa_leaf = ensure_server_certificates(
        ca, tmp_path / "srv", hostnames=["localhost"], ips=["127.0.0.1"]
    )
    assert isinstance(public_key_of(ecdsa), ec.EllipticCurvePublicKey)
    key = public_key_of(rsa_leaf)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    for leaf in (ecdsa, rsa_leaf):
        cert = x509.load_pem_x509_certificate(leaf.cert.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
        assert check_certificate(leaf.cert, hostname="127.0.0.1") == []
        assert check_key_pair(leaf.cert, leaf.key) == []
    assert (rsa_leaf.cert.name, rsa_leaf.key.name) == ("server-rsa.crt", "server-rsa.key")


def test_the_rsa_leaf_is_kept_while_current_and_reissued_when_forced(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    first = ensure_server_certificate(ca, tmp_path, hostnames=["a"], ips=[], kind=KeyKind.RSA)
    pem = first.cert.read_bytes()
    ensure_server_certificate(ca, tmp_path, hostnames=["a"], ips=[], kind=KeyKind.RSA)
    assert first.cert.read_bytes() == pem
    ensure_server_certificate(ca, tmp_path, hostnames=["a"], ips=[], kind=KeyKind.RSA, force=True)
    assert first.cert.read_bytes() != pem


def test_an_ecdsa_key_in_the_rsa_slot_is_replaced(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    ecdsa = ensure_server_certificate(ca, tmp_path, hostnames=["a"], ips=[])
    rsa_paths = CertPaths(tmp_path / "server-rsa.crt", tmp_path / "server-rsa.key")
    rsa_paths.cert.write_bytes(ecdsa.cert.read_bytes())
    rsa_paths.key.write_bytes(ecdsa.key.read_bytes())
    ensure_server_certificate(ca, tmp_path, hostnames=["a"], ips=[], kind=KeyKind.RSA)
    assert isinstance(public_key_of(rsa_paths), rsa.RSAPublicKey)


def test_duplicate_names_appear_once_in_the_san(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    leaf = ensure_server_certificate(
        ca, tmp_path, hostnames=["localhost", "LOCALHOST"], ips=["127.0.0.1", "127.0.0.1"]
    )
    assert summarize_certificate(leaf.cert).names == ("DNS:localhost", "IP:127.0.0.1")


# ---------------------------------------------------------------------------- contexts


def test_the_server_context_takes_one_chain_per_key_type(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    chains = ensure_server_certificates(ca, tmp_path, hostnames=["a"], ips=[])
    context = server_ssl_context(*chains)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    # Mozilla intermediate leaves the choice among its (all strong) suites to the client.
    assert not context.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_the_server_context_refuses_two_chains_of_one_key_type(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    first = ensure_server_certificate(ca, tmp_path / "1", hostnames=["a"], ips=[])
    second = ensure_server_certificate(ca, tmp_path / "2", hostnames=["a"], ips=[])
    with pytest.raises(ValueError, match="at most one of each"):
        server_ssl_context(first, second)
    with pytest.raises(ValueError, match="at most one of each"):
        server_ssl_context()


def test_the_server_context_refuses_a_key_that_does_not_fit(tmp_path: Path) -> None:
    ca = ensure_local_ca(tmp_path)
    ecdsa, rsa_leaf = ensure_server_certificates(ca, tmp_path, hostnames=["a"], ips=[])
    with pytest.raises(ssl.SSLError):
        server_ssl_context(CertPaths(cert=ecdsa.cert, key=rsa_leaf.key))


# ---------------------------------------------------------------------------- policy additions


def test_a_key_that_belongs_to_another_certificate_is_reported(tmp_path: Path) -> None:
    one, other = issue(tmp_path, "one"), issue(tmp_path, "other")
    assert check_key_pair(one.cert, other.key) == [
        "The private key does not belong to the certificate."
    ]


def test_an_encrypted_or_missing_key_is_reported_without_its_content(tmp_path: Path) -> None:
    paths = issue(tmp_path, "leaf")
    key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"a passphrase"),
    )
    paths.key.write_bytes(encrypted)
    problems = check_key_pair(paths.cert, paths.key)
    assert problems == ["The private key file does not hold an unencrypted PEM private key."]
    assert "cannot be read" in check_key_pair(paths.cert, tmp_path / "missing.key")[0]


def test_a_sha1_signed_intermediate_in_the_chain_is_reported(
    tmp_path: Path, rsa2048: rsa.RSAPrivateKey
) -> None:
    middle = issue(tmp_path, "middle", issuer=(_name("root"), rsa2048), ca=True)
    # cryptography no longer signs with SHA-1; relabel the intermediate's algorithm (the
    # two RSA identifiers have the same DER length).
    middle_der = x509.load_pem_x509_certificate(middle.cert.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    weak = x509.load_der_x509_certificate(middle_der.replace(SHA256_WITH_RSA, SHA1_WITH_RSA))
    middle_key = serialization.load_pem_private_key(middle.key.read_bytes(), password=None)
    assert isinstance(middle_key, ec.EllipticCurvePrivateKey)
    chain = weak.public_bytes(serialization.Encoding.PEM)
    leaf = issue(tmp_path, "leaf", issuer=(_name("middle"), middle_key), chain=chain)
    problems = check_certificate(leaf.cert)
    assert problems == ["The chain certificate CN=middle is signed with SHA-1 with RSA."]


def test_the_summary_names_key_signature_and_expiry(
    tmp_path: Path, rsa2048: rsa.RSAPrivateKey
) -> None:
    summary = summarize_certificate(issue(tmp_path, "media", key=rsa2048, names=("a", "b")).cert)
    assert summary.subject == "CN=media"
    assert summary.names == ("DNS:a", "DNS:b")
    assert summary.key == "RSA 2048 bits"
    assert summary.signature == "sha256WithRSAEncryption"
    assert summary.not_after > NOW
    ecdsa = summarize_certificate(
        issue(tmp_path, "e", key=ec.generate_private_key(ec.SECP384R1())).cert
    )
    assert (ecdsa.key, ecdsa.signature) == ("ECDSA P-384 (384 bits)", "ecdsa-with-SHA256")


# ---------------------------------------------------------------------------- served certificates


def env(**values: str) -> Env:
    return Env({f"STRONGROOM_{name}": value for name, value in values.items()})


def test_no_operator_certificate_is_configured_by_default() -> None:
    assert operator_certificates(env()) == ()


def test_operator_certificates_come_from_the_environment(tmp_path: Path) -> None:
    served = operator_certificates(
        env(TLS_CERT="a.crt", TLS_KEY="a.key", TLS_CERT_RSA="b.crt", TLS_KEY_RSA="b.key")
    )
    assert [item.label for item in served] == ["STRONGROOM_TLS_CERT", "STRONGROOM_TLS_CERT_RSA"]
    assert served[1].paths == CertPaths(Path("b.crt"), Path("b.key"))
    assert served[1].expected is KeyKind.RSA


@pytest.mark.parametrize(
    "values",
    [
        {"TLS_CERT": "a.crt"},
        {"TLS_KEY": "a.key"},
        {"TLS_CERT": "a.crt", "TLS_KEY": "a.key", "TLS_CERT_RSA": "b.crt"},
        {"TLS_CERT_RSA": "b.crt", "TLS_KEY_RSA": "b.key"},
    ],
)
def test_half_configured_operator_certificates_are_refused(values: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="STRONGROOM_TLS_"):
        operator_certificates(env(**values))


def test_local_certificates_are_created_checked_and_served_by_default(tmp_path: Path) -> None:
    tls = prepare_tls(DataDir(tmp_path), ("media.test", "10.0.0.5"), env=env())
    assert [item.label for item in tls.served] == [
        "local ECDSA certificate",
        "local RSA certificate",
    ]
    assert set(tls.hostnames) == {"localhost", "media.test", "127.0.0.1", "::1", "10.0.0.5"}
    assert tls.ca.cert == tmp_path / "tls" / "ca" / "ca.crt"
    server_ssl_context(*(item.paths for item in tls.served))


def test_good_operator_certificates_replace_the_local_ones(
    tmp_path: Path, rsa2048: rsa.RSAPrivateKey
) -> None:
    ecdsa, rsa_leaf = issue(tmp_path, "media"), issue(tmp_path, "media-rsa", key=rsa2048)
    settings = env(
        TLS_CERT=str(ecdsa.cert),
        TLS_KEY=str(ecdsa.key),
        TLS_CERT_RSA=str(rsa_leaf.cert),
        TLS_KEY_RSA=str(rsa_leaf.key),
        PUBLIC_URL="https://localhost:8443",
    )
    tls = prepare_tls(DataDir(tmp_path / "data"), env=settings)
    assert [item.paths for item in tls.served] == [ecdsa, rsa_leaf]
    assert tls.hostnames == ("localhost",)
    assert tls.ca.cert.exists()  # local workers still trust the local CA
    assert not (tmp_path / "data" / "tls" / "server").exists()


@pytest.mark.parametrize(
    ("weakness", "expected"),
    [
        ("rsa1024", "1024 bits"),
        ("expired", "expired"),
        ("long", "400 days"),
        ("wrong host", "'media.example.com' is not among"),
        ("foreign key", "does not belong"),
    ],
)
def test_weak_operator_certificates_are_refused_with_a_clear_message(
    tmp_path: Path, rsa1024: rsa.RSAPrivateKey, weakness: str, expected: str
) -> None:
    key = rsa1024 if weakness == "rsa1024" else None
    paths = issue(tmp_path, "op", key=key, days=400 if weakness == "long" else 90)
    if weakness == "expired":
        paths = CertPaths(_expired(tmp_path), paths.key)
    key_path = issue(tmp_path, "other").key if weakness == "foreign key" else paths.key
    settings = env(TLS_CERT=str(paths.cert), TLS_KEY=str(key_path))
    if weakness == "wrong host":
        settings = env(
            TLS_CERT=str(paths.cert), TLS_KEY=str(key_path), PUBLIC_URL="https://media.example.com"
        )
    with pytest.raises(WeakCertificate) as caught:
        prepare_tls(DataDir(tmp_path / "data"), env=settings)
    message = str(caught.value)
    assert message.startswith("certificate policy failed: STRONGROOM_TLS_CERT: ")
    assert expected in message
    assert str(tmp_path) not in message  # no server paths in what the operator is shown


def _expired(folder: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("old"))
        .issuer_name(_name("old"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=100))
        .not_valid_after(NOW - timedelta(days=10))
        .sign(key, hashes.SHA256())
    )
    path = folder / "expired.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_two_operator_certificates_of_one_key_type_are_refused(
    tmp_path: Path, rsa2048: rsa.RSAPrivateKey
) -> None:
    first, second = issue(tmp_path, "one", key=rsa2048), issue(tmp_path, "two")
    served = (
        ServedCertificate("STRONGROOM_TLS_CERT", first),
        ServedCertificate("STRONGROOM_TLS_CERT_RSA", second, KeyKind.RSA),
    )
    assert policy_problems(served, ()) == [
        "STRONGROOM_TLS_CERT_RSA: the certificate must have an RSA key."
    ]
    twin = issue(tmp_path, "three", key=rsa.generate_private_key(65537, 2048))
    served = (served[0], ServedCertificate("STRONGROOM_TLS_CERT_RSA", twin, KeyKind.RSA))
    assert "same key type" in policy_problems(served, ())[0]


def test_ensure_local_certificates_can_force_a_reissue(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    ensure_local_certificates(data)
    leaf = tmp_path / "tls" / "server" / "server.crt"
    ca = tmp_path / "tls" / "ca" / "ca.crt"
    before = leaf.read_bytes(), ca.read_bytes()
    ensure_local_certificates(data)
    assert (leaf.read_bytes(), ca.read_bytes()) == before
    ensure_local_certificates(data, force=True)
    assert leaf.read_bytes() != before[0]
    assert ca.read_bytes() == before[1]
