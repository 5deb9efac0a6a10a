"""Second factors with django-otp: TOTP authenticator apps and one-time recovery codes.

A user "has" a second factor once a TOTP device is confirmed (the user typed a code from it).
Recovery codes live in a django-otp static device; each works once.
"""

from __future__ import annotations

import secrets
from typing import Any

import segno
from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from strongroom.edge.accounts.models import Membership, Passkey
from strongroom.edge.audit.services import record_event

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE = "recovery codes"
TOTP_DEVICE = "authenticator app"


def has_second_factor(user: Any) -> bool:
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or Passkey.objects.filter(user=user, confirmed=True).exists()
    )


def second_factor_required(user: Any) -> bool:
    """Staff always; anyone in an organization whose owner made 2FA compulsory."""
    if user.is_staff:
        return True
    return Membership.objects.filter(user=user, organization__require_2fa=True).exists()


def start_totp_enrollment(user: Any) -> TOTPDevice:
    """A fresh unconfirmed authenticator for `user` (replacing any earlier unconfirmed one)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE, confirmed=False)


def pending_totp(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).first()


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (allowed by the CSP's img-src)."""
    return str(segno.make(device.config_url, error="m").svg_data_uri(scale=4))


def confirm_totp(user: Any, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm `device` with a code from it; returns fresh recovery codes (shown once) or None."""
    if device.user_id != user.pk or not device.verify_token(_digits(token)):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(user)
    record_event(action="auth.totp_enabled", actor_type="user", actor=f"user:{user.pk}")
    return codes


def new_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes; the old ones stop working."""
    codes = [_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE, confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def verify_second_factor(user: Any, token: str) -> Any | None:
    """The confirmed device that accepts `token` (TOTP code or recovery code), or None."""
    token = token.strip()
    digits = _digits(token)
    for device in devices_for_user(user, confirmed=True):
        # A 6-digit code goes only to the app, a recovery code only to the code list, so a
        # mistyped code doesn't throttle the other device (django-otp throttles on failure).
        if isinstance(device, TOTPDevice):
            candidate = digits
        elif isinstance(device, StaticDevice):
            candidate = "" if digits else token.lower()
        else:
            continue  # passkeys sign in through their own endpoint
        if candidate and device.verify_token(candidate):
            if isinstance(device, StaticDevice):
                record_event(
                    action="auth.recovery_code_used", actor_type="user", actor=f"user:{user.pk}"
                )
            return device
    return None


def disable_second_factor(user: Any) -> None:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        Passkey.objects.filter(user=user).delete()
    record_event(action="auth.2fa_disabled", actor_type="user", actor=f"user:{user.pk}")


def _digits(token: str) -> str:
    cleaned = token.replace(" ", "").strip()
    return cleaned if cleaned.isdigit() and len(cleaned) <= 8 else ""


def _recovery_code() -> str:
    # 10 lowercase base32 characters: 50 bits, single use, rate-limited by the sign-in lockout.
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(10))
