"""Steward's errors rendered as MLflow's: ``{"error_code": ..., "message": ...}`` with the
HTTP status MLflow's server pairs with that code (``mlflow.exceptions.ERROR_CODE_TO_HTTP_STATUS``).

The one table below is the whole mapping; the MLflow client reacts to the codes, not the
statuses (``set_experiment`` creates the experiment on ``RESOURCE_DOES_NOT_EXIST``,
``register_model`` carries on after ``RESOURCE_ALREADY_EXISTS``).
"""

from __future__ import annotations

import logging

import orjson
from fastapi import Response

from steward.core import errors

log = logging.getLogger("steward.api.mlflow")

# (error type, kind or None) -> (MLflow error code, HTTP status). The most specific row wins.
ERROR_CODES: dict[tuple[type[errors.StewardError], str | None], tuple[str, int]] = {
    (errors.InvalidArgument, None): ("INVALID_PARAMETER_VALUE", 400),
    (errors.NotFound, None): ("RESOURCE_DOES_NOT_EXIST", 404),
    # MLflow answers a missing alias with INVALID_PARAMETER_VALUE, not RESOURCE_DOES_NOT_EXIST
    # (SqlAlchemyStore.get_model_version_by_alias). Odd, but clients may test for it.
    (errors.NotFound, "alias"): ("INVALID_PARAMETER_VALUE", 400),
    # MLflow pairs RESOURCE_ALREADY_EXISTS with 400, not 409.
    (errors.AlreadyExists, None): ("RESOURCE_ALREADY_EXISTS", 400),
    # Re-logging a param with another value: MLflow says INVALID_PARAMETER_VALUE.
    (errors.Conflict, None): ("INVALID_PARAMETER_VALUE", 400),
    (errors.Unauthenticated, None): ("UNAUTHENTICATED", 401),
    (errors.Forbidden, None): ("PERMISSION_DENIED", 403),
    (errors.IntegrityError, None): ("DATA_LOSS", 500),
    (errors.UserCodeError, None): ("BAD_REQUEST", 400),
}

_HEADERS_401 = {"WWW-Authenticate": 'Bearer, Basic realm="steward"'}


def code_for(exc: errors.StewardError) -> tuple[str, int]:
    kind = getattr(exc, "kind", None)
    for cls in type(exc).__mro__:
        if (cls, kind) in ERROR_CODES:
            return ERROR_CODES[(cls, kind)]
        if (cls, None) in ERROR_CODES:
            return ERROR_CODES[(cls, None)]
    return "INTERNAL_ERROR", 500


def error_response(code: str, message: str, status: int) -> Response:
    return Response(
        orjson.dumps({"error_code": code, "message": message}),
        status_code=status,
        media_type="application/json",
        headers=_HEADERS_401 if status == 401 else None,
    )


def render(exc: errors.StewardError) -> Response:
    code, status = code_for(exc)
    return error_response(code, exc.message, status)


def internal(exc: BaseException) -> Response:
    # A bug, not the caller's mistake: log it, say little.
    log.error("unhandled error in the MLflow API", exc_info=exc)
    return error_response("INTERNAL_ERROR", "Internal error; the request id is in the server logs.", 500)
