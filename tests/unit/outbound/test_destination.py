"""SSRF rules: every blocked form is refused before any socket is opened."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from strongroom.outbound import (
    BlockedDestination,
    FetchFailed,
    FetchPolicy,
    IPAddress,
    check_url,
    fetch_to_file,
    post_form,
)
from strongroom.outbound.fetch import _next_hop

PUBLIC = ipaddress.ip_address("93.184.215.14")


def fake_dns(table: dict[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in table:
            raise socket.gaierror("no such name")
        return [ipaddress.ip_address(a) for a in table[host]]

    return resolve


DNS = fake_dns(
    {
        "example.com": ["93.184.215.14"],
        "rebind.example": ["127.0.0.1"],
        "mixed.example": ["93.184.215.14", "10.1.2.3"],
        "metadata.example": ["169.254.169.254"],
        "v6.example": ["2606:4700::1111"],
        "nat64.example": ["64:ff9b::7f00:1"],
        "empty.example": [],
    }
)


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


BLOCKED_URLS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://LOCALHOST./x",
    "http://api.localhost/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://0177.1/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.100.100.200/",
    "http://192.0.0.9/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://0.0.0.0/",
    "http://rebind.example/",
    "http://mixed.example/",
    "http://nat64.example/",
    "https://metadata.example/",
    "http://user:secret@example.com/",
    "http://user@example.com/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "ftp://example.com/",
    "http://example.com:22/",
    "https://example.com:8443/",
    "http://ex%41mple.com/",
    "http://foo.123/",
    "http://999.0.0.1/",
    "http://0x1ffffffff/",
    "not a url",
    "http:///nohost",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_it_blocks_internal_and_malformed_destinations(url: str) -> None:
    with pytest.raises(BlockedDestination):
        check_url(url, FetchPolicy(), resolver=DNS)


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_it_blocks_before_connecting_when_fetching(url: str, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with pytest.raises(BlockedDestination):
        fetch_to_file(url, dest, FetchPolicy(), resolver=DNS)
    assert not dest.exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://user:pw@example.com/hook"])
def test_it_blocks_callbacks_before_connecting(url: str) -> None:
    with pytest.raises(BlockedDestination):
        post_form(url, {"a": "b"}, {}, FetchPolicy(), resolver=DNS)


def test_it_never_echoes_credentials_in_the_reason() -> None:
    with pytest.raises(BlockedDestination) as caught:
        check_url("https://admin:hunter2@example.com/", FetchPolicy(), resolver=DNS)
    assert "hunter2" not in caught.value.reason
    assert "admin" not in str(caught.value)


def test_it_does_not_reveal_resolved_addresses() -> None:
    with pytest.raises(BlockedDestination) as caught:
        check_url("http://rebind.example/", FetchPolicy(), resolver=DNS)
    assert "127.0.0.1" not in caught.value.reason


def test_it_returns_the_checked_addresses_for_a_public_host() -> None:
    assert check_url("https://example.com/in.mp4", FetchPolicy(), resolver=DNS) == [PUBLIC]


def test_it_accepts_a_public_ipv6_host() -> None:
    addresses = check_url("https://v6.example/x", FetchPolicy(), resolver=DNS)
    assert addresses == [ipaddress.ip_address("2606:4700::1111")]


def test_it_accepts_a_public_ip_literal_without_dns() -> None:
    def no_dns(host: str, port: int) -> list[IPAddress]:
        raise AssertionError("literal hosts must not be resolved")

    assert check_url("http://8.8.8.8/", FetchPolicy(), resolver=no_dns) == [
        ipaddress.ip_address("8.8.8.8")
    ]


def test_it_reads_a_decimal_ip_literal_as_ipv4() -> None:
    assert check_url("http://134744072/", FetchPolicy(), resolver=DNS) == [
        ipaddress.ip_address("8.8.8.8")
    ]


def test_it_reports_an_unresolvable_name_as_fetch_failed() -> None:
    with pytest.raises(FetchFailed):
        check_url("http://nowhere.example/", FetchPolicy(), resolver=DNS)
    with pytest.raises(FetchFailed):
        check_url("http://empty.example/", FetchPolicy(), resolver=DNS)


def test_an_allowlisted_network_opens_only_that_range() -> None:
    policy = FetchPolicy(allow_networks=("10.1.0.0/16",))
    assert check_url("http://10.1.2.3/", policy, resolver=DNS)
    assert check_url("http://mixed.example/", policy, resolver=DNS)
    with pytest.raises(BlockedDestination):
        check_url("http://10.2.0.1/", policy, resolver=DNS)
    with pytest.raises(BlockedDestination):
        check_url("http://127.0.0.1/", policy, resolver=DNS)


def test_an_allowlisted_ipv4_range_also_covers_its_mapped_ipv6_form() -> None:
    policy = FetchPolicy(allow_networks=("127.0.0.0/8",))
    assert check_url("http://[::ffff:127.0.0.1]/", policy, resolver=DNS)


def test_an_allowed_port_opens_only_that_port() -> None:
    policy = FetchPolicy(allowed_ports=(80, 443, 8443))
    assert check_url("https://example.com:8443/", policy, resolver=DNS)
    with pytest.raises(BlockedDestination):
        check_url("https://example.com:8444/", policy, resolver=DNS)


def test_it_rejects_a_malformed_allowlist_at_construction() -> None:
    with pytest.raises(ValueError, match="does not appear"):
        FetchPolicy(allow_networks=("10.0.0.0/33",))


@pytest.mark.parametrize(
    "changes", [{"max_bytes": 0}, {"max_redirects": -1}, {"connect_timeout": 0}]
)
def test_it_rejects_nonsense_limits(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        FetchPolicy(**changes)  # type: ignore[arg-type]


def test_a_redirect_from_https_to_http_is_refused() -> None:
    response = httpx.Response(302, headers={"location": "http://example.com/x"})
    with pytest.raises(BlockedDestination):
        _next_hop(httpx.URL("https://example.com/a"), response)


def test_a_relative_redirect_resolves_against_the_current_url() -> None:
    response = httpx.Response(301, headers={"location": "/b?c=1"})
    assert _next_hop(httpx.URL("https://example.com/a"), response) == httpx.URL(
        "https://example.com/b?c=1"
    )


def test_a_redirect_without_location_fails() -> None:
    with pytest.raises(FetchFailed):
        _next_hop(httpx.URL("https://example.com/a"), httpx.Response(302))
