"""/api/v1 routes for experiments, runs, params, metrics, tags, inputs and artifacts."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from steward.api.deps import RuntimeDep, require
from steward.auth.models import Principal
from steward.core.clock import now_ms
from steward.core.errors import InvalidArgument
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service
from steward.tracking.models import Lifecycle, MetricBatch
from steward.tracking.schemas import (
    BatchIn,
    ExperimentIn,
    ExperimentOut,
    ExperimentPage,
    ExperimentPatch,
    InputsIn,
    LoggedCount,
    MetricOut,
    MetricPage,
    MetricsIn,
    ParamsIn,
    RunIn,
    RunOut,
    RunPage,
    RunPatch,
    TagsIn,
)


class _FastJsonRequest(Request):
    """A request whose JSON body is parsed by orjson: a metric batch carries up to a million
    numbers, and the standard library's parser was a fifth of the server's time on it."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = orjson.loads(body)
            except orjson.JSONDecodeError:
                # The standard parser also takes what orjson refuses (NaN and Infinity literals,
                # lone surrogates); a body neither accepts fails as before, with its position.
                self._json = json.loads(body)
        return self._json


class _TrackingRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(_FastJsonRequest(request.scope, request.receive))

        return route


router = APIRouter(prefix="/api/v1", tags=["tracking"], route_class=_TrackingRoute)
Read = Annotated[Principal, require("runs:read")]
Write = Annotated[Principal, require("runs:write")]
ExpRead = Annotated[Principal, require("experiments:read")]
ExpWrite = Annotated[Principal, require("experiments:write")]


@router.get("/experiments", response_model=ExperimentPage)
def list_experiments(
    rt: RuntimeDep, _: ExpRead, view: str = "active", max_results: int = 1000, page_token: str | None = None
) -> ExperimentPage:
    with rt.uow() as uow:
        page = service.list_experiments(uow, view=view, max_results=max_results, page_token=page_token)
    return ExperimentPage(items=[ExperimentOut.of(e) for e in page.items], next_page_token=page.next_page_token)


@router.post("/experiments", response_model=ExperimentOut, status_code=201)
def create_experiment(body: ExperimentIn, rt: RuntimeDep, _: ExpWrite) -> ExperimentOut:
    with rt.uow() as uow:
        exp = service.create_experiment(uow, body.name, artifact_location=body.artifact_location, tags=body.tags)
        uow.commit()
    return ExperimentOut.of(exp)


@router.get("/experiments/by-name/{name}", response_model=ExperimentOut)
def get_experiment_by_name(name: str, rt: RuntimeDep, _: ExpRead) -> ExperimentOut:
    with rt.uow() as uow:
        return ExperimentOut.of(service.get_experiment_by_name(uow, name))


@router.get("/experiments/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: str, rt: RuntimeDep, _: ExpRead) -> ExperimentOut:
    with rt.uow() as uow:
        return ExperimentOut.of(service.get_experiment(uow, experiment_id))


@router.patch("/experiments/{experiment_id}", response_model=ExperimentOut)
def rename_experiment(experiment_id: str, body: ExperimentPatch, rt: RuntimeDep, _: ExpWrite) -> ExperimentOut:
    with rt.uow() as uow:
        exp = service.rename_experiment(uow, experiment_id, body.name)
        uow.commit()
    return ExperimentOut.of(exp)


@router.delete("/experiments/{experiment_id}", status_code=204)
def delete_experiment(experiment_id: str, rt: RuntimeDep, _: ExpWrite) -> Response:
    with rt.uow() as uow:
        service.set_experiment_lifecycle(uow, experiment_id, Lifecycle.DELETED)
        uow.commit()
    return Response(status_code=204)


@router.post("/experiments/{experiment_id}/restore", response_model=ExperimentOut)
def restore_experiment(experiment_id: str, rt: RuntimeDep, _: ExpWrite) -> ExperimentOut:
    with rt.uow() as uow:
        exp = service.set_experiment_lifecycle(uow, experiment_id, Lifecycle.ACTIVE)
        uow.commit()
    return ExperimentOut.of(exp)


@router.post("/runs", response_model=RunOut, status_code=201)
def create_run(body: RunIn, rt: RuntimeDep, who: Write) -> RunOut:
    with rt.uow() as uow:
        if body.experiment_id is not None:
            exp_id: int | str = body.experiment_id
        elif body.experiment_name:
            exp_id = service.get_or_create_experiment_id(uow, body.experiment_name)
        else:
            raise InvalidArgument("A run needs 'experiment_id' or 'experiment_name'.", field="experiment_id")
        run = service.create_run(
            uow,
            exp_id,
            name=body.name,
            user_id=who.name,
            start_time=body.start_time,
            tags=body.tags,
            source=body.source,
            git_commit=body.git_commit,
            environment=body.environment,
        )
        uow.commit()
    return RunOut.of(run)


@router.get("/runs", response_model=RunPage)
def list_runs(
    rt: RuntimeDep,
    _: Read,
    experiment_id: Annotated[list[str], Query(min_length=1)],
    view: str = "active",
    max_results: int = 100,
    page_token: str | None = None,
) -> RunPage:
    with rt.uow() as uow:
        page = service.list_runs(uow, experiment_id, view=view, max_results=max_results, page_token=page_token)
    return RunPage(items=[RunOut.of(r) for r in page.items], next_page_token=page.next_page_token)


@router.get("/runs/compare")
def compare_runs(rt: RuntimeDep, _: Read, run_id: Annotated[list[str], Query(min_length=2)]) -> dict[str, Any]:
    with rt.uow() as uow:
        return service.compare_runs(uow, run_id)


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: str, rt: RuntimeDep, _: Read) -> RunOut:
    with rt.uow() as uow:
        return RunOut.of(service.get_run(uow, run_id))


