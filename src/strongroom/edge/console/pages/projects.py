"""Projects of the organization: list, create (owners and admins), delete (owners, after a
fresh password check; the project's media is crypto-shredded first)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from strongroom.edge.accounts.permissions import Action, Credential, allows
from strongroom.edge.accounts.projects import ProjectNameTaken, create_project
from strongroom.edge.console import scoping
from strongroom.edge.console.access import console_view
from strongroom.edge.console.forms import ProjectForm
from strongroom.edge.jobs.services.shredding import delete_project


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


@require_POST
@console_view(Action.PROJECT_DELETE)
def project_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    project = scoping.project(request, project_id)
    if request.POST.get("confirm", "") != project.name:
        messages.error(request, "Type the project's name to confirm deleting it.")
        return HttpResponseRedirect(reverse("console:projects"))
    result = delete_project(project, actor=f"user:{request.user.pk}", actor_type="user")
    messages.success(
        request, f"Project {project.name} deleted; {result.objects} stored object(s) shredded."
    )
    return HttpResponseRedirect(reverse("console:projects"))


def _page(request: HttpRequest, form: ProjectForm, status: int = 200) -> HttpResponse:
    role = scoping.membership(request).role
    context = {
        "projects": scoping.projects(request),
        "form": form,
        "can_delete": allows(Action.PROJECT_DELETE, Credential.SESSION, role=role),
    }
    return render(request, "console/projects.html", context, status=status)
