"""Passkeys (WebAuthn) with py_webauthn: registration, and sign-in as a second factor or alone.

The library does all verification (challenge, origin, RP ID hash, signature, counter); this module
keeps the state it needs: the challenge in the caller's session, and the credential's public key
and signature counter in `accounts.Passkey`. A passkey used alone must prove user verification
(PIN or biometric), so it stands for both factors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import webauthn
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from strongroom.edge.accounts.models import Passkey
from strongroom.edge.audit.services import record_event

MAX_CREDENTIAL_JSON = 64 * 1024  # a real response is a few KiB
MAX_NAME = 64


class PasskeyRefused(Exception):
    """The browser's answer did not verify; the message is safe to show."""


@dataclass(frozen=True)
class RelyingParty:
    id: str  # the host name credentials are scoped to
    origin: str  # https://host[:port] the browser reports
    name: str = "Strongroom"


def relying_party(request_host: str, public_url: str = "") -> RelyingParty:
    """The RP from the configured public URL, else from the (ALLOWED_HOSTS-checked) Host."""
    base = urlsplit(public_url) if public_url else urlsplit(f"https://{request_host}")
    host = base.hostname or ""
    return RelyingParty(id=host, origin=f"https://{base.netloc}")


def user_handle(user: Any) -> bytes:
    """An opaque WebAuthn user id: no email, no sequential number (the spec asks for no PII)."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"user:{user.pk}".encode(), hashlib.sha256
    ).digest()


def registration_options(user: Any, rp: RelyingParty) -> tuple[str, bytes]:
    """Options JSON for navigator.credentials.create(), and the challenge to keep server-side."""
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user.get_username(),
        user_id=user_handle(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(user),
    )
    return webauthn.options_to_json(options), options.challenge


def register(
    user: Any, rp: RelyingParty, challenge: bytes, credential_json: str, name: str
) -> Passkey:
    _check_size(credential_json)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused("The passkey could not be registered.") from exc
    credential_id = _b64url(verified.credential_id)
    if Passkey.objects.filter(credential_id=credential_id).exists():
        raise PasskeyRefused("This passkey is already registered.")
    passkey = Passkey.objects.create(
        user=user,
        name=(name.strip() or "passkey")[:MAX_NAME],
        confirmed=True,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )
    record_event(
        action="auth.passkey_added", actor_type="user", actor=f"user:{user.pk}", target=passkey.name
    )
    return passkey


def authentication_options(rp: RelyingParty, user: Any | None = None) -> tuple[str, bytes]:
    """Options for navigator.credentials.get(): the user's passkeys, or any discoverable one."""
    options = webauthn.generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=_descriptors(user) if user is not None else None,
        user_verification=(
            UserVerificationRequirement.PREFERRED
            if user is not None
            else UserVerificationRequirement.REQUIRED
        ),
    )
    return webauthn.options_to_json(options), options.challenge


def authenticate(
    rp: RelyingParty, challenge: bytes, credential_json: str, *, user: Any | None = None
) -> Passkey:
    """The passkey that signed this challenge. With `user` None (passkey alone) the
    authenticator must also have verified the person (PIN or biometric)."""
    _check_size(credential_json)
    passkey = _find(credential_json, user)
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=user is None,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused("The passkey could not be verified.") from exc
    with transaction.atomic():
        Passkey.objects.filter(pk=passkey.pk).update(
            sign_count=verified.new_sign_count, last_used_at=timezone.now()
        )
    return passkey


def remove(user: Any, passkey_id: int) -> bool:
    deleted, _ = Passkey.objects.filter(user=user, pk=passkey_id).delete()
    if deleted:
        record_event(action="auth.passkey_removed", actor_type="user", actor=f"user:{user.pk}")
    return bool(deleted)


def _find(credential_json: str, user: Any | None) -> Passkey:
    try:
        credential_id = str(json.loads(credential_json)["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused("The passkey answer is malformed.") from exc
    passkeys = Passkey.objects.select_related("user").filter(
        credential_id=credential_id, confirmed=True, user__is_active=True
    )
    if user is not None:
        passkeys = passkeys.filter(user=user)
    found = passkeys.first()
    if found is None:
        raise PasskeyRefused("This passkey is not registered here.")
    return found


def _descriptors(user: Any) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(p.credential_id))
        for p in Passkey.objects.filter(user=user, confirmed=True)
    ]


def _check_size(credential_json: str) -> None:
    if not isinstance(credential_json, str) or len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyRefused("The passkey answer is too large.")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
