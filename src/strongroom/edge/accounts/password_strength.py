"""A password strength check with zxcvbn (entropy against dictionaries, names and patterns),
next to Django's length and common-password validators: length alone lets "Password1234" in."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from zxcvbn import zxcvbn

MIN_SCORE = 3  # zxcvbn's "safely unguessable: moderate protection from offline slow-hash attacks"
MAX_CHECKED_LENGTH = 256  # zxcvbn's cost grows with length; longer passwords are strong anyway


class ZxcvbnValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > MAX_CHECKED_LENGTH:
            return
        hints = [str(getattr(user, field, "") or "") for field in ("username", "email")]
        result = zxcvbn(password, user_inputs=[hint for hint in hints if hint])
        if result["score"] < MIN_SCORE:
            advice = result["feedback"].get("warning") or "It is too easy to guess."
            raise ValidationError(f"This password is too weak. {advice}", code="password_too_weak")

    def get_help_text(self) -> str:
        return "Your password must not be easy to guess (no common words, names or patterns)."
