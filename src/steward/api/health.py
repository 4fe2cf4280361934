"""Liveness and readiness probes (open to all: load balancers call them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from steward.api.deps import RuntimeDep, public

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[public()])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", dependencies=[public()])
def readyz(rt: RuntimeDep) -> JSONResponse:
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the probe's job is to report any failure, not to raise it
        return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
    return JSONResponse({"status": "ready"})
