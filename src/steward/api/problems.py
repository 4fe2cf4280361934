"""Map Steward's errors to HTTP in one table and render RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from steward.core import errors
from steward.core.logging import request_id_var

log = logging.getLogger("steward.api")

STATUS: dict[type[errors.StewardError], int] = {
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.Conflict: 409,
    errors.IntegrityError: 500,
    errors.UserCodeError: 422,
}

PROBLEM = "application/problem+json"


def status_for(exc: errors.StewardError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://steward.dev/problems/{title}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **{k: v for k, v in extra.items() if v is not None},
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.StewardError)
    async def _steward(request: Request, exc: errors.StewardError) -> JSONResponse:
        fields = {k: v for k, v in exc.fields.items() if isinstance(v, str | int | float | bool) or v is None}
        return problem(status_for(exc), exc.code, exc.message, request.url.path, **fields)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errs)
        return problem(422, "validation_error", detail or "The request is malformed.", request.url.path, errors=errs)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a user's mistake: log it with the request id, say little to the caller.
        log.error("unhandled error", exc_info=exc)
        return problem(
            500,
            "internal_error",
            "Internal error; the request id is in the logs.",
            request.url.path,
            request_id=request_id_var.get(),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "http_error", str(exc.detail), request.url.path)
