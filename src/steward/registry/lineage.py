"""Lineage and comparison of model versions.

Lineage walks version -> run -> dataset version(s) -> pipeline spec -> code commit, from what
training recorded: the version's ``run_id``; the run's dataset inputs and its
``steward.dataset_version`` / ``steward.dataset_ref`` tags; the ``steward.pipeline`` and
``steward.spec_sha256`` tags with the ``pipeline/spec.yaml`` artifact; the run's git commit and
environment. Each hop that was not recorded is ``None``, not an error: a version registered by
an MLflow client may have a run but no pipeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from steward.core.errors import NotFound
from steward.registry import service as registry
from steward.registry.models import ModelVersion
from steward.store.uow import UnitOfWork
from steward.tracking import service as tracking
from steward.tracking.artifacts import run_prefix
from steward.tracking.models import Run

SPEC_ARTIFACTS = ("pipeline/spec.yaml", "pipeline/spec.json")


@dataclass(frozen=True)
class Lineage:
    model: str
    version: int
    source: str
    created: int
    user: str
    aliases: list[str]
    run: dict[str, Any] | None = None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    pipeline: dict[str, Any] | None = None
    code: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lineage(uow: UnitOfWork, name: str, version: object) -> Lineage:
    v = registry.get_version(uow, name, version)
    base = Lineage(v.model_name, v.version, v.source, v.creation_time, v.user_id, list(v.aliases))
    if not v.run_id:
        return base
    try:
        run = tracking.get_run(uow, v.run_id)
    except NotFound:
        return Lineage(**{**asdict(base), "run": {"id": v.run_id, "missing": True}})
    return Lineage(
        **{
            **asdict(base),
            "run": {
                "id": run.id,
                "name": run.name,
                "experiment_id": run.experiment_id,
                "status": run.status,
                "start_time": run.start_time,
                "end_time": run.end_time,
                "user": run.user_id,
            },
            "datasets": _datasets(run),
            "pipeline": _pipeline(uow, run),
            "code": {
                "git_commit": run.git_commit,
                "source": run.source,
                "python": (run.environment or {}).get("python"),
            },
        }
    )


def _datasets(run: Run) -> list[dict[str, Any]]:
    out = [
        {
            "name": d.name,
            "digest": d.digest,
            "source_type": d.source_type,
            "source": d.source,
            "num_rows": d.num_rows,
            "context": d.tags.get("mlflow.data.context", ""),
        }
        for d in run.inputs
    ]
    ref, vid = run.tags.get("steward.dataset_ref"), run.tags.get("steward.dataset_version")
    if ref or vid:
        match = next((d for d in out if ref and ref.startswith(f"{d['name']}@")), None)
        if match is not None:
            match.update(version_id=vid, ref=ref)
        else:
            out.append({"name": (ref or "").split("@")[0], "version_id": vid, "ref": ref})
    return out


def _pipeline(uow: UnitOfWork, run: Run) -> dict[str, Any] | None:
    name, digest = run.tags.get("steward.pipeline"), run.tags.get("steward.spec_sha256")
    prefix = run_prefix(run.experiment_id, run.id)
    specs = [p for p in SPEC_ARTIFACTS if uow.artifacts.get(f"{prefix}/{p}") is not None]
    if not (name or digest or specs):
        return None
    return {"name": name, "spec_sha256": digest, "seed": run.tags.get("steward.seed"), "spec_artifacts": specs}


def versions(uow: UnitOfWork, name: str) -> list[ModelVersion]:
    """Every live version of ``name``, oldest first."""
    model = registry.get_model(uow, name)
    row = uow.registry.model_row(model.name)
    assert row is not None
    return uow.registry.to_versions(uow.registry.version_rows(row.id), {row.id: row.name})


def compare(uow: UnitOfWork, name: str, numbers: Sequence[int] | None = None) -> dict[str, Any]:
    """Metrics of several versions side by side: ``{"versions": [...], "metrics": {key: {v: value}}}``.

    A version's metrics are its run's latest values (evaluation, baselines, intervals) overlaid
    with the headline metrics of its stored ``evaluation`` (``{"metrics": {...}}``).
    """
    model = registry.get_model(uow, name)
    model_row = uow.registry.model_row(model.name)
    assert model_row is not None
    wanted = list(numbers) if numbers else [v.version for v in versions(uow, name)]
    table: dict[str, dict[str, float | None]] = {}
    rows = []
    for number in wanted:
        v = registry.get_version(uow, name, number)
        values: dict[str, float] = {}
        if v.run_id:
            with contextlib.suppress(NotFound):
                values.update({k: m.value for k, m in tracking.get_run(uow, v.run_id).metrics.items()})
        row = uow.registry.version_row(model_row.id, v.version)
        stored = ((row.evaluation or {}).get("metrics") or {}) if row is not None else {}
        for k, val in stored.items():
            if isinstance(val, int | float) and not isinstance(val, bool):
                values[k] = float(val)
        rows.append({"version": v.version, "run_id": v.run_id, "aliases": list(v.aliases)})
        for k, val in values.items():
            table.setdefault(k, {})[str(v.version)] = val
    for per in table.values():
        for r in rows:
            per.setdefault(str(r["version"]), None)
    return {"model": model.name, "versions": rows, "metrics": dict(sorted(table.items()))}
