"""The REST API application factory."""

from __future__ import annotations

from fastapi import FastAPI

from steward._version import __version__
from steward.api import (
    auth,
    deployments,
    docs,
    health,
    mlflow,
    monitoring,
    problems,
    registered_models,
    registry,
    tracking,
)
from steward.api.middleware import RequestIdMiddleware
from steward.runtime import Runtime


def create_api(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Steward",
        version=__version__,
        description="Steward keeps an organisation's ML estate trustworthy.",
        openapi_url="/openapi.json",
        docs_url=None,  # /docs: steward.api.docs, its assets served locally (air-gapped users)
        redoc_url=None,
    )
    app.state.runtime = runtime
    problems.install(app)
    for module in (health, docs, auth, tracking, registry, registered_models, deployments, mlflow, monitoring):
        app.include_router(module.router)
    app.add_middleware(RequestIdMiddleware)
    return app
