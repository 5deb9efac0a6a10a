"""Sealed tokens: round trip, rotation, and every way a forged or altered token is refused."""

import base64
import os

import pytest

from strongroom.crypto.sealing import MAX_TOKEN_CHARS, Sealer

pytestmark = pytest.mark.unit
PURPOSE = b"test purpose"
OLD, NEW = os.urandom(32), os.urandom(32)


def _raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_round_trip_and_fresh_nonce_each_time():
    sealer = Sealer([NEW])
    first, second = sealer.seal(b"abc", purpose=PURPOSE), sealer.seal(b"abc", purpose=PURPOSE)
    assert first != second
    assert sealer.open(first, purpose=PURPOSE) == b"abc"
    assert b"abc" not in _raw(first)


def test_rotation_old_tokens_still_open_new_tokens_use_the_new_key():
    old_token = Sealer([OLD]).seal(b"v", purpose=PURPOSE)
    rotated = Sealer([NEW, OLD])
    assert rotated.open(old_token, purpose=PURPOSE) == b"v"
    assert Sealer([NEW]).open(rotated.seal(b"v", purpose=PURPOSE), purpose=PURPOSE) == b"v"


def test_a_retired_key_no_longer_opens():
    old_token = Sealer([OLD]).seal(b"v", purpose=PURPOSE)
    assert Sealer([NEW]).open(old_token, purpose=PURPOSE) is None


def test_a_token_for_another_purpose_is_refused():
    token = Sealer([NEW]).seal(b"v", purpose=PURPOSE)
    assert Sealer([NEW]).open(token, purpose=b"other") is None


@pytest.mark.parametrize("position", [0, 1, 5, 10, 17, 20, -1])
def test_any_flipped_byte_is_refused(position):
    raw = _raw(Sealer([NEW]).seal(b"session key", purpose=PURPOSE))
    raw[position] ^= 0x01
    assert Sealer([NEW]).open(_text(raw), purpose=PURPOSE) is None


@pytest.mark.parametrize(
    "token",
    ["", "x", "!!!!", "A" * 10, "A" * (MAX_TOKEN_CHARS + 1), "====", "\u00e9\u00e9\u00e9"],
)
def test_garbage_is_refused_without_error(token):
    assert Sealer([NEW]).open(token, purpose=PURPOSE) is None


def test_truncated_token_is_refused():
    token = Sealer([NEW]).seal(b"session key", purpose=PURPOSE)
    assert Sealer([NEW]).open(token[:-4], purpose=PURPOSE) is None


@pytest.mark.parametrize("keys", [[], [b"short"], [os.urandom(32), os.urandom(16)]])
def test_bad_keys_are_refused_at_construction(keys):
    with pytest.raises(ValueError, match="key"):
        Sealer(keys)
