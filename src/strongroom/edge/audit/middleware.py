"""Names the signed-in console user as the request's actor in the request log."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from strongroom.edge.audit.models import ActorKind
from strongroom.edge.audit.requestlog import set_actor

Handler = Callable[[HttpRequest], HttpResponse]


class RequestActorMiddleware:
    """After the view: a request that carried (or just gained) a signed-in user acted as them.

    API keys and workers are named by their own authentication (set_actor there); this covers
    session users without each console view having to remember to.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            set_actor(ActorKind.USER, user.pk, unless_known=True)
        return response
