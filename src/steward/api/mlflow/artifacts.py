"""MLflow's artifact proxy (``mlflow server --serve-artifacts``) over Steward's
content-addressed store: ``mlflow-artifacts:/1/<run_id>/artifacts/model.pkl`` is the path
``1/<run_id>/artifacts/model.pkl`` in the artifact index, the same path the native API uses
for that run's files, so both APIs see the same bytes (verified by sha256 on every read)."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from steward.api.deps import require
from steward.api.mlflow._wire import MlflowRoute, Msg, Rt, ok
from steward.artifacts import service as artifacts
from steward.auth.models import Principal
from steward.core.errors import NotFound
from steward.runtime import Runtime

router = APIRouter(route_class=MlflowRoute)
Read = Annotated[Principal, require("artifacts:read")]
Write = Annotated[Principal, require("artifacts:write")]


def _store(rt: Runtime, path: str, data: bytes) -> None:
    with rt.uow() as uow:
        artifacts.put_artifact(uow, rt.blobs, path, data)
        uow.commit()


@router.put("/artifacts/{artifact_path:path}")
async def upload(artifact_path: str, request: Request, rt: Rt, _: Write) -> Response:
    path = artifacts.clean_path(artifact_path)
    # The body arrives in chunks without blocking the event loop; the blob store takes whole
    # blobs (it hashes before it names), so the chunks are joined once.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
    await run_in_threadpool(_store, rt, path, bytes(body))
    return ok()


@router.get("/artifacts/{artifact_path:path}")
def download(artifact_path: str, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        data = artifacts.read_artifact(uow, rt.blobs, artifact_path)
    media = mimetypes.guess_type(artifact_path)[0] or "application/octet-stream"
    # Artifacts are user content: never let a browser run them as HTML from our origin.
    return Response(
        data,
        media_type=media,
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


@router.get("/artifacts")
def list_dir(msg: Msg, rt: Rt, _: Read) -> Response:
    folder = (msg.text("path") or "").strip("/")
    with rt.uow() as uow:
        entries = artifacts.list_dir(uow, artifacts.clean_path(folder) if folder else "")
    files = []
    for e in entries:
        item: dict[str, object] = {"path": e.path.rsplit("/", 1)[-1], "is_dir": e.is_dir}
        if e.size is not None:
            item["file_size"] = e.size
        files.append(item)
    return ok({"files": files})


@router.delete("/artifacts/{artifact_path:path}")
def delete(artifact_path: str, rt: Rt, _: Write) -> Response:
    path = artifacts.clean_path(artifact_path)
    with rt.uow() as uow:
        found = uow.artifacts.delete(path)
        for f in uow.artifacts.list_prefix(path + "/"):
            found = uow.artifacts.delete(f.path) or found
        if not found:
            raise NotFound("artifact", path)
        uow.commit()
    return ok()
