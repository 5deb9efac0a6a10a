"""An organization's people: invitations, role changes, removal, and the 2FA requirement.

The console and the CLI call these; the permission table decides who may call them at all, and
the rules here keep an organization manageable whoever calls: an organization always keeps an
owner, and only an owner may make or unmake owners.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from strongroom.edge.accounts.apikeys import Actor
from strongroom.edge.accounts.models import Invitation, Membership, Organization, Role
from strongroom.edge.audit.services import record_event

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_PREFIX = "sri_"  # a prefix for secret scanners, not a secret


class TeamChangeRefused(Exception):
    """The change would leave no owner, or needs an owner to make it."""


class InvitationInvalid(Exception):
    """Unknown, used or expired, for another email address, or the person is already a member."""


def invite_member(
    organization: Organization, *, email: str, role: Role, by: Membership, actor: Actor
) -> str:
    """Record an invitation and return its token: the only time it exists in clear."""
    _check_owner_rule(by, role)
    token = INVITATION_PREFIX + secrets.token_urlsafe(24)
    with transaction.atomic():
        Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_digest=invitation_digest(token),
            invited_by=by.user,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        _audit("member.invite", actor, organization, {"email": email, "role": str(role)})
    return token


def change_role(membership: Membership, role: Role, *, by: Membership, actor: Actor) -> None:
    _check_owner_rule(by, role, Role(membership.role))
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.role == Role.OWNER and role != Role.OWNER:
            _keep_an_owner(locked)
        Membership.objects.filter(pk=locked.pk).update(role=role)
        _audit(
            "member.role_change",
            actor,
            locked.organization,
            {"user": locked.user_id, "from": locked.role, "to": str(role)},
        )


def remove_member(membership: Membership, *, by: Membership, actor: Actor) -> None:
    _check_owner_rule(by, Role(membership.role))
    with transaction.atomic():
        locked = Membership.objects.select_for_update().get(pk=membership.pk)
        if locked.role == Role.OWNER:
            _keep_an_owner(locked)
        locked.delete()
        _audit("member.remove", actor, membership.organization, {"user": membership.user_id})


def set_require_2fa(organization: Organization, required: bool, *, actor: Actor) -> None:
    Organization.objects.filter(pk=organization.pk).update(require_2fa=required)
    _audit("org.require_2fa", actor, organization, {"required": required})


def accept_invitation(user: Any, token: str) -> Membership:
    """Join the invitation's organization with its role. The invitation names an email address:
    only the person signed in with that address can use it, so a leaked code is useless."""
    now = timezone.now()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organization")
            .filter(token_digest=invitation_digest(token.strip()), accepted_at__isnull=True)
            .filter(expires_at__gt=now)
            .first()
        )
        if invitation is None or invitation.email.lower() != (user.email or "").lower():
            raise InvitationInvalid
        organization = invitation.organization
        if Membership.objects.filter(organization=organization, user=user).exists():
            raise InvitationInvalid
        membership = Membership.objects.create(
            organization=organization, user=user, role=invitation.role
        )
        invitation.accepted_at = now
        invitation.save(update_fields=["accepted_at"])
        _audit(
            "member.join",
            Actor.user(user),
            organization,
            {"user": user.pk, "role": invitation.role},
        )
    return membership


def pending_invitations(organization: Organization) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            organization=organization, accepted_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-created_at")
    )


def invitation_digest(token: str) -> str:
    # 192-bit random tokens: a plain SHA-256 is the right hash (ASVS 6.5.2).
    return hashlib.sha256(token.encode()).hexdigest()


def _check_owner_rule(by: Membership, *roles: Role) -> None:
    if Role.OWNER in roles and by.role != Role.OWNER:
        raise TeamChangeRefused("Only an owner can add, change or remove an owner.")


def _keep_an_owner(leaving: Membership) -> None:
    owners = Membership.objects.filter(organization_id=leaving.organization_id, role=Role.OWNER)
    if not owners.exclude(pk=leaving.pk).exists():
        raise TeamChangeRefused("An organization must keep at least one owner.")


def _audit(
    action: str, actor: Actor, organization: Organization, details: dict[str, object]
) -> None:
    record_event(
        action=action,
        actor_type=str(actor.type),
        actor=actor.name,
        target=f"org:{organization.pk}",
        details=details,
        organization_id=organization.pk,
    )
