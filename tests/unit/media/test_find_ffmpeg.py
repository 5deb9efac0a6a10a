"""Choosing the ffmpeg binary."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.media.errors import MediaError
from strongroom.media.runner import find_ffmpeg


def test_it_defaults_to_the_pinned_wheel_build() -> None:
    path = find_ffmpeg()
    assert path.is_file() and "imageio_ffmpeg" in str(path)


def test_it_uses_a_configured_executable(tmp_path: Path) -> None:
    binary = tmp_path / "ffmpeg"
    binary.write_text("")
    binary.chmod(0o755)
    assert find_ffmpeg(str(binary)) == binary


@pytest.mark.parametrize("mode", [0o644, None])
def test_it_refuses_a_configured_path_that_is_not_executable(tmp_path: Path,
                                                             mode: int | None) -> None:
    binary = tmp_path / "ffmpeg"
    if mode is not None:
        binary.write_text("")
        binary.chmod(mode)
    with pytest.raises(MediaError) as caught:
        find_ffmpeg(str(binary))
    assert str(tmp_path) not in caught.value.user_message
