"""IPv4 literal parsing and address classification."""

from __future__ import annotations

import ipaddress

import pytest

from strongroom.outbound.addresses import (
    canonical_address,
    is_allowed_address,
    looks_numeric,
    parse_ipv4_literal,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.0.258", "10.0.1.2"),
        ("1.2.3.4.", "1.2.3.4"),
        ("0", "0.0.0.0"),  # noqa: S104 - an expected parse result, not a bind address
    ],
)
def test_it_parses_legacy_ipv4_spellings(text: str, expected: str) -> None:
    assert parse_ipv4_literal(text) == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize(
    "text", ["256.0.0.1", "1.2.3.4.5", "08.0.0.1", "0x1ffffffff", "1.2.65536", "a.1", "", "1..2"]
)
def test_it_rejects_invalid_ipv4_spellings(text: str) -> None:
    assert parse_ipv4_literal(text) is None


def test_it_treats_a_host_ending_in_a_number_as_numeric() -> None:
    assert looks_numeric("foo.123")
    assert looks_numeric("0x10")
    assert not looks_numeric("example.com")
    assert not looks_numeric("123.example")


@pytest.mark.parametrize(
    ("v6", "v4"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("2002:a00:1::", "10.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),
    ],
)
def test_it_extracts_embedded_ipv4(v6: str, v4: str) -> None:
    assert canonical_address(ipaddress.ip_address(v6)) == ipaddress.ip_address(v4)


def test_it_strips_an_ipv6_scope() -> None:
    assert canonical_address(ipaddress.ip_address("fe80::1%eth0")) == ipaddress.ip_address(
        "fe80::1"
    )


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"]
)
def test_it_allows_public_addresses(address: str) -> None:
    assert is_allowed_address(ipaddress.ip_address(address), ())


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.9",
        "64:ff9b::808:808",
        "2001:db8::1",
        "fd00:ec2::254",
        "ff02::1",
        "fc00::1",
        "203.0.113.7",
        "198.51.100.7",
        "192.0.2.7",
        "240.0.0.1",
    ],
)
def test_it_refuses_special_purpose_addresses(address: str) -> None:
    assert not is_allowed_address(ipaddress.ip_address(address), ())
