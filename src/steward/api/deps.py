"""Request-scoped dependencies: who is calling (and may they?), and the runtime.

Every route declares its permission with ``require("area:action")`` or ``public()``; a test
walks all routes and fails on one that declares neither.

A successful check of an ``Authorization`` header (a token or basic credentials) is remembered
for :data:`CREDENTIALS_TTL` seconds, keyed by a sha256 of the header (the secret itself is not
kept): an SDK logging a run, or an MLflow client calling ``log_metric`` in a training loop (one
request each, MLflow routes use the same ``require``), sends the same header on every request, and a lookup costs a
database round trip and a thread hop (a password check, a scrypt hash). A disabled user or a
changed role takes effect within that time. Failures and browser sessions are never remembered;
the role's permissions are checked on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from steward.auth import service as auth_service
from steward.auth.models import Principal
from steward.core.errors import Forbidden, Unauthenticated
from steward.runtime import Runtime

CREDENTIALS_TTL = 2.0
_MAX_REMEMBERED = 4096


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _runtime(request: Request) -> Runtime:
    # async so that FastAPI resolves it on the event loop, not with a hop to a worker thread
    return get_runtime(request)


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


def _remembered(request: Request) -> dict[bytes, tuple[Principal, float]]:
    cache: dict[bytes, tuple[Principal, float]] | None = getattr(request.app.state, "credentials", None)
    if cache is None:
        cache = request.app.state.credentials = {}
    return cache


async def _remembered_credentials(request: Request) -> Principal | None:
    header = request.headers.get("authorization")
    if not header:
        return await run_in_threadpool(_credentials, request, get_runtime(request))
    key = hashlib.sha256(header.encode()).digest()
    cache = _remembered(request)
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    principal = await run_in_threadpool(_credentials, request, get_runtime(request))
    if principal is not None:
        if len(cache) >= _MAX_REMEMBERED:
            cache.clear()
        cache[key] = (principal, now + CREDENTIALS_TTL)
    return principal


class Permission:
    """Dependency that authenticates the caller and checks one permission."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> Principal:
        return self.check(_credentials(request, get_runtime(request)))

    def check(self, principal: Principal | None) -> Principal:
        if principal is None:
            raise Unauthenticated("Authentication required: send 'Authorization: Bearer <token>'.")
        if not principal.can(self.permission):
            raise Forbidden(
                f"Role {principal.role!r} of {principal.name!r} lacks permission {self.permission!r}.",
                permission=self.permission,
            )
        return principal


class RememberingPermission(Permission):
    """``Permission`` resolved on the event loop, with credentials remembered (module docstring)."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return self.check(await _remembered_credentials(request))


class PublicAccess:
    """Marks a route as deliberately open (health checks, login)."""

    permission = None

    def __call__(self) -> None:
        return None


def require(permission: str) -> Any:
    return Depends(RememberingPermission(permission))


def public() -> Any:
    return Depends(PublicAccess())


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
