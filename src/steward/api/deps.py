"""Request-scoped dependencies: who is calling (and may they?), and the runtime.

Every route declares its permission with ``require("area:action")`` or ``public()``; a test
walks all routes and fails on one that declares neither.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import Depends, Request

from steward.auth import service as auth_service
from steward.auth.models import Principal
from steward.core.errors import Forbidden, Unauthenticated
from steward.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _credentials(request: Request, runtime: Runtime) -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        with runtime.uow() as uow:
            return auth_service.authenticate_token(uow, value.strip())
    if scheme.lower() == "basic" and value:
        try:
            name, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("The Basic credentials are not valid base64 of 'name:password'.") from None
        with runtime.uow() as uow:
            return auth_service.authenticate_password(uow, name, password)
    # A browser session counts only for reads: a cookie alone must never authorise a write
    # (CSRF). Web forms carry their own CSRF token and call services directly.
    session = request.scope.get("session")
    if session and session.get("user_id") and request.method in ("GET", "HEAD"):
        with runtime.uow() as uow:
            return auth_service.session_principal(uow, int(session["user_id"]))
    return None


class Permission:
    """Dependency that authenticates the caller and checks one permission."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> Principal:
        principal = _credentials(request, get_runtime(request))
        if principal is None:
            raise Unauthenticated("Authentication required: send 'Authorization: Bearer <token>'.")
        if not principal.can(self.permission):
            raise Forbidden(
                f"Role {principal.role!r} of {principal.name!r} lacks permission {self.permission!r}.",
                permission=self.permission,
            )
        return principal


class PublicAccess:
    """Marks a route as deliberately open (health checks, login)."""

    permission = None

    def __call__(self) -> None:
        return None


def require(permission: str) -> Any:
    return Depends(Permission(permission))


def public() -> Any:
    return Depends(PublicAccess())


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
