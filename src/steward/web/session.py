"""Who is signed in to the web UI, and the CSRF token that every form posts back.

The session lives in a signed cookie (Starlette's ``SessionMiddleware``) holding ``user_id``,
``user_name`` and ``role`` (the keys ``steward.api.deps`` reads to let a browser GET the API)
and ``csrf``. Each page re-reads the user, so a disabled user or a changed role takes effect
on the next page, not when the cookie expires.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from steward.auth.models import Principal, principal_for
from steward.runtime import Runtime

CSRF_FIELD = "csrf_token"
HOME = "/experiments"


class LoginRequired(Exception):
    """Raised by ``require`` when nobody is signed in; answered with a redirect to sign in."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """An error to answer with an HTML page (403, 404, ...), never with problem+json."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: object) -> None:
    expected = request.session.get("csrf")
    if not (
        isinstance(expected, str)
        and expected
        and isinstance(submitted, str)
        and secrets.compare_digest(expected.encode(), submitted.encode())
    ):
        raise PageError(
            403,
            "Form expired",
            "The form's security token is missing or does not match your session. Reload the page and try again.",
        )


async def csrf_form(request: Request) -> FormData:
    """What every POST route reads first: the form, once its CSRF token has been checked."""
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD))
    return form


def sign_in(request: Request, principal: Principal) -> None:
    # A fresh session (and CSRF token) at sign-in: nothing from before carries over.
    request.session.clear()
    request.session.update(user_id=principal.user_id, user_name=principal.name, role=principal.role)
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


def current_principal(request: Request) -> Principal | None:
    """The signed-in user as stored now (None if signed out, unknown or disabled)."""
    session = request.session
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    principal: Principal | None = None
    with runtime_of(request).uow() as uow:
        row = uow.auth.user(user_id)
        if row is not None and not row.disabled and row.name == session.get("user_name"):
            principal = principal_for(row.id, row.name, row.role, row.kind)
    if principal is None:
        sign_out(request)
    elif session.get("role") != principal.role:
        session["role"] = principal.role
    return principal


def principal_of(request: Request) -> Principal | None:
    """The principal a page dependency already resolved for this request, if any."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site, never another origin.

    >>> safe_next("/runs/abc?x=1"), safe_next("//evil.example/"), safe_next("https://evil.example/")
    ('/runs/abc?x=1', '/experiments', '/experiments')
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return HOME
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else HOME


def require(request: Request, permission: str) -> Principal:
    """The signed-in principal, if it holds ``permission``; else a redirect to sign in or a 403."""
    principal = current_principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.principal = principal
    if not principal.can(permission):
        raise PageError(
            403,
            "Not allowed",
            f"Your role {principal.role!r} does not grant {permission!r}, which this page needs. "
            "Ask an administrator if you need access.",
        )
    return principal


PageEndpoint = Callable[[Request, Principal], Response]
PublicEndpoint = Callable[[Request], Response | Awaitable[Response]]


@dataclass(frozen=True)
class WebRoute:
    """A web UI route and the permission it needs (``None``: deliberately public).

    Every route of the web UI is declared this way, so a test can walk them all.
    """

    path: str
    endpoint: PageEndpoint | PublicEndpoint
    permission: str | None
    methods: tuple[str, ...] = ("GET",)

    def handler(self) -> PublicEndpoint:
        if self.permission is None:
            return cast(PublicEndpoint, self.endpoint)
        endpoint, permission = cast(PageEndpoint, self.endpoint), self.permission

        @functools.wraps(endpoint)
        def guarded(request: Request) -> Response:
            return endpoint(request, require(request, permission))

        return guarded
