"""Media preview, isolated from the console.

The preview page shows an <iframe sandbox="allow-scripts"> (no allow-same-origin) whose document,
the player, is also served with CSP `sandbox allow-scripts`: even opened on its own, the player
runs in an opaque origin, so a hostile file that exploits the decoder or hls.js can't read the
console's cookies, storage or DOM, nor send requests as the user. The player is the only console
response that may be framed, and only by the console itself.
"""

from __future__ import annotations

from csp.constants import NONCE, NONE, SELF
from csp.decorators import csp_replace
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from strongroom.edge.accounts.permissions import Action
from strongroom.edge.console.access import console_view
from strongroom.edge.console.pages.jobs import output_url, previewable_output

PLAYER_CSP = {
    "sandbox": ["allow-scripts"],
    "default-src": [NONE],
    "script-src": [SELF, NONCE],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "media-src": [SELF, "blob:"],  # hls.js feeds the <video> through MediaSource blobs
    "connect-src": [SELF],  # hls.js fetches playlists and segments (media answers with CORS *)
    "frame-ancestors": [SELF],
    "base-uri": [NONE],
    "form-action": [NONE],
}


@require_GET
@console_view(Action.TASK_READ)
def preview_page(request: HttpRequest, task_id: int, index: int) -> HttpResponse:
    task, output, kind = previewable_output(request, task_id, index)
    return render(request, "console/preview.html", {"task": task, "output": output, "kind": kind})


@require_GET
@xframe_options_sameorigin
@csp_replace(PLAYER_CSP)
@console_view(Action.TASK_READ)
def player(request: HttpRequest, task_id: int, index: int) -> HttpResponse:
    _, output, kind = previewable_output(request, task_id, index)
    context = {"kind": kind, "src": output_url(request, output, output.main_file)}
    response = render(request, "console/player.html", context)
    response["Cache-Control"] = "no-store"  # the signed media URL is inside
    return response
