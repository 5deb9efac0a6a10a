"""Encrypted database values: round trip, and refusal when moved, altered or keyed wrongly."""

import os

import pytest

from strongroom.crypto.fields import (
    FieldCipher,
    FieldDecryptionError,
    associated_data,
    is_encrypted,
)

pytestmark = pytest.mark.unit
KEY, OTHER = os.urandom(32), os.urandom(32)
HERE = associated_data("accounts_project", "webhook_secret", "row-1")


def test_round_trip_and_format():
    stored = FieldCipher([KEY]).encrypt("whsec_abc", HERE)
    assert is_encrypted(stored) and "whsec" not in stored
    assert FieldCipher([KEY]).decrypt(stored, HERE) == "whsec_abc"
    assert FieldCipher([KEY]).encrypt("whsec_abc", HERE) != stored  # fresh nonce


@pytest.mark.parametrize(
    "elsewhere",
    [
        associated_data("accounts_project", "webhook_secret", "row-2"),  # another row
        associated_data("accounts_project", "name", "row-1"),  # another column
        associated_data("audit_report", "webhook_secret", "row-1"),  # another table
    ],
)
def test_a_value_moved_elsewhere_does_not_decrypt(elsewhere):
    stored = FieldCipher([KEY]).encrypt("secret", HERE)
    with pytest.raises(FieldDecryptionError) as caught:
        FieldCipher([KEY]).decrypt(stored, elsewhere)
    assert "secret" not in str(caught.value)


def test_associated_data_parts_cannot_be_shifted():
    assert associated_data("ab", "c", "1") != associated_data("a", "bc", "1")


@pytest.mark.parametrize("position", [4, 13, 20, -3])
def test_altered_values_are_refused(position):
    stored = FieldCipher([KEY]).encrypt("secret", HERE)
    index = position % len(stored)
    altered = stored[:index] + ("A" if stored[index] != "A" else "B") + stored[index + 1 :]
    with pytest.raises(FieldDecryptionError):
        FieldCipher([KEY]).decrypt(altered, HERE)


@pytest.mark.parametrize("stored", ["plain text", "sr1.zz", "sr1.00000000.", "", "sr1.a.b.c"])
def test_malformed_values_are_refused(stored):
    with pytest.raises(FieldDecryptionError):
        FieldCipher([KEY]).decrypt(stored, HERE)


def test_rotation_ring():
    old = FieldCipher([OTHER]).encrypt("secret", HERE)
    ring = FieldCipher([KEY, OTHER])
    assert ring.decrypt(old, HERE) == "secret"
    assert ring.needs_rotation(old) and not ring.needs_rotation(ring.encrypt("x", HERE))
    with pytest.raises(FieldDecryptionError, match="no field key"):
        FieldCipher([KEY]).decrypt(old, HERE)


@pytest.mark.parametrize("keys", [[], [b"short"]])
def test_bad_keys(keys):
    with pytest.raises(ValueError, match="32-byte"):
        FieldCipher(keys)
