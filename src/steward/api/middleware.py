"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request on the hot path).

Every response carries ``X-Request-ID`` (the caller's, if it sent a sane one) and every request
is logged once as JSON with method, path, status and duration.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from steward.core.logging import request_id_var

log = logging.getLogger("steward.access")
_SANE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SANE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "ctx_method": scope.get("method"),
                        "ctx_path": scope.get("path"),
                        "ctx_status": status,
                        "ctx_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)
