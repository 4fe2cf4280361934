"""``steward train``: run a pipeline spec and log everything to a run.

What a run holds when training finishes:

- params: the spec flattened (``model.params.max_iter``, ``split.strategy``, ...), the best
  search params (``best.<name>``);
- tags: ``steward.spec_sha256``, ``steward.dataset_version`` (id), ``steward.dataset_ref``,
  ``steward.predictions_sha256``, ``steward.gates`` (passed / failed), ``steward.seed``,
  ``steward.champion`` (the ``NAME/VERSION`` compared with, or ``none``) and
  ``steward.champion_run_id`` when the spec names a registered model;
  the git commit and the environment (Python, platform, packages) on the run itself;
- the dataset version as the run's input;
- metrics: the model's evaluation metrics, ``baseline.<metric>``, ``champion.<metric>``, ``<metric>.ci_lower`` /
  ``.ci_upper``, ``validation.errors`` / ``.warnings``, ``leakage.findings``, ``gates.passed``;
- artifacts: ``pipeline/spec.yaml`` (as written) and ``pipeline/spec.json`` (canonical, the
  hashed form), ``validation/report.json`` + ``.txt``, ``leakage/report.json``, ``model/``
  (see ``model_format``), ``evaluation/report.json`` + ``report.html``, ``evaluation/
  model_card.md``, ``evaluation/gates.json``, ``evaluation/predictions.parquet``;
- each search trial as a child run (tag ``mlflow.parentRunId``).

Failed validation (an error rule) or a blocking leakage finding ends the run FAILED after its
report is logged, and raises ``InvalidArgument``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from steward.core.errors import InvalidArgument, StewardError
from steward.datasets import service as datasets
from steward.datasets.models import DatasetVersion
from steward.pipelines import model_format
from steward.pipelines.champion import Champion, find_champion
from steward.pipelines.evaluate import evaluate_fitted, finite, run_metrics
from steward.pipelines.search import Trial
from steward.pipelines.sources import load_file, load_package_dataset
from steward.pipelines.spec import DatasetSource, FileSource, PipelineSpec
from steward.pipelines.training import Fitted, fit, predictions_digest, prepare, sample_rows
from steward.runtime import Runtime
from steward.tracking.models import DatasetInput

Progress = Callable[[str], None]
STEPS = ("load", "validate", "split", "search", "fit", "evaluate", "save")


class RunHandle(Protocol):
    """What the runner needs of a run being logged (the SDK's ``ActiveRun`` is one)."""

    id: str

    def log_params(self, params: dict[str, Any]) -> None: ...
    def log_metrics(self, metrics: dict[str, float], step: int = 0, *, timestamp: int | None = None) -> None: ...
    def set_tags(self, tags: dict[str, str]) -> None: ...
    def log_bytes(self, data: bytes, artifact_path: str) -> None: ...
    def log_input(self, dataset: DatasetInput) -> None: ...
    def end(self, status: str = "FINISHED") -> None: ...


class Tracker(Protocol):
    """Starts runs (the SDK's ``Client`` is one)."""

    def start_run(
        self,
        experiment: str = "Default",
        *,
        name: str = "",
        tags: dict[str, str] | None = None,
        capture: bool = True,
    ) -> Any: ...


@dataclass
class TrainResult:
    run_id: str
    experiment: str
    dataset_version: DatasetVersion
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    gates: list[dict[str, Any]]
    gates_passed: bool
    spec_sha256: str
    predictions_sha256: str
    validation: dict[str, Any] = field(default_factory=dict)
    leakage: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] | None = None
    dataset_new: bool = False
    headline: dict[str, float | None] = field(default_factory=dict)
    champion: dict[str, Any] | None = None
    champion_metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "experiment": self.experiment,
            "dataset_version": {**self.dataset_version.to_dict(), "new": self.dataset_new},
            "headline": self.headline,
            "metrics": self.metrics,
            "baseline_metrics": self.baseline_metrics,
            "champion": self.champion,
            "champion_metrics": self.champion_metrics,
            "gates": self.gates,
            "gates_passed": self.gates_passed,
            "spec_sha256": self.spec_sha256,
            "predictions_sha256": self.predictions_sha256,
            "validation": self.validation,
            "leakage": self.leakage,
            "search": self.search,
            "model_uri": f"runs:/{self.run_id}/model",
        }


# data ----------------------------------------------------------------------------------------
def load_data(spec: PipelineSpec, base_dir: Path, runtime: Runtime) -> tuple[pd.DataFrame, str, str, str]:
    """The spec's data (sampled as it says): frame, dataset name, source type, source."""
    src = spec.data.source
    if isinstance(src, FileSource):
        df, where = load_file(src, base_dir)
        name, kind = spec.data.name or Path(where).stem, "file"
    elif isinstance(src, DatasetSource):
        with runtime.uow() as uow:
            version = datasets.get_version(uow, src.dataset)
        df = datasets.load_data(runtime.blobs, version)
        name, kind, where = spec.data.name or version.name, "dataset", version.ref
    else:
        df = load_package_dataset(src)
        name, kind, where = spec.data.name or src.package_dataset, "package", f"package:{src.package_dataset}"
    return sample_rows(df, spec.data.sample, spec.seed), name, kind, where


