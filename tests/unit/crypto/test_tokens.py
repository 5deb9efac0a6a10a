"""Signed capability tokens."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from strongroom.crypto.tokens import TokenError, issue_token, read_token

KEY = secrets.token_bytes(32)
NOW = 1_800_000_000.0


def test_a_token_round_trips_its_claims_with_an_expiry() -> None:
    token = issue_token(KEY, {"lease": "lse_1", "purpose": "source", "n": 3}, ttl=60, now=NOW)
    claims = read_token(KEY, token, now=NOW + 59)
    assert claims == {"lease": "lse_1", "purpose": "source", "n": 3, "exp": int(NOW) + 60}


def test_a_token_is_url_safe() -> None:
    token = issue_token(KEY, {"path": "a/b?c=d&e", "x": "\u00e9"}, ttl=60, now=NOW)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_it_rejects_an_expired_token() -> None:
    token = issue_token(KEY, {"a": "b"}, ttl=60, now=NOW)
    with pytest.raises(TokenError) as info:
        read_token(KEY, token, now=NOW + 60)
    assert info.value.code == "expired"


def test_it_rejects_a_token_signed_with_another_key() -> None:
    token = issue_token(secrets.token_bytes(32), {"a": "b"}, ttl=60, now=NOW)
    with pytest.raises(TokenError) as info:
        read_token(KEY, token, now=NOW)
    assert info.value.code == "invalid"


def test_it_rejects_edited_claims() -> None:
    token = issue_token(KEY, {"purpose": "source"}, ttl=60, now=NOW)
    signature = token.split(".")[1]
    forged_claims = {"purpose": "output", "exp": int(NOW) + 60}
    forged = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError) as info:
        read_token(KEY, f"{forged}.{signature}", now=NOW)
    assert info.value.code == "invalid"


def test_it_rejects_an_extended_expiry() -> None:
    token = issue_token(KEY, {"a": "b"}, ttl=60, now=NOW)
    longer = issue_token(secrets.token_bytes(32), {"a": "b"}, ttl=6000, now=NOW)
    with pytest.raises(TokenError):
        read_token(KEY, longer.split(".")[0] + "." + token.split(".")[1], now=NOW)


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.???", "x" * 5000, "\u00e9.\u00e9", "abc.a=b"],
)
def test_it_rejects_malformed_tokens(token: str) -> None:
    with pytest.raises(TokenError) as info:
        read_token(KEY, token, now=NOW)
    assert info.value.code == "invalid"


def test_it_rejects_a_validly_signed_payload_that_is_not_a_claims_object() -> None:
    import hashlib
    import hmac

    for body in (b"[1, 2]", b'{"exp": "soon"}', b'{"a": true, "exp": 1}', b"{}"):
        payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        mac = hmac.new(KEY, payload.encode(), hashlib.sha256).digest()
        token = payload + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        with pytest.raises(TokenError) as info:
            read_token(KEY, token, now=0)
        assert info.value.code == "invalid"


@pytest.mark.parametrize(
    ("claims", "ttl"),
    [({"exp": 5}, 60), ({"a": True}, 60), ({"a": 1.5}, 60), ({"a": None}, 60), ({"a": "b"}, 0)],
)
def test_issue_rejects_bad_claims_and_ttl(claims: dict[str, object], ttl: int) -> None:
    with pytest.raises(ValueError):
        issue_token(KEY, claims, ttl=ttl, now=NOW)  # type: ignore[arg-type]  # deliberately wrong types


def test_it_refuses_short_keys() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        issue_token(b"short", {"a": "b"}, ttl=60)
