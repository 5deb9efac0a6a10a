"""Sign-up from an invitation (the console has no open sign-up)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from strongroom.edge.accounts.signup import (
    AccountExists,
    InvitationInvalid,
    sign_up_with_invitation,
)
from strongroom.edge.console.access import switch_organization
from strongroom.edge.console.auth_views import complete_sign_in


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254)
    code = forms.CharField(max_length=100, label="Invitation code")
    password = forms.CharField(max_length=1024, widget=forms.PasswordInput)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None, initial={"code": request.GET.get("code", "")[:100]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = sign_up_with_invitation(data["email"], data["password"], data["code"])
        except AccountExists:
            form.add_error("email", "This address has an account: sign in and accept there.")
        except InvitationInvalid:
            form.add_error("code", "This code is unknown, used, expired or for another address.")
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            complete_sign_in(request, user, device=None)
            membership = user.memberships.first()
            if membership is not None:
                switch_organization(request, membership.organization_id)
            return HttpResponseRedirect(reverse("console:dashboard"))
    status = 400 if form.errors else 200
    return render(request, "console/auth/signup.html", {"form": form}, status=status)