def register(runtime: Runtime, name: str, df: pd.DataFrame, kind: str, source: str) -> tuple[DatasetVersion, bool]:
    with runtime.uow() as uow:
        version, new = datasets.register_version(uow, runtime.blobs, name, df, source_type=kind, source=source)
        uow.commit()
    return version, new


# logging helpers ---------------------------------------------------------------------------
def flat_params(spec: PipelineSpec) -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out[prefix] = json.dumps(value, sort_keys=True)[:6000]
        else:
            out[prefix] = json.dumps(value) if not isinstance(value, str) else value

    doc = spec.model_dump(mode="json")
    for key in ("validation", "gates"):
        doc.pop(key, None)
    if doc.get("registry") is None:
        doc.pop("registry", None)
    walk("", doc)
    return {k: v[:6000] for k, v in out.items() if k}


def _json(doc: Any) -> bytes:
    return json.dumps(doc, indent=2, sort_keys=True, default=str, allow_nan=True).encode()


def predictions_frame(fitted: Fitted) -> pd.DataFrame:
    p = fitted.prepared
    out = pd.DataFrame(
        {
            "row": fitted.eval_index,
            "y_true": p.y.to_numpy()[fitted.eval_index],
            "prediction": fitted.predictions,
        }
    )
    if fitted.probabilities is not None:
        for i, c in enumerate(p.classes or []):
            out[f"proba_{c}"] = fitted.probabilities[:, i]
    for col in ("y_true", "prediction"):
        if out[col].dtype == object:
            out[col] = out[col].astype(str)
    return out


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


