"""``send_bytes``: one request with a body through the pinned connection (used for S3 calls),
refused by the same rules as every outbound request."""

from __future__ import annotations

import pytest

from strongroom.outbound import BlockedDestination, FetchFailed, FetchPolicy, send_bytes
from tests.integration.outbound.test_fetch_loopback import (  # the same loopback server
    BIG,
    BODY,
    Handler,
    loopback_dns,
    policy,
    port,
)

__all__ = ["policy", "port"]  # fixtures, used by name


def test_it_returns_the_whole_answer_and_keeps_the_name_in_the_host_header(port: int) -> None:
    allowed = FetchPolicy(allow_networks=("127.0.0.0/8",), allowed_ports=(port,))
    reply = send_bytes("GET", f"http://media.test:{port}/file", {"x-amz-date": "d"}, b"", allowed,
                       resolver=loopback_dns)  # fmt: skip
    assert (reply.status, reply.content, reply.headers["content-type"]) == (200, BODY, "video/mp4")
    assert Handler.seen[-1]["host"] == f"media.test:{port}"


def test_a_body_is_sent(port: int, policy: FetchPolicy) -> None:
    reply = send_bytes("POST", f"http://127.0.0.1:{port}/hook", {"x-sig": "s"}, b"a=1", policy)
    assert reply.status == 204
    assert Handler.seen[-1]["form"] == repr({"a": ["1"]})


def test_an_answer_over_the_limit_is_refused(port: int) -> None:
    small = FetchPolicy(allow_networks=("127.0.0.0/8",), allowed_ports=(port,), max_bytes=BIG - 1)
    with pytest.raises(FetchFailed, match="larger than allowed"):
        send_bytes("GET", f"http://127.0.0.1:{port}/big", {}, b"", small)


def test_a_loopback_endpoint_is_blocked_by_default(port: int) -> None:
    before = len(Handler.seen)
    with pytest.raises(BlockedDestination):
        send_bytes(
            "PUT", f"http://127.0.0.1:{port}/file", {}, b"x", FetchPolicy(allowed_ports=(port,))
        )
    assert len(Handler.seen) == before  # refused before any connection
