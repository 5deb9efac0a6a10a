"""Organizations, projects, members and the credentials that act for a project."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django_otp.models import Device

from strongroom.edge.encrypted_fields import EncryptedFieldsModel, EncryptedTextField


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"
    BILLING = "billing"


class Scope(models.TextChoices):
    """What an API key may do. A key holds a subset; the permission table checks it."""

    TASKS_WRITE = "tasks:write"
    TASKS_READ = "tasks:read"
    UPLOADS = "uploads"


ALL_SCOPES = tuple(Scope)


def default_scopes() -> list[str]:
    """Every scope: what a Qencode client expects a plain key to be able to do."""
    return [str(scope) for scope in ALL_SCOPES]


class Organization(models.Model):
    name = models.CharField(max_length=120, unique=True)
    # Owners may make a second factor compulsory for every member (staff always need one).
    require_2fa = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_role_per_org")
        ]


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Project(EncryptedFieldsModel):
    ENCRYPTION_ROW_FIELD = "uid"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=120)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Signs the project's callbacks (webhook-signature); only ciphertext reaches the database.
    webhook_secret = EncryptedTextField(default=new_webhook_secret)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="project_name_per_org")
        ]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A project's API key. Only a peppered HMAC of the secret is stored; it is shown once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    public_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    name = models.CharField(max_length=120, blank=True)
    scopes = models.JSONField(default=default_scopes)  # list of Scope values
    # The person the key acts for: a deactivated creator stops their keys at once.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_keys",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Set on the old key when it is regenerated; it keeps working until its grace ends.
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )


class AccessToken(models.Model):
    """Qencode's session token (`/v1/access_token`): dies with its API key or at `expires_at`."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="access_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)


class Invitation(models.Model):
    """An invitation to join an organization with a role; only a digest of its token is kept."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)


class UserSession(AbstractBaseSession):
    """A console session that knows its user, so sessions can be listed and ended remotely
    (Django's own session table cannot say whose a row is)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="console_sessions",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # Set by the store from the session's own sign-in time: the store rewrites whole rows.
    created_at = models.DateTimeField()
    last_seen = models.DateTimeField(null=True, blank=True)

    @classmethod
    def get_session_store_class(cls) -> type:
        from strongroom.edge.accounts.sessions import SessionStore  # noqa: PLC0415  (circular: the store imports this model)

        return SessionStore


class Passkey(Device):
    """A WebAuthn credential (py_webauthn verifies it). As a django-otp device it marks the
    session verified like TOTP does; it never accepts a typed token."""

    credential_id = models.CharField(max_length=1400, unique=True)  # base64url, from the browser
    public_key = models.BinaryField()  # COSE key
    sign_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def verify_token(self, token: object) -> bool:  # noqa: ARG002
        return False
