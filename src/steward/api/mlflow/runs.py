"""MLflow runs: create, get, update, delete, restore, log-metric, log-parameter, log-batch,
log-inputs, outputs, set-tag, delete-tag, search, metric history, artifact listing."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from steward.api.deps import require
from steward.api.mlflow import convert
from steward.api.mlflow._wire import MlflowRoute, Msg, Rt, num, ok
from steward.api.mlflow.experiments import ensure_default, view_of
from steward.auth.models import Principal
from steward.core.clock import now_ms
from steward.core.errors import InvalidArgument
from steward.registry import logged_models
from steward.store.uow import UnitOfWork
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service
from steward.tracking.models import DatasetInput, Lifecycle, MetricBatch, Run

router = APIRouter(route_class=MlflowRoute)
Read = Annotated[Principal, require("runs:read")]
Write = Annotated[Principal, require("runs:write")]
RUN_NAME_TAG = "mlflow.runName"


def _with_outputs(uow: UnitOfWork, runs: list[Run]) -> list[dict[str, Any]]:
    outputs = uow.registry.logged_models_of_runs([r.id for r in runs])
    return [convert.run(r, outputs[r.id]) for r in runs]


@router.post("/runs/log-metric")
def log_metric(msg: Msg, rt: Rt, _: Write) -> Response:
    value = msg.number("value")
    if value is None:
        raise InvalidArgument("Missing value for required parameter 'value'.", field="value")
    timestamp = msg.integer("timestamp")
    batch = MetricBatch(
        [msg.required("key")],
        [value],
        [msg.integer("step", 0) or 0],
        [now_ms() if timestamp is None else timestamp],
    )
    with rt.uow() as uow:
        service.log_metrics_once(uow, msg.run_id(), batch)
        uow.commit()
    return ok()


def _metric_batch(items: list[dict[str, Any]]) -> MetricBatch:
    keys: list[str] = []
    values: list[float] = []
    steps: list[int] = []
    stamps: list[int] = []
    now = now_ms()
    for m in items:
        key, value = m.get("key"), m.get("value")
        if not isinstance(key, str) or value is None or isinstance(value, bool):
            raise InvalidArgument(
                f"Each metric needs a string 'key' and a numeric 'value'. Got {m!r}.", field="metrics"
            )
        try:
            keys.append(key)
            values.append(float(value))
            steps.append(int(m.get("step") or 0))
            stamp = m.get("timestamp")
            stamps.append(now if stamp is None else int(stamp))
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"Metric {key!r} has a malformed value, step or timestamp: {m!r}.", field="metrics"
            ) from None
    return MetricBatch(keys, values, steps, stamps)


@router.post("/runs/log-batch")
def log_batch(msg: Msg, rt: Rt, _: Write) -> Response:
    run_id = msg.run_id()
    batch = _metric_batch(msg.objects("metrics"))
    params = msg.key_values("params")
    tags = msg.key_values("tags")
    with rt.uow() as uow:
        if params:
            service.log_params(uow, run_id, params)
        if len(batch):
            service.log_metrics_once(uow, run_id, batch)
        if tags:
            _set_tags(uow, run_id, tags)
        uow.commit()
    return ok()


def _set_tags(uow: UnitOfWork, run_id: str, tags: dict[str, str]) -> None:
    service.set_tags(uow, run_id, tags)
    if RUN_NAME_TAG in tags:  # MLflow renames the run when its name tag is set
        service.update_run(uow, run_id, name=tags[RUN_NAME_TAG])


@router.post("/runs/create")
def create(msg: Msg, rt: Rt, request: Request, who: Write) -> Response:
    tags = msg.key_values("tags")
    run_name = msg.text("run_name") or ""
    tag_name = tags.get(RUN_NAME_TAG, "")
    if run_name and tag_name and run_name != tag_name:
        raise InvalidArgument(
            f"Both 'run_name' and the '{RUN_NAME_TAG}' tag are given, with different values "
            f"({run_name!r} and {tag_name!r}).",
            field="run_name",
        )
    experiment_id = msg.text("experiment_id") or "0"
    if experiment_id == "0":
        ensure_default(rt, request)
    with rt.uow() as uow:
        run = service.create_run(
            uow,
            experiment_id,
            name=run_name or tag_name,
            user_id=who.name,
            start_time=msg.integer("start_time"),
            tags=tags,
            source=tags.get("mlflow.source.name", ""),
            git_commit=tags.get("mlflow.source.git.commit"),
        )
        uow.commit()
    return ok({"run": convert.run(run)})


@router.get("/runs/get")
def get(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        run = service.get_run(uow, msg.run_id())
        return ok({"run": _with_outputs(uow, [run])[0]})


@router.post("/runs/update")
def update(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        run = service.update_run(
            uow,
            msg.run_id(),
            status=msg.text("status") or None,
            end_time=msg.integer("end_time"),
            name=msg.text("run_name") or None,
        )
        uow.commit()
    return ok({"run_info": convert.run_info(run)})


@router.post("/runs/delete")
def delete(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.set_run_lifecycle(uow, msg.run_id(), Lifecycle.DELETED)
        uow.commit()
    return ok()


@router.post("/runs/restore")
def restore(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.set_run_lifecycle(uow, msg.run_id(), Lifecycle.ACTIVE)
        uow.commit()
    return ok()


@router.post("/runs/log-parameter")
def log_param(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.log_params(uow, msg.run_id(), {msg.required("key"): msg.text("value") or ""})
        uow.commit()
    return ok()


@router.post("/runs/set-tag")
def set_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        _set_tags(uow, msg.run_id(), {msg.required("key"): msg.text("value") or ""})
        uow.commit()
    return ok()


@router.post("/runs/delete-tag")
def delete_tag(msg: Msg, rt: Rt, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_tag(uow, msg.run_id(), msg.required("key"))
        uow.commit()
    return ok()


def _dataset(item: dict[str, Any]) -> DatasetInput:
    d = item.get("dataset")
    if not isinstance(d, dict):
        raise InvalidArgument("Each dataset input needs a 'dataset' object.", field="datasets")
    profile = convert.json_field(d.get("profile"))
    rows = profile.get("num_rows") if profile else None
    tags = {str(t.get("key")): str(t.get("value", "")) for t in item.get("tags") or [] if isinstance(t, dict)}
    return DatasetInput(
        str(d.get("name") or ""),
        str(d.get("digest") or ""),
        str(d.get("source_type") or ""),
        str(d.get("source") or ""),
        convert.json_field(d.get("schema")),
        profile,
        rows if isinstance(rows, int) and rows >= 0 else None,
        tags,
    )


@router.post("/runs/log-inputs")
def log_inputs(msg: Msg, rt: Rt, _: Write) -> Response:
    datasets = [_dataset(i) for i in msg.objects("datasets")]
    with rt.uow() as uow:
        if datasets:
            service.log_inputs(uow, msg.run_id(), datasets)
        else:
            service.get_run(uow, msg.run_id())
        uow.commit()
    return ok()


@router.post("/runs/outputs")
def log_outputs(msg: Msg, rt: Rt, _: Write) -> Response:
    model_ids = [str(m.get("model_id", "")) for m in msg.objects("models")]
    with rt.uow() as uow:
        logged_models.record_run_outputs(uow, msg.run_id(), model_ids)
        uow.commit()
    return ok()


@router.post("/runs/search")
def search(msg: Msg, rt: Rt, request: Request, _: Read) -> Response:
    experiment_ids = [str(e) for e in msg.items("experiment_ids")]
    if "0" in experiment_ids:
        ensure_default(rt, request)
    with rt.uow() as uow:
        page = service.search_run_ids(
            uow,
            experiment_ids,
            filter_string=msg.text("filter"),
            order_by=[str(o) for o in msg.items("order_by")],
            view=view_of(msg.text("run_view_type")),
            max_results=msg.max_results(1000),
            page_token=msg.text("page_token") or None,
        )
        # Rendered from the driver's rows, not Run objects: a page can hold 50,000 runs.
        rows = uow.tracking.load_run_rows(page.items)
        out: dict[str, Any] = {"runs": convert.runs_from_rows(rows, uow.registry.logged_models_of_runs(page.items))}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return ok(out)


@router.get("/metrics/get-history")
def metric_history(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        page = service.metric_history(
            uow,
            msg.run_id(),
            msg.required("metric_key"),
            max_results=msg.max_results(25_000),
            page_token=msg.text("page_token") or None,
        )
    out: dict[str, Any] = {
        "metrics": [
            {
                "key": m.key,
                "value": m.value if math.isfinite(m.value) else num(m.value),
                "timestamp": m.timestamp,
                "step": m.step,
            }
            for m in page.items
        ]
    }
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return ok(out)


@router.get("/artifacts/list")
def list_artifacts(msg: Msg, rt: Rt, _: Read) -> Response:
    with rt.uow() as uow:
        run = service.get_run(uow, msg.run_id())
        entries = run_artifacts.list_artifacts(uow, run.id, msg.text("path") or "")
    files = [
        {"path": e.path, "is_dir": e.is_dir, **({"file_size": e.size} if e.size is not None else {})} for e in entries
    ]
    return ok({"root_uri": run.artifact_uri, "files": files})
