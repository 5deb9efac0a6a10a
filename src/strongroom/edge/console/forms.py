"""The console's forms. Choice fields that name an object are limited to the user's organization,
so a foreign id is just an invalid choice."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet

from strongroom.cli.presets import PRESETS
from strongroom.edge.accounts.models import ALL_SCOPES, Project, Role
from strongroom.edge.jobs.services.tasks import MAX_PAYLOAD_CHARS

CUSTOM_QUERY = ""
LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
MAX_KEY_DAYS = 3650
MAX_GRACE_HOURS = 7 * 24


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=120, strip=True)


class NewJobForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label=None)
    source_url = forms.URLField(
        required=False, max_length=2000, assume_scheme="https", label="Source URL"
    )
    # Filled by console.js once a browser upload finished (tus).
    upload_task = forms.RegexField(
        regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput
    )
    upload_id = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput)
    preset = forms.ChoiceField(required=False)
    query = forms.CharField(
        required=False,
        max_length=settings.QENCODE_QUERY_MAX_BYTES,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        label="Qencode query (JSON)",
    )
    payload = forms.CharField(required=False, max_length=MAX_PAYLOAD_CHARS)

    def __init__(self, *args: Any, projects: QuerySet[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects  # type: ignore[attr-defined]
        self.fields["preset"].choices = [  # type: ignore[attr-defined]
            *((name, name) for name in sorted(PRESETS)),
            (CUSTOM_QUERY, "Custom query (JSON below)"),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        uploaded = bool(data.get("upload_id"))
        if uploaded != bool(data.get("upload_task")):
            raise forms.ValidationError("The browser upload is incomplete; upload the file again.")
        if uploaded and data.get("source_url"):
            raise forms.ValidationError("Give either an uploaded file or a source URL, not both.")
        if data.get("preset") and not (uploaded or data.get("source_url")):
            raise forms.ValidationError("Upload a file or give a source URL.")
        if not data.get("preset") and not data.get("query"):
            raise forms.ValidationError("Choose a preset or write a query.")
        return data


class ApiKeyForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label=None)
    name = forms.CharField(max_length=120, strip=True)
    scopes = forms.MultipleChoiceField(
        choices=[(str(s), str(s)) for s in ALL_SCOPES], widget=forms.CheckboxSelectMultiple
    )
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_KEY_DAYS, label="Expires in (days)"
    )

    def __init__(self, *args: Any, projects: QuerySet[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects  # type: ignore[attr-defined]


class RegenerateKeyForm(forms.Form):
    grace_hours = forms.IntegerField(
        min_value=0, max_value=MAX_GRACE_HOURS, initial=0, label="Old key keeps working for (hours)"
    )


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    code = forms.CharField(max_length=80, strip=True, label="Invitation code")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class RequireTwoFactorForm(forms.Form):
    required = forms.BooleanField(required=False, label="Require a second factor for every member")


class WebhookTestForm(forms.Form):
    url = forms.URLField(max_length=2000, assume_scheme="https", label="Receiver URL")


class JoinTokenForm(forms.Form):
    labels = forms.CharField(
        required=False, max_length=400, help_text="Comma-separated, e.g. gpu,eu-west"
    )

    def clean_labels(self) -> tuple[str, ...]:
        labels = [part.strip() for part in self.cleaned_data["labels"].split(",") if part.strip()]
        bad = [label for label in labels if not LABEL.match(label)]
        if bad:
            raise forms.ValidationError(
                "Labels are lowercase letters, digits, '.', '_' or '-' (at most 40)."
            )
        return tuple(sorted(set(labels)))
