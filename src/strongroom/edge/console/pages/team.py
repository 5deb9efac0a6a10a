"""Team: members and roles, invitations, role changes, removal; the owner's 2FA requirement."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from strongroom.edge.accounts import team as team_service
from strongroom.edge.accounts.models import Membership, Role
from strongroom.edge.accounts.permissions import Action, Credential, allows
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view, switch_organization
from strongroom.edge.console.forms import (
    AcceptInvitationForm,
    InviteForm,
    RequireTwoFactorForm,
    RoleForm,
)


@require_GET
@console_view(Action.MEMBER_READ)
def team(request: HttpRequest) -> HttpResponse:
    return _page(request, InviteForm())


@require_POST
@console_view(Action.MEMBER_MANAGE)
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        token = team_service.invite_member(
            scoping.organization(request),
            email=form.cleaned_data["email"],
            role=Role(form.cleaned_data["role"]),
            by=scoping.membership(request),
            actor=scoping.actor(request),
        )
    except team_service.TeamChangeRefused as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("console:team"))
    # Shown once, rendered (never redirected): the link is the invitation's only copy.
    response = _page(request, InviteForm(), invitation_token=token)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@console_view(Action.MEMBER_MANAGE)
def change_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = scoping.member(request, membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        _apply(
            request,
            lambda by: team_service.change_role(
                member, Role(form.cleaned_data["role"]), by=by, actor=scoping.actor(request)
            ),
        )
    return HttpResponseRedirect(reverse("console:team"))


@require_POST
@console_view(Action.MEMBER_MANAGE)
def remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = scoping.member(request, membership_id)
    _apply(
        request,
        lambda by: team_service.remove_member(member, by=by, actor=scoping.actor(request)),
    )
    return HttpResponseRedirect(reverse("console:team"))


@require_POST
@console_view(Action.ORG_SECURITY)
def security(request: HttpRequest) -> HttpResponse:
    form = RequireTwoFactorForm(request.POST)
    if form.is_valid():
        required = form.cleaned_data["required"]
        team_service.set_require_2fa(
            scoping.organization(request), required, actor=scoping.actor(request)
        )
        messages.success(
            request, "Saved: a second factor is " + ("required." if required else "optional.")
        )
    return HttpResponseRedirect(reverse("console:team"))


@require_http_methods(["GET", "POST"])
@console_view(Action.ACCOUNT_SELF)  # personal: the person joining has no membership there yet
def accept_invitation(request: HttpRequest) -> HttpResponse:
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            joined = team_service.accept_invitation(request.user, form.cleaned_data["code"])
        except team_service.InvitationInvalid:
            form.add_error("code", "This code is unknown, used, expired or for another address.")
        else:
            switch_organization(request, joined.organization_id)
            messages.success(request, f"You joined {joined.organization.name}.")
            return HttpResponseRedirect(reverse("console:dashboard"))
    status = 400 if form.errors else 200
    return render(request, "console/invitation_accept.html", {"form": form}, status=status)


def _apply(request: HttpRequest, change: Callable[[Membership], None]) -> None:
    try:
        change(scoping.membership(request))
        messages.success(request, "Saved.")
    except team_service.TeamChangeRefused as exc:
        messages.error(request, str(exc))


def _page(
    request: HttpRequest, form: InviteForm, status: int = 200, invitation_token: str = ""
) -> HttpResponse:
    me = scoping.membership(request)
    organization = me.organization
    organization.refresh_from_db(fields=["require_2fa"])
    members = Membership.objects.filter(organization=organization).select_related("user")
    context = {
        "members": members.order_by("user__email"),
        "invitations": team_service.pending_invitations(organization),
        "form": form,
        "role_form": RoleForm(),
        "may_manage": allows(Action.MEMBER_MANAGE, Credential.SESSION, role=me.role),
        "is_owner": me.role == Role.OWNER,
        "security_form": RequireTwoFactorForm(initial={"required": organization.require_2fa}),
        "organization": organization,
        "invitation_token": invitation_token,
    }
    return render(request, "console/team.html", context, status=status)
