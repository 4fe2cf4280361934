"""``steward reproduce RUN_ID``: rebuild a training run from what it recorded (the dataset
version's stored rows, the spec, the seed) and say whether the predictions match.

The rebuilt model predicts the run's evaluation rows; its outputs (class probabilities or
regression values) are compared with the run's recorded ``evaluation/predictions.parquet``
and with what the stored model predicts on the same rows. ``bitwise`` means identical
bytes (same sha256); otherwise ``match`` holds when the largest absolute difference is
within the spec's ``reproduce.tolerance`` (default 0: only bitwise counts).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steward.core.clock import now_ms
from steward.core.errors import InvalidArgument
from steward.datasets import service as datasets
from steward.pipelines import model_format
from steward.pipelines.evaluate import model_scores
from steward.pipelines.spec import PipelineSpec, parse_spec
from steward.pipelines.training import Progress, fit, predictions_digest, prepare, sample_rows
from steward.runtime import Runtime
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service as tracking
from steward.tracking.models import Run


@dataclass
class ReproduceResult:
    run_id: str
    dataset_version: str
    spec_sha256: str
    spec_matches: bool
    rows: int
    bitwise: bool
    max_abs_diff: float
    tolerance: float
    match: bool
    stored_model_bitwise: bool
    predictions_sha256: str
    recorded_predictions_sha256: str | None
    environment_changes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_run_file(runtime: Runtime, run_id: str, path: str) -> bytes:
    with runtime.uow() as uow:
        return run_artifacts.read_artifact(uow, runtime.blobs, run_id, path)


def load_run_model(runtime: Runtime, run_id: str) -> tuple[Any, model_format.Signature]:
    """The model a training run stored under ``model/``."""
    files = {
        name: read_run_file(runtime, run_id, f"model/{name}")
        for name in (model_format.MODEL_FILE, model_format.SIGNATURE_FILE)
    }
    return model_format.load_model_files(files)


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    if a.dtype.kind in "fiub" and b.dtype.kind in "fiub":
        diff = np.abs(a.astype(float) - b.astype(float))
        return float(np.nanmax(diff)) if diff.size else 0.0
    return 0.0 if np.array_equal(a.astype(str), b.astype(str)) else float("inf")


def _env_changes(run: Run, current: Mapping[str, Any] | None) -> dict[str, Any]:
    """Packages (and Python) whose version differs between the run and ``current``."""
    if current is None:
        return {}
    before = (run.environment or {}).get("packages", {})
    now = current.get("packages", {})
    changes = {k: {"recorded": before.get(k), "now": now.get(k)} for k in sorted(set(before) | set(now))}
    changes = {k: v for k, v in changes.items() if v["recorded"] != v["now"]}
    py_then, py_now = (run.environment or {}).get("python"), current.get("python")
    if py_then != py_now:
        changes["python"] = {"recorded": py_then, "now": py_now}
    return changes


def reproduce(
    runtime: Runtime,
    run_id: str,
    *,
    progress: Progress | None = None,
    record: bool = True,
    environment: Mapping[str, Any] | None = None,
) -> ReproduceResult:
    """Rebuild run ``run_id`` and compare; with ``record``, the outcome is also set as tags on
    the run (``steward.reproduce.match``, ``.bitwise``, ``.max_abs_diff``, ``.at``), as
    evidence that the run can be rebuilt. ``environment`` (``{"python", "packages"}``, as
    runs record it) lists what changed since the run in ``environment_changes``."""
    result = _reproduce(runtime, run_id, progress, environment)
    if record:
        with runtime.uow() as uow:
            tracking.set_tags(
                uow,
                run_id,
                {
                    "steward.reproduce.match": str(result.match).lower(),
                    "steward.reproduce.bitwise": str(result.bitwise).lower(),
                    "steward.reproduce.max_abs_diff": repr(result.max_abs_diff),
                    "steward.reproduce.at": str(now_ms()),
                },
            )
            uow.commit()
    return result


def _reproduce(
    runtime: Runtime, run_id: str, progress: Progress | None, environment: Mapping[str, Any] | None
) -> ReproduceResult:
    with runtime.uow() as uow:
        run = tracking.get_run(uow, run_id)
    version_id = run.tags.get("steward.dataset_version")
    if not version_id or run.tags.get("steward.kind") != "pipeline":
        raise InvalidArgument(f"Run {run_id} is not a training pipeline run; nothing to reproduce.", field="run_id")
    spec: PipelineSpec = parse_spec(read_run_file(runtime, run_id, "pipeline/spec.yaml").decode())
    with runtime.uow() as uow:
        version = datasets.get_version(uow, version_id)
    data = sample_rows(datasets.load_data(runtime.blobs, version), spec.data.sample, spec.seed)
    step = progress or (lambda _name: None)
    step("validate")
    prepared = prepare(spec, data)
    if not prepared.validation.passed:
        raise InvalidArgument("The recorded data no longer passes validation.", field="data")
    fitted = fit(spec, prepared, progress=step)
    step("compare")
    rebuilt = fitted.scores
    recorded = pd.read_parquet(io.BytesIO(read_run_file(runtime, run_id, "evaluation/predictions.parquet")))
    if fitted.probabilities is not None:
        cols = [f"proba_{c}" for c in prepared.classes or []]
        recorded_scores = recorded[cols].to_numpy(dtype=float)
    else:
        recorded_scores = recorded["prediction"].to_numpy()
    same_rows = np.array_equal(recorded["row"].to_numpy(), fitted.eval_index)
    diff = _max_diff(rebuilt, recorded_scores) if same_rows else float("inf")
    stored, signature = load_run_model(runtime, run_id)
    rows = prepared.X.iloc[fitted.eval_index]
    stored_scores = model_scores(stored, model_format.validate_input(rows, signature), spec.task)
    rebuilt_scores = model_scores(fitted.model, rows, spec.task)
    digest = predictions_digest(rebuilt)
    recorded_digest = run.tags.get("steward.predictions_sha256")
    bitwise = same_rows and digest == recorded_digest
    tol = spec.reproduce.tolerance
    return ReproduceResult(
        run_id=run_id,
        dataset_version=version.ref,
        spec_sha256=spec.sha256(),
        spec_matches=spec.sha256() == run.tags.get("steward.spec_sha256"),
        rows=len(fitted.eval_index),
        bitwise=bitwise,
        max_abs_diff=diff,
        tolerance=tol,
        match=bitwise or diff <= tol,
        stored_model_bitwise=predictions_digest(stored_scores) == predictions_digest(rebuilt_scores),
        predictions_sha256=digest,
        recorded_predictions_sha256=recorded_digest,
        environment_changes=_env_changes(run, environment),
    )
