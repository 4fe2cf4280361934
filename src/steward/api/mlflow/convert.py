"""Steward's domain objects as MLflow's protobuf-JSON messages (snake_case field names,
int64 as numbers, enums by name, doubles via :func:`num`)."""

from __future__ import annotations

import json
import math
from typing import Any

from steward.api.mlflow._wire import num
from steward.registry.models import LoggedModel, ModelVersion, RegisteredModel, latest_per_stage
from steward.tracking.models import DatasetInput, Experiment, Metric, Run
from steward.tracking.repository import RunRows


def key_values(d: dict[str, str], value_field: str = "value") -> list[dict[str, str]]:
    return [{"key": k, value_field: v} for k, v in d.items()]


def experiment(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": str(e.id),
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "last_update_time": e.last_update_time,
        "creation_time": e.creation_time,
        "tags": key_values(e.tags),
    }


def metric(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": num(m.value), "timestamp": m.timestamp, "step": m.step}


def run_info(r: Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": r.id,
        "run_uuid": r.id,
        "run_name": r.name,
        "experiment_id": str(r.experiment_id),
        "user_id": r.user_id,
        "status": r.status,
        "start_time": r.start_time,
        "artifact_uri": r.artifact_uri,
        "lifecycle_stage": r.lifecycle_stage,
    }
    if r.end_time is not None:
        info["end_time"] = r.end_time
    return info


def _json_text(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    if set(value) == {"mlflow_raw"}:
        return str(value["mlflow_raw"])
    return json.dumps(value)


def json_field(text: str | None) -> dict[str, Any] | None:
    """MLflow sends a dataset's schema and profile as JSON text; Steward keeps them as JSON."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"mlflow_raw": text}


def dataset_input(d: DatasetInput) -> dict[str, Any]:
    return {
        "tags": key_values(d.tags),
        "dataset": {
            "name": d.name,
            "digest": d.digest,
            "source_type": d.source_type,
            "source": d.source,
            "schema": _json_text(d.schema),
            "profile": _json_text(d.profile),
        },
    }


def run(r: Run, model_outputs: list[str] | None = None) -> dict[str, Any]:
    # The hot path of search: thousands of runs per response, so no helper calls per item.
    finite = math.isfinite
    return {
        "info": run_info(r),
        "data": {
            "metrics": [
                {
                    "key": m.key,
                    "value": m.value if finite(m.value) else num(m.value),
                    "timestamp": m.timestamp,
                    "step": m.step,
                }
                for m in r.metrics.values()
            ],
            "params": [{"key": k, "value": v} for k, v in r.params.items()],
            "tags": [{"key": k, "value": v} for k, v in r.tags.items()],
        },
        "inputs": {"dataset_inputs": [dataset_input(d) for d in r.inputs]},
        "outputs": {"model_outputs": [{"model_id": m, "step": 0} for m in model_outputs or ()]},
    }


def runs_from_rows(rows: RunRows, model_outputs: dict[str, list[str]]) -> list[dict[str, Any]]:
    """What :func:`run` renders, for a search page, straight from the driver's rows.

    A page holds thousands of runs and tens of thousands of values: building a ``Run`` and a
    ``Metric`` per value and then a dict from each cost more than the SQL. Here each row
    becomes its wire dict in one step; :func:`run` stays the reference, and the tests
    compare the two.
    """
    metrics: dict[str, list[dict[str, Any]]] = {r[0]: [] for r in rows.runs}
    finite = math.isfinite
    for run_id, key, number, is_nan, step, ts in rows.metrics:
        shown: float | str = "NaN" if is_nan else number if finite(number) else num(number)
        metrics[run_id].append({"key": key, "value": shown, "timestamp": ts, "step": step})
    out = []
    for run_id, exp_id, name, status, start, end, user, _src, _git, _env, stage, uri in rows.runs:
        info: dict[str, Any] = {
            "run_id": run_id,
            "run_uuid": run_id,
            "run_name": name,
            "experiment_id": str(exp_id),
            "user_id": user,
            "status": status,
            "start_time": start,
            "artifact_uri": uri,
            "lifecycle_stage": stage,
        }
        if end is not None:
            info["end_time"] = end
        out.append(
            {
                "info": info,
                "data": {
                    "metrics": metrics[run_id],
                    "params": rows.params.get(run_id, []),
                    "tags": rows.tags.get(run_id, []),
                },
                "inputs": {"dataset_inputs": [dataset_input(d) for d in rows.inputs.get(run_id, ())]},
                "outputs": {"model_outputs": [{"model_id": m, "step": 0} for m in model_outputs.get(run_id, ())]},
            }
        )
    return out


def logged_model(m: LoggedModel, registrations: list[dict[str, str]] | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": m.id,
        "experiment_id": str(m.experiment_id),
        "name": m.name,
        "creation_timestamp_ms": m.creation_time,
        "last_updated_timestamp_ms": m.last_updated_time,
        "artifact_uri": m.artifact_location,
        "status": m.status,
        "model_type": m.model_type,
        "tags": key_values(m.tags),
        "registrations": registrations or [],
    }
    if m.source_run_id:
        info["source_run_id"] = m.source_run_id
    return {"info": info, "data": {"params": key_values(m.params), "metrics": []}}


def model_version(v: ModelVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.model_name,
        "version": str(v.version),
        "creation_timestamp": v.creation_time,
        "last_updated_timestamp": v.last_updated_time,
        "user_id": v.user_id,
        "current_stage": v.stage,
        "description": v.description,
        "source": v.source,
        "status": v.status,
        "tags": key_values(v.tags),
        "aliases": list(v.aliases),
    }
    if v.run_id:
        out["run_id"] = v.run_id
    if v.logged_model_id:
        out["model_id"] = v.logged_model_id
    return out


def registered_model(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": m.creation_time,
        "last_updated_timestamp": m.last_updated_time,
        "description": m.description,
        "latest_versions": [model_version(v) for v in latest_per_stage(m.latest_versions)],
        "tags": key_values(m.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in m.aliases.items()],
    }