@router.patch("/runs/{run_id}", response_model=RunOut)
def update_run(run_id: str, body: RunPatch, rt: RuntimeDep, _: Write) -> RunOut:
    with rt.uow() as uow:
        run = service.update_run(uow, run_id, status=body.status, end_time=body.end_time, name=body.name)
        uow.commit()
    return RunOut.of(run)


@router.delete("/runs/{run_id}", status_code=204)
def delete_run(run_id: str, rt: RuntimeDep, _: Write) -> Response:
    with rt.uow() as uow:
        service.set_run_lifecycle(uow, run_id, Lifecycle.DELETED)
        uow.commit()
    return Response(status_code=204)


@router.post("/runs/{run_id}/restore", status_code=204)
def restore_run(run_id: str, rt: RuntimeDep, _: Write) -> Response:
    with rt.uow() as uow:
        service.set_run_lifecycle(uow, run_id, Lifecycle.ACTIVE)
        uow.commit()
    return Response(status_code=204)


@router.post("/runs/{run_id}/params", response_model=LoggedCount)
def log_params(run_id: str, body: ParamsIn, rt: RuntimeDep, _: Write) -> LoggedCount:
    with rt.uow() as uow:
        service.log_params(uow, run_id, body.params)
        uow.commit()
    return LoggedCount(logged=len(body.params))


def _metric_batch(body: MetricsIn) -> MetricBatch:
    n = len(body.key)
    steps = body.step if body.step is not None else [0] * n
    stamps = body.timestamp if body.timestamp is not None else [now_ms()] * n
    return MetricBatch(body.key, body.value, steps, stamps)


@router.post("/runs/{run_id}/metrics", response_model=LoggedCount)
def log_metrics(run_id: str, body: MetricsIn, rt: RuntimeDep, _: Write) -> LoggedCount:
    with rt.uow() as uow:
        logged = service.log_metrics(uow, run_id, _metric_batch(body))
        uow.commit()
    return LoggedCount(logged=logged)


@router.post("/runs/{run_id}/batch", response_model=LoggedCount)
def log_batch(run_id: str, body: BatchIn, rt: RuntimeDep, _: Write) -> LoggedCount:
    metrics = _metric_batch(body.metrics) if body.metrics is not None else None
    with rt.uow() as uow:
        service.log_batch(uow, run_id, params=body.params, tags=body.tags, metrics=metrics, status=body.status)
        uow.commit()
    return LoggedCount(logged=len(body.params) + len(body.tags) + (len(metrics) if metrics else 0))


@router.get("/runs/{run_id}/metrics/{key:path}", response_model=MetricPage)
def metric_history(
    run_id: str, key: str, rt: RuntimeDep, _: Read, max_results: int = 25_000, page_token: str | None = None
) -> MetricPage:
    with rt.uow() as uow:
        page = service.metric_history(uow, run_id, key, max_results=max_results, page_token=page_token)
    return MetricPage(items=[MetricOut.of(m) for m in page.items], next_page_token=page.next_page_token)


@router.post("/runs/{run_id}/tags", response_model=LoggedCount)
def set_tags(run_id: str, body: TagsIn, rt: RuntimeDep, _: Write) -> LoggedCount:
    with rt.uow() as uow:
        service.set_tags(uow, run_id, body.tags)
        uow.commit()
    return LoggedCount(logged=len(body.tags))


@router.delete("/runs/{run_id}/tags/{key:path}", status_code=204)
def delete_tag(run_id: str, key: str, rt: RuntimeDep, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_tag(uow, run_id, key)
        uow.commit()
    return Response(status_code=204)


@router.post("/runs/{run_id}/inputs", response_model=LoggedCount)
def log_inputs(run_id: str, body: InputsIn, rt: RuntimeDep, _: Write) -> LoggedCount:
    with rt.uow() as uow:
        service.log_inputs(uow, run_id, [d.to_domain() for d in body.datasets])
        uow.commit()
    return LoggedCount(logged=len(body.datasets))


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(run_id: str, rt: RuntimeDep, _: Read, path: str = "") -> dict[str, Any]:
    with rt.uow() as uow:
        entries = run_artifacts.list_artifacts(uow, run_id, path)
    return {"files": [{"path": e.path, "is_dir": e.is_dir, "size": e.size} for e in entries]}


@router.put("/runs/{run_id}/artifacts/{path:path}")
async def upload_artifact(run_id: str, path: str, request: Request, rt: RuntimeDep, _: Write) -> dict[str, Any]:
    data = await request.body()

    def store() -> dict[str, Any]:
        with rt.uow() as uow:
            f = run_artifacts.log_artifact(uow, rt.blobs, run_id, path, data)
            uow.commit()
        return {"path": path, "sha256": f.sha256, "size": f.size}

    return await run_in_threadpool(store)


@router.get("/runs/{run_id}/artifacts/{path:path}")
def download_artifact(run_id: str, path: str, rt: RuntimeDep, _: Read) -> Response:
    with rt.uow() as uow:
        data = run_artifacts.read_artifact(uow, rt.blobs, run_id, path)
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    # Artifacts are user content: never let a browser render them as active HTML from our origin.
    return Response(
        data,
        media_type=media,
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )
