"""Base classes for the operators' admin pages that must not change data (the domain apps'
admin.py use them): rows are changed through the services, which audit and keep invariants."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class NoEditAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Listed and viewed (and deleted where the model permission allows), never added or edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:  # noqa: ARG002
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # noqa: ARG002
        return False


class ViewOnlyAdmin(NoEditAdmin):
    """Listed and viewed only, even by superusers."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:  # noqa: ARG002
        return False
