"""Projects of the organization: list and create (owners and admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from strongroom.edge.accounts.permissions import Action
from strongroom.edge.accounts.projects import ProjectNameTaken, create_project
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view
from strongroom.edge.console.forms import ProjectForm


@require_GET
@console_view(Action.TASK_READ)
def project_list(request: HttpRequest) -> HttpResponse:
    return _page(request, ProjectForm())


@require_POST
@console_view(Action.PROJECT_CREATE)
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST)
    if form.is_valid():
        name = form.cleaned_data["name"]
        try:
            create_project(scoping.organization(request), name, actor=scoping.actor(request))
        except ProjectNameTaken:
            form.add_error("name", "A project with that name already exists.")
        else:
            messages.success(request, f"Project {name} created.")
            return HttpResponseRedirect(reverse("console:projects"))
    return _page(request, form, status=400)


def _page(request: HttpRequest, form: ProjectForm, status: int = 200) -> HttpResponse:
    context = {"projects": scoping.projects(request), "form": form}
    return render(request, "console/projects.html", context, status=status)
