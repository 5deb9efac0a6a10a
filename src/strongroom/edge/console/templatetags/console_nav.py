"""`{% console_nav %}`: the navigation a person's role allows, and their organizations.

Links a role can't use are not shown; the views refuse them anyway (the table is the rule, the
menu only follows it).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from strongroom.edge.accounts.models import Membership
from strongroom.edge.accounts.permissions import Action, Credential, allows
from strongroom.edge.console.access import current_membership

register = template.Library()

# (URL name, label, action the page needs)
PAGES = (
    ("console:dashboard", "Dashboard", Action.ACCOUNT_SELF),
    ("console:job_new", "New job", Action.TASK_CREATE),
    ("console:projects", "Projects", Action.TASK_READ),
    ("console:keys", "API keys", Action.APIKEY_READ),
    ("console:webhooks", "Webhooks", Action.WEBHOOK_MANAGE),
    ("console:team", "Team", Action.MEMBER_READ),
    ("console:logs", "Request log", Action.AUDIT_READ),
    ("console:audit", "Audit log", Action.AUDIT_READ),
    ("console:workers", "Workers", Action.WORKER_ENROLL),
)


@register.inclusion_tag("console/partials/nav.html", takes_context=True)
def console_nav(context: dict[str, Any]) -> dict[str, Any]:
    request: HttpRequest = context["request"]
    membership = current_membership(request)
    role = membership.role if membership else None
    pages = [
        (name, label)
        for name, label, action in PAGES
        if action is Action.ACCOUNT_SELF or allows(action, Credential.SESSION, role=role)
    ]
    if not request.user.is_staff:
        pages = [page for page in pages if page[0] != "console:workers"]
    user: Any = request.user  # the tag renders only for a signed-in user (see base.html)
    organizations = Membership.objects.filter(user=user).select_related("organization")
    return {
        "request": request,
        "pages": pages,
        "current": membership,
        "memberships": list(organizations.order_by("organization__name")),
        "csrf_token": context.get("csrf_token"),
    }
