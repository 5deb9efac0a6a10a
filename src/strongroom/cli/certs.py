"""`strongroom certs` and the certificates the edge serves: local ones or the operator's.

By default the edge serves two leaves of the local CA (ECDSA P-256 and RSA-2048, both SHA-256).
An operator replaces them with `STRONGROOM_TLS_CERT`/`STRONGROOM_TLS_KEY` (PEM, leaf first
then its chain), plus optionally `STRONGROOM_TLS_CERT_RSA`/`STRONGROOM_TLS_KEY_RSA` for a
second chain of the other key type. Either way the same policy is checked before serving.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from strongroom.cli.bootstrap import use_data_dir
from strongroom.crypto.certpolicy import check_key_pair, load_certificate, summarize_certificate
from strongroom.crypto.tls import (
    CertPaths,
    KeyKind,
    check_certificate,
    ensure_local_ca,
    ensure_server_certificates,
    key_kind,
)
from strongroom.edge.datadir import DataDir
from strongroom.edge.settings.env import PREFIX, ConfigError, Env

LOCAL_NAMES = ("localhost",)
LOCAL_IPS = ("127.0.0.1", "::1")
_OPERATOR_PAIRS = (("TLS_CERT", "TLS_KEY"), ("TLS_CERT_RSA", "TLS_KEY_RSA"))


class WeakCertificate(Exception):
    """A served certificate fails the TLS policy; the message lists why."""


@dataclass(frozen=True)
class ServedCertificate:
    """A chain the edge serves, and how to name it to an operator (never by its path)."""

    label: str
    paths: CertPaths
    expected: KeyKind | None = None  # the key type this slot must hold, when it is fixed


@dataclass(frozen=True)
class TlsMaterial:
    ca: CertPaths
    served: tuple[ServedCertificate, ...]
    hostnames: tuple[str, ...]  # the names every served certificate must cover


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def operator_certificates(env: Env) -> tuple[ServedCertificate, ...]:
    """The operator's chains from the environment/config file, () when none is configured.
    ConfigError when a certificate comes without its key or the reverse, or an RSA pair
    without the main pair."""
    served = []
    for index, (cert_name, key_name) in enumerate(_OPERATOR_PAIRS):
        cert, key = env.str(cert_name, ""), env.str(key_name, "")
        if bool(cert) != bool(key):
            raise ConfigError(f"set both {PREFIX}{cert_name} and {PREFIX}{key_name}, or neither")
        if cert:
            expected = KeyKind.RSA if index else None
            paths = CertPaths(cert=Path(cert), key=Path(key))
            served.append(ServedCertificate(f"{PREFIX}{cert_name}", paths, expected))
    if served and served[0].label != f"{PREFIX}TLS_CERT":
        raise ConfigError(f"{PREFIX}TLS_CERT_RSA needs {PREFIX}TLS_CERT as well")
    return tuple(served)


def _local_served(data: DataDir) -> tuple[ServedCertificate, ...]:
    folder = data.tls / "server"
    return (
        ServedCertificate(
            "local ECDSA certificate",
            CertPaths(folder / "server.crt", folder / "server.key"),
            KeyKind.ECDSA,
        ),
        ServedCertificate(
            "local RSA certificate",
            CertPaths(folder / "server-rsa.crt", folder / "server-rsa.key"),
            KeyKind.RSA,
        ),
    )


def _public_hostname(env: Env) -> tuple[str, ...]:
    host = urlsplit(env.str("PUBLIC_URL", "")).hostname
    return (host,) if host else ()


def ensure_local_certificates(
    data: DataDir, extra_hosts: Sequence[str] = (), *, force: bool = False
) -> tuple[CertPaths, tuple[str, ...]]:
    """Create or renew the local CA and both local leaves (all re-issued leaves when
    `force`); returns the CA and the names the leaves cover."""
    ca = ensure_local_ca(data.tls / "ca")
    hosts = [host.strip("[]") for host in extra_hosts]
    names = LOCAL_NAMES + tuple(h for h in hosts if not _is_ip(h))
    ips = LOCAL_IPS + tuple(h for h in hosts if _is_ip(h))
    ensure_server_certificates(ca, data.tls / "server", hostnames=names, ips=ips, force=force)
    return ca, tuple(dict.fromkeys(names + ips))


def prepare_tls(
    data: DataDir, extra_hosts: Sequence[str] = (), *, env: Env | None = None
) -> TlsMaterial:
    """What `strongroom serve` will serve: the operator's chains when configured, else the
    local ones (created or renewed as needed). The local CA is always kept: local workers
    and `certs ca-path` use it. WeakCertificate when any served chain fails the policy."""
    env = env if env is not None else Env()
    operator = operator_certificates(env)
    if operator:
        material = TlsMaterial(ensure_local_ca(data.tls / "ca"), operator, _public_hostname(env))
    else:
        ca, names = ensure_local_certificates(data, extra_hosts)
        material = TlsMaterial(ca, _local_served(data), names)
    problems = policy_problems(material.served, material.hostnames)
    if problems:
        raise WeakCertificate("certificate policy failed: " + " ".join(problems))
    return material


def _kind_problems(served: Sequence[ServedCertificate]) -> list[str]:
    # OpenSSL keeps one chain per key type: a second one of a type would silently replace
    # the first, so refuse that instead.
    problems, seen = [], set()
    for item in served:
        try:
            kind = key_kind(load_certificate(item.paths.cert.read_bytes()).public_key())
        except (OSError, ValueError):
            continue  # check_certificate reports it
        if item.expected is not None and kind is not item.expected:
            problems.append(f"{item.label}: the certificate must have an {item.expected.name} key.")
        elif kind in seen:
            problems.append(
                f"{item.label}: another served certificate has the same key type; "
                "serve at most one ECDSA and one RSA certificate."
            )
        seen.add(kind)
    return problems


def certificate_problems(item: ServedCertificate, hostnames: Sequence[str]) -> list[str]:
    """Every policy problem of one served chain, for each of `hostnames` (or none)."""
    problems: list[str] = []
    for hostname in hostnames or (None,):
        found = check_certificate(item.paths.cert, hostname=hostname)
        problems += [p for p in found if p not in problems]
    return problems + check_key_pair(item.paths.cert, item.paths.key)


def policy_problems(served: Sequence[ServedCertificate], hostnames: Sequence[str]) -> list[str]:
    """All problems of all served chains, each prefixed by the chain's label."""
    problems = [
        f"{item.label}: {problem}"
        for item in served
        for problem in certificate_problems(item, hostnames)
    ]
    return problems + _kind_problems(served)


