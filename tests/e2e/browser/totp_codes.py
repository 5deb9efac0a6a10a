"""Codes from an authenticator app, computed with django-otp's own TOTP (RFC 6238).

The server refuses a code whose time step was already used (replay protection) and accepts one
step ahead, so each code here is for the next unused step: no test waits for the clock.
"""

from __future__ import annotations

import base64

from django_otp.oath import TOTP


class TotpCodes:
    def __init__(self, manual_entry_secret: str) -> None:
        """`manual_entry_secret`: the base32 key the set-up page shows for typing in by hand."""
        padded = manual_entry_secret.strip().upper() + "=" * (-len(manual_entry_secret.strip()) % 8)
        self._totp = TOTP(base64.b32decode(padded))
        self._last_step: int | None = None

    def next_code(self) -> str:
        now = self._totp.t()
        step = now if self._last_step is None else max(now, self._last_step + 1)
        if step > now + 1:
            raise RuntimeError("more than two codes in one 30-second step; the server would refuse")
        self._last_step = step
        self._totp.time = step * self._totp.step  # the code of exactly that step
        try:
            return f"{self._totp.token():06d}"
        finally:
            del self._totp.time

    def code_far_from_now(self) -> str:
        """A well-formed code the server must refuse: it belongs to a step an hour ahead."""
        self._totp.time = (self._totp.t() + 120) * self._totp.step
        try:
            return f"{self._totp.token():06d}"
        finally:
            del self._totp.time
