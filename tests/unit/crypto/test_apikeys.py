"""API key format, checksum, digest, and opaque tokens."""

from __future__ import annotations

import re
import secrets

import pytest

from strongroom.crypto.apikeys import (
    api_key_digest,
    generate_api_key,
    generate_opaque_token,
    parse_api_key,
)

SHAPE = re.compile(r"sr_live_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}")


def test_a_generated_key_has_the_documented_shape_and_parses() -> None:
    key = generate_api_key()
    assert SHAPE.fullmatch(key)
    parsed = parse_api_key(key)
    assert parsed is not None
    assert parsed.public_id == key[8:16]
    assert parsed.secret == key[17:49]


def test_generated_keys_are_unique() -> None:
    assert len({generate_api_key() for _ in range(200)}) == 200


def test_a_single_changed_character_fails_the_checksum() -> None:
    key = generate_api_key()
    for position in (10, 20, 40, len(key) - 1):
        replacement = "A" if key[position] != "A" else "B"
        assert parse_api_key(key[:position] + replacement + key[position + 1 :]) is None


@pytest.mark.parametrize(
    "text",
    ["", "sr_live_", "sr_test_abcdefgh_" + "a" * 38, "sr-live-abcdefgh-" + "a" * 38, "x" * 5000],
)
def test_it_rejects_wrong_shapes(text: str) -> None:
    assert parse_api_key(text) is None


def test_it_rejects_truncated_and_extended_keys() -> None:
    key = generate_api_key()
    assert parse_api_key(key[:-1]) is None
    assert parse_api_key(key + "0") is None
    assert parse_api_key(" " + key) is None


def test_the_parsed_key_repr_hides_the_secret() -> None:
    parsed = parse_api_key(generate_api_key())
    assert parsed is not None
    assert parsed.secret not in repr(parsed)
    assert parsed.public_id in repr(parsed)


def test_the_digest_is_a_peppered_hmac() -> None:
    pepper = secrets.token_bytes(32)
    digest = api_key_digest(pepper, "secret")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == api_key_digest(pepper, "secret")
    assert digest != api_key_digest(secrets.token_bytes(32), "secret")
    assert digest != api_key_digest(pepper, "secreT")


def test_the_digest_refuses_a_short_pepper() -> None:
    with pytest.raises(ValueError, match="pepper"):
        api_key_digest(b"short", "secret")


def test_opaque_tokens_are_random_and_url_safe() -> None:
    tokens = {generate_opaque_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", token) for token in tokens)
    assert len(generate_opaque_token(32)) == 43


def test_opaque_tokens_need_at_least_128_bits() -> None:
    with pytest.raises(ValueError, match="16"):
        generate_opaque_token(8)
