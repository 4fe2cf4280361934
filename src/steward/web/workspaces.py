"""Pages of the workspaces not built yet: each says honestly that it is empty."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from steward.auth.models import Principal
from steward.web import deployments, monitoring
from steward.web.nav import WORKSPACES, Workspace
from steward.web.session import PageEndpoint, WebRoute
from steward.web.templating import render


def _page(workspace: Workspace) -> PageEndpoint:
    def endpoint(request: Request, _: Principal) -> Response:
        return render(request, "workspace.html", {"workspace": workspace, "active": workspace.slug})

    endpoint.__name__ = f"{workspace.slug}_page"
    return endpoint


ROUTES = [
    *(
        WebRoute(f"/{w.slug}", _page(w), w.permission)
        for w in WORKSPACES
        if w.slug not in ("experiments", "deployments", "models", "monitoring")
    ),
    *monitoring.ROUTES,
    *deployments.ROUTES,
]
