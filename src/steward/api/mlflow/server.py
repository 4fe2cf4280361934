"""Routes outside MLflow's protobuf services: the capability probe the client calls before
downloading artifacts, version, health, and MLflow-shaped 404s for routes Steward lacks."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from steward._version import __version__
from steward.api.deps import public
from steward.api.mlflow._wire import MlflowRoute, ok
from steward.api.mlflow.errors import error_response

router = APIRouter(route_class=MlflowRoute)

# Open to all as in MLflow: clients read it before they authenticate. No secrets here.
SERVER_INFO = {
    "store_type": "SqlStore",
    "workspaces_enabled": False,
    "trace_archival_enabled": False,
    "multipart_uploads_enabled": False,
    "multipart_downloads_enabled": False,
    "presigned_upload_run_id_supported": False,
    "presigned_upload_model_id_supported": False,
    "features_enabled": {"gateway": False},
}


@router.get("/api/3.0/mlflow/server-info", dependencies=[public()])
@router.get("/ajax-api/3.0/mlflow/server-info", dependencies=[public()], include_in_schema=False)
@router.get("/api/3.0/mlflow/server-features", dependencies=[public()])
async def server_info() -> Response:
    return ok(SERVER_INFO)


@router.get("/version", dependencies=[public()])
async def version() -> PlainTextResponse:
    # Steward's own version: MLflow clients read it only to decide whether to send traces
    # (>= 3.4), which Steward does not take.
    return PlainTextResponse(__version__)


@router.get("/health", dependencies=[public()])
async def health() -> PlainTextResponse:
    return PlainTextResponse("OK")


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route(
    "/api/{api_version}/mlflow/{rest:path}",
    methods=_METHODS,
    dependencies=[public()],
    include_in_schema=False,
)
@router.api_route(
    "/ajax-api/{api_version}/mlflow/{rest:path}",
    methods=_METHODS,
    dependencies=[public()],
    include_in_schema=False,
)
async def not_found(request: Request) -> Response:
    # The registry client falls through to a route's next endpoint on ENDPOINT_NOT_FOUND.
    return error_response("ENDPOINT_NOT_FOUND", f"No MLflow route {request.method} {request.url.path} here.", 404)
