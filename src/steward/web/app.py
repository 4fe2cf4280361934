"""Mount the web UI on the API app: session cookie, HTML error pages, static assets, pages.

The pages are plain Starlette routes next to the API's FastAPI routes: they are not part of
the API (nor of its OpenAPI document). Each is declared as a ``WebRoute`` with the permission
it needs, and ``ROUTES`` lists them all.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from steward.runtime import Runtime
from steward.web import assets, auth, evaluation, models, tracking, workspaces
from steward.web.session import LoginRequired, PageError, WebRoute
from steward.web.templating import render

SESSION_COOKIE = "steward_session"
SESSION_HOURS = 12

ROUTES: list[WebRoute] = [
    WebRoute("/static/{name:path}", assets.respond, None),
    *auth.ROUTES,
    *tracking.ROUTES,
    *evaluation.ROUTES,
    *models.ROUTES,
    *workspaces.ROUTES,
]


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='')}", status_code=303)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return render(request, "error.html", {"error": exc}, status=exc.status)


def mount_web(app: FastAPI, runtime: Runtime) -> None:
    """Add the web UI to ``app``: its routes, its error pages and the session middleware.

    The session cookie is signed with the runtime's secret key; it is HttpOnly, SameSite=Lax,
    and Secure when ``settings.secure_cookies`` is set (serve over HTTPS then).
    """
    app.add_middleware(
        SessionMiddleware,
        secret_key=runtime.settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=runtime.settings.secure_cookies,
    )
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
    for route in ROUTES:
        app.add_route(route.path, route.handler(), methods=list(route.methods), include_in_schema=False)