# ---------------------------------------------------------------------------- commands


def _summary_lines(item: ServedCertificate, hostnames: Sequence[str]) -> list[str]:
    lines = [f"{item.label}: {item.paths.cert}"]
    try:
        summary = summarize_certificate(item.paths.cert)
    except (OSError, ValueError):
        summary = None
    if summary is not None:
        lines += [
            f"  subject:    {summary.subject}",
            f"  names:      {', '.join(summary.names) or '-'}",
            f"  key:        {summary.key}",
            f"  signature:  {summary.signature}",
            f"  not after:  {summary.not_after:%Y-%m-%d %H:%M} UTC",
        ]
    problems = certificate_problems(item, hostnames)
    lines += [f"  problem:    {problem}" for problem in problems] or ["  policy:     OK"]
    return lines


def cmd_certs_inspect(args: argparse.Namespace) -> int:
    """Describe each served certificate and its policy problems; 1 when any fails."""
    data, env = use_data_dir(args.data_dir), Env()
    served = operator_certificates(env)
    hostnames = _public_hostname(env) if served else LOCAL_NAMES + LOCAL_IPS
    served = served or _local_served(data)
    for item in served:
        print("\n".join(_summary_lines(item, hostnames)))
    kind_problems = _kind_problems(served)
    for problem in kind_problems:
        print(f"problem: {problem}")
    failed = bool(kind_problems) or any(certificate_problems(i, hostnames) for i in served)
    print("certificate policy: FAILED" if failed else "certificate policy: OK")
    return 1 if failed else 0


def _current_hosts(data: DataDir) -> tuple[str, ...]:
    # Keep the names `strongroom serve --host` added, so `create` does not churn a leaf that
    # the next `serve` would re-issue again.
    try:
        names = summarize_certificate(_local_served(data)[0].paths.cert).names
    except (OSError, ValueError):
        return ()
    return tuple(name.partition(":")[2] for name in names)


def _issue(args: argparse.Namespace, *, force: bool) -> int:
    data = use_data_dir(args.data_dir)
    ca, _ = ensure_local_certificates(data, _current_hosts(data), force=force)
    for item in _local_served(data):
        print(f"{item.label}: {item.paths.cert}")
    print(f"Local CA certificate (trust this): {ca.cert}")
    if operator_certificates(Env()):
        print(f"Note: {PREFIX}TLS_CERT is set, so the edge serves the operator's certificates.")
    print("A running `strongroom serve` picks new certificates up when restarted.")
    return 0


def cmd_certs_create(args: argparse.Namespace) -> int:
    """Create the local CA and server certificates, or renew what is missing or expiring."""
    return _issue(args, force=False)


def cmd_certs_renew(args: argparse.Namespace) -> int:
    """Re-issue both local server certificates now (the CA is kept)."""
    return _issue(args, force=True)
