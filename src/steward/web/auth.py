"""Sign in and sign out. Both forms post a CSRF token; a post without the right one is a 403
and changes nothing."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from steward.auth import service as auth_service
from steward.auth.models import Principal
from steward.core.errors import Unauthenticated
from steward.web.session import (
    HOME,
    WebRoute,
    csrf_form,
    current_principal,
    runtime_of,
    safe_next,
    sign_in,
    sign_out,
)
from steward.web.templating import render


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def home(request: Request) -> Response:
    return RedirectResponse(HOME, status_code=303)


def login_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if current_principal(request) is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "login.html", {"next": target, "name": "", "error": None})


def _authenticate(request: Request, name: str, password: str) -> Principal:
    with runtime_of(request).uow() as uow:
        principal: Principal = auth_service.authenticate_password(uow, name, password)
    return principal


async def login(request: Request) -> Response:
    form = await csrf_form(request)
    name, password = _text(form, "name").strip(), _text(form, "password")
    target = safe_next(_text(form, "next"))
    try:
        # Password hashing is deliberately slow: keep it off the event loop.
        principal = await run_in_threadpool(_authenticate, request, name, password)
    except Unauthenticated as exc:
        context = {"next": target, "name": name, "error": exc.message}
        return render(request, "login.html", context, status=400)
    sign_in(request, principal)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    await csrf_form(request)
    sign_out(request)
    return RedirectResponse("/login", status_code=303)


ROUTES = [
    WebRoute("/", home, None),
    WebRoute("/login", login_page, None),
    WebRoute("/login", login, None, ("POST",)),
    WebRoute("/logout", logout, None, ("POST",)),
]
