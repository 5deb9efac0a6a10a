"""Operators' admin views of accounts. Secrets (key digests, webhook secrets, session keys,
passkey public keys) are never shown; key and session rows are read-only here — keys are
created and regenerated in the console or CLI, where they are shown once and audited."""

from __future__ import annotations

from django.contrib import admin

from strongroom.edge.accounts.models import (
    ApiKey,
    Invitation,
    Membership,
    Organization,
    Passkey,
    Project,
    UserSession,
)
from strongroom.edge.admin_views import NoEditAdmin


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "require_2fa", "created_at")
    search_fields = ("name",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "organization", "role")
    list_filter = ("role",)
    search_fields = ("user__username", "organization__name")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "organization", "created_at")
    search_fields = ("name", "organization__name")
    exclude = ("webhook_secret",)


@admin.register(ApiKey)
class ApiKeyAdmin(NoEditAdmin):
    list_display = (
        "public_id",
        "name",
        "project",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("public_id", "name", "project__name")
    exclude = ("digest",)


@admin.register(Invitation)
class InvitationAdmin(NoEditAdmin):
    list_display = ("email", "organization", "role", "created_at", "expires_at", "accepted_at")
    exclude = ("token_digest",)


@admin.register(UserSession)
class UserSessionAdmin(NoEditAdmin):
    """Listing and ending (deleting) sessions; the key and data are never shown."""

    list_display = ("user", "ip_address", "user_agent", "created_at", "last_seen", "expire_date")
    search_fields = ("user__username", "ip_address")
    fields = ("user", "ip_address", "user_agent", "created_at", "last_seen", "expire_date")


@admin.register(Passkey)
class PasskeyAdmin(NoEditAdmin):
    list_display = ("user", "name", "created_at", "last_used_at")
    fields = ("user", "name", "created_at", "last_used_at", "sign_count")
