"""Creating an account from an invitation: the only way to sign up (there is no open sign-up).

The invitation code proves the person received the email it was sent to; the new account gets
that address, a strength-checked password and the invited role, in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from strongroom.edge.accounts.team import InvitationInvalid, accept_invitation


class AccountExists(Exception):
    """That address already has an account: sign in and accept the invitation there."""


def sign_up_with_invitation(email: str, password: str, code: str) -> Any:
    """The new user, a member of the invitation's organization. Raises InvitationInvalid,
    AccountExists, or django's ValidationError for a weak password; creates nothing then."""
    users = get_user_model()
    email = email.strip().lower()
    if users.objects.filter(username__iexact=email).exists():
        raise AccountExists
    candidate = users(username=email, email=email)
    validate_password(password, user=candidate)
    with transaction.atomic():
        user = users.objects.create_user(username=email, email=email, password=password)
        accept_invitation(user, code)  # raises InvitationInvalid: the user row rolls back too
    return user


__all__ = ["AccountExists", "InvitationInvalid", "sign_up_with_invitation"]
