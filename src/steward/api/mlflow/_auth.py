"""Permission checks for MLflow routes, with credentials remembered for a moment.

MLflow clients send one request per ``log_metric``: a training loop makes hundreds a second,
each with the same ``Authorization`` header. Checking a token costs a database round trip and
a thread hop; checking a password (HTTP basic, MLFLOW_TRACKING_USERNAME/PASSWORD) costs a
scrypt hash, ~50 ms of CPU by design. So a successful check is remembered for
:data:`TTL_SECONDS`, keyed by a sha256 of the header (the secret itself is not kept): a revoked
token, a disabled user or a changed role takes effect within that time on these routes (at
once everywhere else). Failures are never remembered. The roles' permissions are checked on
every request, as on the native API.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from steward.api.deps import Permission, _credentials, get_runtime
from steward.auth.models import Principal
from steward.core.errors import Forbidden, Unauthenticated

TTL_SECONDS = 2.0
MAX_ENTRIES = 4096


def _cache(app: FastAPI) -> dict[bytes, tuple[Principal, float]]:
    cache: dict[bytes, tuple[Principal, float]] | None = getattr(app.state, "mlflow_credentials", None)
    if cache is None:
        cache = {}
        app.state.mlflow_credentials = cache
    return cache


class CachedPermission(Permission):
    """``require(permission)`` for MLflow routes (see the module docstring)."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        header = request.headers.get("authorization")
        principal: Principal | None = None
        key = hashlib.sha256(header.encode()).digest() if header else None
        cache = _cache(request.app)
        now = time.monotonic()
        if key is not None:
            hit = cache.get(key)
            if hit is not None and hit[1] > now:
                principal = hit[0]
        if principal is None:
            principal = await run_in_threadpool(_credentials, request, get_runtime(request))
            if principal is None:
                raise Unauthenticated("Authentication required: send 'Authorization: Bearer <token>'.")
            if key is not None:
                if len(cache) >= MAX_ENTRIES:
                    cache.clear()
                cache[key] = (principal, now + TTL_SECONDS)
        if not principal.can(self.permission):
            raise Forbidden(
                f"Role {principal.role!r} of {principal.name!r} lacks permission {self.permission!r}.",
                permission=self.permission,
            )
        return principal


def require(permission: str) -> Any:
    return Depends(CachedPermission(permission))