# the run -----------------------------------------------------------------------------------
def train(
    spec: PipelineSpec,
    spec_text: str,
    *,
    runtime: Runtime,
    tracker: Tracker,
    base_dir: Path = Path("."),
    progress: Progress | None = None,
) -> TrainResult:
    step = progress or (lambda _name: None)
    step("load")
    data, name, kind, source = load_data(spec, base_dir, runtime)
    version, new = register(runtime, name, data, kind, source)
    spec_hash = spec.sha256()
    run = tracker.start_run(
        spec.experiment_name,
        name=spec.name,
        tags={
            "steward.kind": "pipeline",
            "steward.pipeline": spec.name,
            "steward.spec_sha256": spec_hash,
            "steward.dataset_version": version.id,
            "steward.dataset_ref": version.ref,
            "steward.seed": str(spec.seed),
        },
    )
    try:
        champion = find_champion(runtime, spec)
        result = _train_in_run(spec, spec_text, run, tracker, data, version, step, champion)
        result.dataset_new = new
    except BaseException as exc:
        reason = exc.message if isinstance(exc, StewardError) else f"{type(exc).__name__}: {exc}"
        try:
            run.set_tags({"steward.failure": reason[:7000]})
        finally:
            run.end("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    run.end("FINISHED")
    return result


def _train_in_run(
    spec: PipelineSpec,
    spec_text: str,
    run: RunHandle,
    tracker: Tracker,
    data: pd.DataFrame,
    version: DatasetVersion,
    step: Progress,
    champion: Champion | None = None,
) -> TrainResult:
    run.log_params(flat_params(spec))
    if champion is not None:
        run.set_tags(
            {"steward.champion": champion.ref if champion.found else "none"}
            | ({"steward.champion_run_id": champion.run_id} if champion.run_id else {})
        )
    run.log_bytes(spec_text.encode(), "pipeline/spec.yaml")
    run.log_bytes(spec.canonical_json().encode(), "pipeline/spec.json")
    run.log_input(
        DatasetInput(
            version.name,
            version.digest,
            version.source_type,
            version.source,
            version.schema,
            version.profile,
            version.num_rows,
            {"mlflow.data.context": "training"},
        )
    )
    step("validate")
    prepared = prepare(spec, data)
    report = prepared.validation
    run.log_bytes(_json(report.to_dict()), "validation/report.json")
    run.log_bytes(report.to_text().encode(), "validation/report.txt")
    run.log_metrics({"validation.errors": len(report.blocking), "validation.warnings": len(report.warnings)})
    if not report.passed:
        failed = "; ".join(f"{r.name} ({r.message})" for r in report.blocking)
        raise InvalidArgument(f"Data validation failed: {failed}.", field="data")
    step("split")
    leakage = prepared.leakage
    assert leakage is not None
    run.log_bytes(_json(leakage.to_dict()), "leakage/report.json")
    run.log_metrics({"leakage.findings": len(leakage.findings), "leakage.blocking": len(leakage.blocking)})
    if leakage.blocking:
        found = "; ".join(f"{f.check} in {f.fold}: {f.message}" for f in leakage.blocking)
        raise InvalidArgument(f"Leakage guard blocked training: {found}.", field="leakage")

    def on_trial(trial: Trial) -> None:
        child = tracker.start_run(
            spec.experiment_name,
            name=f"{spec.name}-trial-{trial.number}",
            tags={
                "mlflow.parentRunId": run.id,
                "steward.parent_run_id": run.id,
                "steward.trial": str(trial.number),
                "steward.kind": "search-trial",
            },
            capture=False,
        )
        try:
            child.log_params({k: str(v) for k, v in trial.params.items()})
            child.log_metrics({"cv_score": trial.score, "seconds": trial.seconds})
        finally:
            child.end("FINISHED")

    metadata = {
        "pipeline": spec.name,
        "run_id": run.id,
        "target": spec.data.target,
        "positive_class": prepared.positive_class,
        "spec_sha256": spec.sha256(),
        "dataset_version": version.id,
        "dataset_ref": version.ref,
        "seed": spec.seed,
        "evaluation": spec.evaluation.model_dump(mode="json"),
        "gates": [dict(g) for g in spec.gates if "relative_to" not in g],
        "card": spec.card.model_dump(),
    }
    fitted = fit(spec, prepared, on_trial=on_trial, progress=step, metadata=metadata)
    search = None
    if fitted.search is not None:
        search = {
            "metric": fitted.search.metric,
            "best_score": fitted.search.best_score,
            "best_params": fitted.search.best_params,
            "trials": len(fitted.search.trials),
        }
        run.log_params({f"best.{k}": str(v) for k, v in fitted.search.best_params.items()})
        run.log_metrics({f"search.best_{fitted.search.metric}": fitted.search.best_score})
    step("evaluate")
    ev = evaluate_fitted(spec, fitted, champion)
    metrics = run_metrics(ev)
    metrics["gates.passed"] = 1.0 if ev.gates_passed else 0.0
    run.log_metrics(metrics)
    curve = ev.extra.get("learning_curve")
    if curve:
        for size, tr, va in zip(curve["train_sizes"], curve["train_mean"], curve["validation_mean"], strict=True):
            run.log_metrics({"learning_curve.train": tr, "learning_curve.validation": va}, step=size)
    step("save")
    for fname, blob in model_format.model_files(fitted.model, fitted.signature, extra_modules=_extra(spec)).items():
        run.log_bytes(blob, f"model/{fname}")
    preds = predictions_frame(fitted)
    digest = predictions_digest(fitted.scores)
    run.log_bytes(parquet_bytes(preds), "evaluation/predictions.parquet")
    run.log_bytes(_json(ev.to_dict()), "evaluation/report.json")
    run.log_bytes(ev.html(f"{spec.name}: evaluation").encode(), "evaluation/report.html")
    card = ev.card(
        name=spec.name,
        data=f"{'Out-of-fold' if spec.split.strategy == 'kfold' else 'Held-out'} rows of dataset version "
        f"{version.ref} (source {version.source}), target {spec.data.target}",
        limitations=[f"Leakage guard: {f.check} ({f.message})." for f in leakage.findings]
        + [f"Data validation warning: {r.name} ({r.message})." for r in report.warnings],
        about={**spec.card.model_dump(), "training_data": _training_data(spec, version, fitted)},
    )
    run.log_bytes(card.encode(), "evaluation/model_card.md")
    run.log_bytes(_json(ev.gates), "evaluation/gates.json")
    run.set_tags(
        {
            "steward.predictions_sha256": digest,
            "steward.gates": "passed" if ev.gates_passed else "failed",
            "steward.model_format": str(model_format.FORMAT_VERSION),
        }
    )
    return TrainResult(
        run_id=run.id,
        experiment=spec.experiment_name,
        dataset_version=version,
        metrics=finite(ev.report.metrics),
        baseline_metrics=finite(ev.baseline.metrics) if ev.baseline else {},
        gates=ev.gates,
        gates_passed=ev.gates_passed,
        spec_sha256=spec.sha256(),
        predictions_sha256=digest,
        validation={
            "passed": report.passed,
            "errors": len(report.blocking),
            "warnings": len(report.warnings),
        },
        leakage={"findings": len(leakage.findings), "blocking": len(leakage.blocking)},
        search=search,
        headline={m: finite(ev.report.gate_metrics()).get(m) for m in spec.evaluation.metrics},
        champion=champion.to_dict() if champion is not None else None,
        champion_metrics=finite(ev.champion.metrics) if ev.champion else {},
    )


def _training_data(spec: PipelineSpec, version: DatasetVersion, fitted: Fitted) -> str:
    rows = sum(f["train"] for f in fitted.fold_sizes[:1]) if spec.split.strategy != "kfold" else version.num_rows
    return (
        f"Dataset version {version.ref} ({version.num_rows} rows; {rows} for training), "
        f"{spec.split.strategy} split, seed {spec.seed}; model {spec.model.estimator}."
    )


def _extra(spec: PipelineSpec) -> list[str]:
    """The distributions that provide the estimator's top-level module, for requirements.txt
    (the ``xgboost`` module may come from ``xgboost`` or ``xgboost-cpu``)."""
    from importlib.metadata import packages_distributions

    top = spec.model.estimator.split(".")[0]
    if top in ("sklearn", "steward"):
        return []
    return sorted(set(packages_distributions().get(top, [top])))
