"""``steward drift --reference A --current B`` as users run it: a subprocess on CSV and Parquet
files of real data (ACS employment), JSON on stdout, an HTML report on request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.support.cli import steward
from tests.unit.monitoring._acs import FEATURES, reference

from steward.core.errors import InvalidArgument
from steward.monitoring.files import compare_files

CATEGORICAL = ",".join(FEATURES[1:])


def _files(tmp_path: Path, *, drift: bool, n: int = 800) -> tuple[Path, Path, pd.DataFrame, pd.DataFrame]:
    data = reference()[FEATURES].sample(2 * n, random_state=3).reset_index(drop=True)
    ref, cur = data.iloc[:n].reset_index(drop=True), data.iloc[n:].reset_index(drop=True)
    if drift:
        cur = cur.copy()
        cur["AGEP"] = (cur["AGEP"] - cur["AGEP"].mean()) * 1.3 + cur["AGEP"].mean() + 6
        cur["MAR"] = cur["MAR"].astype(str).replace({"1": "5"})
    ref_path, cur_path = tmp_path / "reference.csv", tmp_path / "current.parquet"
    ref.astype({c: str for c in FEATURES[1:]}).to_csv(ref_path, index=False)
    cur.astype({c: str for c in FEATURES[1:]}).to_parquet(cur_path, index=False)
    return ref_path, cur_path, ref, cur


def test_drift_json_names_each_columns_test_and_matches_scipy(tmp_path: Path) -> None:
    ref_path, cur_path, ref, cur = _files(tmp_path, drift=True)
    report = tmp_path / "drift.html"
    out = steward(
        tmp_path,
        "drift",
        "--reference",
        str(ref_path),
        "--current",
        str(cur_path),
        "--categorical",
        CATEGORICAL,
        "--json",
        "--report",
        str(report),
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    cols = {c["column"]: c for c in doc["columns"]}
    assert set(cols) == set(FEATURES) and doc["n_columns"] == 16
    for c in cols.values():
        assert {"test", "statistic", "p_value", "distance", "threshold", "drifted"} <= set(c)
    age = cols["AGEP"]
    assert age["test"] == "ks" and age["drifted"] and age["distance"] is None  # <= 1000 reference rows
    expected = stats.ks_2samp(ref["AGEP"].to_numpy(), cur["AGEP"].to_numpy())
    assert age["statistic"] == pytest.approx(expected.statistic, abs=1e-9)
    assert age["p_value"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert cols["MAR"]["test"] == "chisquare" and cols["MAR"]["drifted"]
    assert cols["SEX"]["test"] == "z" and not cols["SEX"]["drifted"]
    assert doc["n_drifted"] >= 2 and doc["drift_detected"] is False  # under half of the columns
    html = report.read_text()
    assert html.count("<script") == 3 and "Plotly" in html and "AGEP" in html and "http" not in html.split("<script")[0]


def test_no_drift_on_a_random_split_and_distances_above_1000_rows(tmp_path: Path) -> None:
    ref_path, cur_path, ref, cur = _files(tmp_path, drift=False, n=4000)
    out = steward(
        tmp_path,
        "drift",
        "-r",
        str(ref_path),
        "-c",
        str(cur_path),
        "--categorical",
        CATEGORICAL,
        "--json",
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["drift_detected"] is False and doc["n_drifted"] == 0
    age = next(c for c in doc["columns"] if c["column"] == "AGEP")
    assert age["test"] == "wasserstein" and age["p_value"] is None and age["distance"] == age["statistic"]
    a, b = ref["AGEP"].to_numpy(), cur["AGEP"].to_numpy()
    assert age["statistic"] == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a), rel=1e-9)


def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    out = steward(tmp_path, "drift", "--reference", str(tmp_path / "missing.csv"), "--current", str(tmp_path / "x.csv"))
    assert out.returncode == 2 and "No file at" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(InvalidArgument, match=r"\.csv or \.parquet"):
        compare_files(tmp_path / "a.json", tmp_path / "a.json")


def test_monitor_configure_and_run_from_the_command_line(tmp_path: Path) -> None:
    """``steward monitor configure`` then ``steward monitor run --json`` on two logged days."""
    from steward.core.config import Settings
    from steward.monitoring.ingest import ingest_predictions
    from steward.monitoring.store import MonitoringStore
    from steward.monitoring.windows import DAY, parse_iso

    t0 = parse_iso("2024-05-01T00:00Z")
    store = MonitoringStore.from_settings(Settings(home=tmp_path))
    data = reference().sample(1600, random_state=9).reset_index(drop=True)
    for day in (0, 1):
        part = data.iloc[day * 800 : (day + 1) * 800].reset_index(drop=True)
        frame = part[FEATURES].astype({c: str for c in FEATURES[1:]})
        frame["AGEP"] = frame["AGEP"] + 15 * day
        frame["prediction"] = part["prediction"].to_numpy()
        frame["score"] = part["predicted_probability"].to_numpy()
        frame["timestamp"] = t0 + day * DAY + np.arange(800) * 60_000
        ingest_predictions(store, "acs", frame, model_version="1")
    config = tmp_path / "monitor.yaml"
    config.write_text("reference: {window: {first: 1d}}\nrules:\n  data_drift: {threshold: 0.05, window: 1d}\n")
    out = steward(tmp_path, "monitor", "configure", "acs", str(config))
    assert out.returncode == 0, out.stderr
    out = steward(tmp_path, "monitor", "run", "acs", "--at", "2024-05-03T00:00Z", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    [run] = doc["runs"]
    assert run["window"] == "1d" and run["rows"] == 800 and run["metrics"]["data_drift_share"] == 1 / 16
    assert [(a["rule"], a["action"]) for a in doc["alerts"]] == [("data_drift", "fire")]


@pytest.mark.parametrize("drift", [True, False])
def test_multivariate_section_on_injected_drift_and_a_random_split(tmp_path: Path, drift: bool) -> None:
    """``--multivariate``: the domain classifier's AUC against its threshold and the PCA
    reconstruction error's change against its band, both in the JSON and in the HTML report."""
    ref_path, cur_path, _, _ = _files(tmp_path, drift=drift)
    report = tmp_path / "drift.html"
    out = steward(
        tmp_path,
        "drift",
        "-r",
        str(ref_path),
        "-c",
        str(cur_path),
        "--categorical",
        CATEGORICAL,
        "--multivariate",
        "--json",
        "--report",
        str(report),
    )
    assert out.returncode == 0, out.stderr
    section = json.loads(out.stdout)["multivariate"]
    dc, pca = section["domain_classifier"], section["reconstruction_error"]
    assert dc["threshold"] == 0.65 and dc["n_reference"] == dc["n_current"] == 800
    assert pca["change"] == pytest.approx(pca["current"] - pca["reference"])
    assert pca["lower_threshold"] < pca["reference"] < pca["upper_threshold"]
    if drift:  # older, more spread ages and a changed marital mix
        assert dc["auc"] > 0.8 and dc["drifted"] and pca["change"] > 0 and pca["drifted"]
        assert section["drift_detected"] is True
    else:
        assert 0.4 < dc["auc"] < 0.6 and not dc["drifted"] and not pca["drifted"]
        assert section["drift_detected"] is False
    page = report.read_text()
    assert "id='multivariate'" in page and "data-method='domain_classifier'" in page
    assert page.count('<span class="drift">drift</span>') >= (2 if drift else 0)


def test_multivariate_is_refused_with_dask(tmp_path: Path) -> None:
    ref_path, cur_path, _, _ = _files(tmp_path, drift=False, n=100)
    out = steward(
        tmp_path, "drift", "-r", str(ref_path), "-c", str(cur_path), "--multivariate", "--dask", "tcp://127.0.0.1:1"
    )
    assert out.returncode == 2 and "--multivariate does not run with --dask" in out.stderr
    assert "Traceback" not in out.stderr
