"""Real TLS handshakes on 127.0.0.1 against `server_ssl_context` serving ECDSA + RSA chains."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from strongroom.crypto.tls import (
    CertPaths,
    client_ssl_context,
    ensure_local_ca,
    ensure_server_certificates,
    server_ssl_context,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertPaths, CertPaths, CertPaths]:
    """The CA, then the ECDSA and the RSA leaf."""
    directory = tmp_path_factory.mktemp("tls")
    ca = ensure_local_ca(directory)
    ecdsa, rsa_leaf = ensure_server_certificates(
        ca, directory, hostnames=["localhost"], ips=["127.0.0.1"]
    )
    return ca, ecdsa, rsa_leaf


def _serve(listener: socket.socket, context: ssl.SSLContext, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        with conn, contextlib.suppress(ssl.SSLError, OSError):
            conn.settimeout(5)
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall((tls.version() or "?").encode())


@pytest.fixture(scope="module")
def server(pki: tuple[CertPaths, CertPaths, CertPaths]) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    thread = threading.Thread(
        target=_serve, args=(listener, server_ssl_context(pki[1], pki[2]), stop), daemon=True
    )
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


def _connect(context: ssl.SSLContext, port: int, hostname: str = "localhost") -> tuple[str, str]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        cipher = tls.cipher()
        assert cipher is not None
        return tls.recv(16).decode(), cipher[0]


def _legacy_client(
    minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, ciphers: str
) -> ssl.SSLContext:
    # A client deliberately able to offer what the server must refuse.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated in ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_ciphers(ciphers)
        context.minimum_version = minimum
        context.maximum_version = maximum
    return context


def test_a_verifying_client_gets_tls_13(
    pki: tuple[CertPaths, CertPaths, CertPaths], server: int
) -> None:
    version, _ = _connect(client_ssl_context(pki[0].cert), server)
    assert version == "TLSv1.3"


def test_tls_12_negotiates_an_intermediate_cipher(
    pki: tuple[CertPaths, CertPaths, CertPaths], server: int
) -> None:
    context = client_ssl_context(pki[0].cert)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    version, cipher = _connect(context, server)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-ECDSA-")
    assert "GCM" in cipher or "CHACHA20" in cipher


def test_the_client_refuses_a_server_outside_its_trust(server: int) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _connect(client_ssl_context(None), server)


def test_the_client_refuses_a_wrong_hostname(
    pki: tuple[CertPaths, CertPaths, CertPaths], server: int
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _connect(client_ssl_context(pki[0].cert), server, hostname="other.example")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=str)
def test_tls_10_and_11_are_refused(server: int, version: ssl.TLSVersion) -> None:
    client = _legacy_client(version, version, "ALL:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _connect(client, server)


@pytest.mark.parametrize(
    "cipher",
    [
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA384",
        "ECDHE-RSA-AES128-SHA",
        "AES128-SHA",  # RSA key exchange: no forward secrecy
        "AES128-GCM-SHA256",
        "DHE-RSA-AES128-GCM-SHA256",  # allowed by Mozilla 5.7, dropped in 6.0
    ],
)
def test_a_cbc_cipher_outside_the_intermediate_profile_is_refused(server: int, cipher: str) -> None:
    client = _legacy_client(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, cipher)
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _connect(client, server)


def test_the_same_legacy_client_succeeds_with_an_intermediate_cipher(server: int) -> None:
    # Proves the refusals above come from the server's policy, not a broken client.
    client = _legacy_client(
        ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256"
    )
    assert _connect(client, server) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")


def _peer_key(context: ssl.SSLContext, port: int) -> object:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).public_key()


@pytest.mark.parametrize(
    ("ciphers", "key_type"),
    [
        ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305", ec.EllipticCurvePublicKey),
        ("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305", rsa.RSAPublicKey),
    ],
)
def test_ecdsa_only_and_rsa_only_clients_each_get_a_verified_chain(
    pki: tuple[CertPaths, CertPaths, CertPaths], server: int, ciphers: str, key_type: type
) -> None:
    context = client_ssl_context(pki[0].cert)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ciphers)
    assert isinstance(_peer_key(context, server), key_type)


def test_a_tls_13_client_gets_the_ecdsa_certificate(
    pki: tuple[CertPaths, CertPaths, CertPaths], server: int
) -> None:
    assert isinstance(_peer_key(client_ssl_context(pki[0].cert), server), ec.EllipticCurvePublicKey)


def _client_with_group(group: str, version: ssl.TLSVersion) -> ssl.SSLContext:
    client = _legacy_client(version, version, "ECDHE+AESGCM")
    client.set_ecdh_curve(group)  # on a client: offer this one group only
    return client


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=str)
@pytest.mark.parametrize("group", ["X25519", "prime256v1", "secp384r1"])
def test_the_intermediate_groups_are_accepted(
    server: int, group: str, version: ssl.TLSVersion
) -> None:
    assert _connect(_client_with_group(group, version), server)[0] == version.name.replace(
        "v1_", "v1."
    )


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=str)
@pytest.mark.parametrize("group", ["X448", "secp521r1", "ffdhe2048"])
def test_groups_outside_the_intermediate_profile_are_refused(
    server: int, group: str, version: ssl.TLSVersion
) -> None:
    # OpenSSL's defaults would accept all of these; Python < 3.15 cannot restrict them itself.
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        _connect(_client_with_group(group, version), server)
