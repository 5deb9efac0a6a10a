"""Exceptions raised by the media pipeline.

They live in their own module so that ``probe``, ``planner``, ``runner`` and ``verify`` can all
raise them without importing each other; ``strongroom.media.runner`` re-exports them because
that is where callers look for them.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class for media failures.

    ``user_message`` is safe to show to the client: it never contains a server path, a stack
    trace or key material. ``detail`` is for operators' logs only (e.g. an ffmpeg stderr tail).
    """

    default_message = "the media could not be processed"

    def __init__(self, user_message: str | None = None, *, detail: str = "") -> None:
        self.user_message = user_message or self.default_message
        self.detail = detail
        super().__init__(self.user_message)


class InputRejected(MediaError):
    """The input is not acceptable (unreadable, hostile or over a limit); retrying won't help."""

    default_message = "the source file is not a supported or valid media file"


class EncodeFailed(MediaError):
    """ffmpeg failed; ``detail`` keeps the tail of its stderr for the logs."""

    default_message = "encoding failed"


class MediaTimeout(MediaError):
    """A media process ran past its wall-clock budget and was killed."""

    default_message = "encoding took too long and was stopped"


class Cancelled(MediaError):
    """The job was cancelled while a media process was running; the process was killed."""

    default_message = "the job was cancelled"


class VerificationError(MediaError):
    """An output did not match its plan (missing file, wrong duration, size or layout)."""

    default_message = "an output failed verification"
