"""Object key validation."""

from __future__ import annotations

import pytest

from strongroom.storage.keys import InvalidObjectKey, validate_key, validate_prefix


@pytest.mark.parametrize(
    "key", ["a", "tasks/abc/out/0/video.mp4", "A-Z_a.z-0.9", "x" * 512, "a/b/c/d/e", "..a", "a.."]
)
def test_it_accepts_valid_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../x",
        "a/../b",
        "..",
        ".",
        "/abs",
        "a/",
        "a//b",
        "a/./b",
        "a\x00b",
        "a\\b",
        "a b",
        "caf\u00e9",
        "a:b",
        "~user",
        "x" * 513,
        "a/\nb",
    ],
)
def test_it_refuses_invalid_keys(key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        validate_key(key)


def test_the_error_does_not_echo_the_key() -> None:
    with pytest.raises(InvalidObjectKey) as info:
        validate_key("../../etc/passwd")
    assert "passwd" not in str(info.value)


def test_non_strings_are_refused() -> None:
    with pytest.raises(InvalidObjectKey):
        validate_key(None)  # type: ignore[arg-type]  # deliberately the wrong type


@pytest.mark.parametrize(("prefix", "clean"), [("", ""), ("a", "a"), ("a/b/", "a/b")])
def test_prefixes_may_be_empty_or_end_with_a_slash(prefix: str, clean: str) -> None:
    assert validate_prefix(prefix) == clean


@pytest.mark.parametrize("prefix", ["/", "//", "../", "a//", "/a"])
def test_it_refuses_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidObjectKey):
        validate_prefix(prefix)
