"""evaluate_classifier / evaluate_regressor on real data; JSON, HTML and Markdown output."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference
from sklearn import metrics as skm

from steward.core.errors import InvalidArgument
from steward.evaluation import EvaluationReport, evaluate_classifier, evaluate_regressor, model_card, render_html

from ._datasets import acs_sample, adult_scored, cut_proba, diamonds_sample

TOL = 1e-9


@pytest.fixture(scope="module")
def acs_report() -> EvaluationReport:
    frame = acs_sample()
    return evaluate_classifier(
        frame["employed"],
        frame["predicted_probability"],
        frame=frame,
        slice_columns=["AGEP", "SCHL", "SEX"],
        sensitive=["SEX", "RAC1P"],
        random_state=0,
        n_bootstrap=50,
        name="ACS employment",
        gates=[
            {"metric": "roc_auc", "op": ">", "value": 0.85},
            {"metric": "demographic_parity_difference", "op": "<", "value": 0.05},
            {"metric": "accuracy", "relative_to": "champion", "max_degradation": 0.05},
        ],
        references={"champion": {"accuracy": 0.83}},
    )


def test_classifier_report_metrics_equal_sklearn(acs_report: EvaluationReport) -> None:
    frame = acs_sample()
    y, proba = frame["employed"].to_numpy(), frame["predicted_probability"].to_numpy()
    pred = (proba >= 0.5).astype(int)
    m = acs_report.metrics
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred),
        "recall": skm.recall_score(y, pred),
        "f1": skm.f1_score(y, pred),
        "roc_auc": skm.roc_auc_score(y, proba),
        "average_precision": skm.average_precision_score(y, proba),
        "log_loss": skm.log_loss(y, y_proba=proba),
        "brier": skm.brier_score_loss(y, proba),
        "macro_f1": skm.f1_score(y, pred, average="macro"),
        "weighted_f1": skm.f1_score(y, pred, average="weighted"),
    }
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, abs=TOL), name
    assert acs_report.confusion_matrix == skm.confusion_matrix(y, pred).tolist()
    assert acs_report.task == "binary" and acs_report.pos_label == 1 and acs_report.threshold == 0.5
    ci = acs_report.confidence_intervals["roc_auc"]
    assert ci.lower < m["roc_auc"] < ci.upper and ci.n_resamples == 50


def test_classifier_report_sections(acs_report: EvaluationReport) -> None:
    assert {s.columns[0] for s in acs_report.slices} == {"AGEP", "SCHL", "SEX"}
    assert acs_report.worst_slices and acs_report.slice_metric == "accuracy"
    assert all(w.support >= 30 for w in acs_report.worst_slices)
    assert set(acs_report.fairness) == {"SEX", "RAC1P"}
    assert set(acs_report.curves) == {"roc", "pr"}
    assert set(acs_report.calibration) == {"uniform", "quantile"}
    assert len(acs_report.threshold_table) == 19
    gates = {g.gate: g.passed for g in acs_report.gates}
    assert gates["roc_auc > 0.85"] is True
    flat = acs_report.gate_metrics()
    assert flat["demographic_parity_difference"] == max(
        flat["fairness.SEX.demographic_parity_difference"], flat["fairness.RAC1P.demographic_parity_difference"]
    )
    expected = all(g.passed for g in acs_report.gates) and all(f.passed for f in acs_report.fairness.values())
    assert acs_report.passed is expected


def test_report_fairness_matches_fairlearn_for_large_groups(acs_report: EvaluationReport) -> None:
    frame = acs_sample()
    pred = (frame["predicted_probability"] >= 0.5).astype(int).to_numpy()
    expected = demographic_parity_difference(frame["employed"], pred, sensitive_features=frame["SEX"].astype(str))
    assert acs_report.fairness["SEX"].demographic_parity_difference == pytest.approx(expected, abs=TOL)


def test_to_dict_is_strict_json(acs_report: EvaluationReport) -> None:
    data = acs_report.to_dict()
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["metrics"]["roc_auc"] == pytest.approx(acs_report.metrics["roc_auc"])
    assert back["worst_slices"][0]["name"] == acs_report.worst_slices[0].name
    assert "distribution" not in json.dumps(back["confidence_intervals"])
    assert back["passed"] is acs_report.passed


def test_render_html_is_self_contained_with_plotly_inlined_once(acs_report: EvaluationReport) -> None:
    from plotly.offline import get_plotlyjs

    page = render_html(acs_report)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count(get_plotlyjs()) == 1
    own = page.replace(get_plotlyjs(), "")
    assert not re.search(r"<script[^>]+src=", own), "no external scripts"
    assert "cdn" not in own and "http://" not in own and "https://" not in own
    for section in ("metrics", "gates", "classification", "slices", "fairness"):
        assert f'id="{section}"' in page
    assert page.count("Plotly.newPlot") >= 4 + 3 + 2  # classification, slice columns, fairness attributes
    assert render_html(acs_report) == page, "deterministic output"


def test_render_html_escapes_data_values() -> None:
    evil = "<img src=x onerror=alert(1)>"
    report = evaluate_classifier(
        [0, 1, 1, 0, 1, 0],
        [0.2, 0.9, 0.6, 0.4, 0.3, 0.1],
        n_bootstrap=0,
        slice_columns={"g": [evil, evil, "b", "b", "b", "b"]},
        name=evil,
        min_support=1,
    )
    page = render_html(report)
    assert evil not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_model_card_sections_and_failure_modes(acs_report: EvaluationReport) -> None:
    card = model_card(
        acs_report,
        model_name="employment",
        version="3",
        owners=["risk-team"],
        intended_use="Estimate employment for survey planning.",
        data="ACS 2015 sample",
    )
    for heading in (
        "# Model card: employment",
        "## Intended use",
        "## Data",
        "## Metrics",
        "## Slices",
        "## Fairness",
        "## Limitations and failure modes",
        "### Gates",
    ):
        assert heading in card
    assert "Estimate employment for survey planning." in card
    assert "Weaker on `" in card
    assert "95% bootstrap interval" in card
    assert "_Not provided._" in card  # ethical considerations were not given


def test_multiclass_report_on_diamonds_cut() -> None:
    frame = diamonds_sample()
    proba, classes = cut_proba(frame)
    y = frame["cut"].to_numpy()
    report = evaluate_classifier(y, proba, frame=frame, slice_columns=["color"], n_bootstrap=20, random_state=1)
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    assert report.task == "multiclass" and report.classes == classes
    assert report.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)
    assert report.metrics["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=TOL)
    assert report.metrics["log_loss"] == pytest.approx(skm.log_loss(y, y_proba=proba), abs=TOL)
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"), abs=TOL)
    assert report.metrics["brier"] == pytest.approx(skm.brier_score_loss(y, proba, labels=classes), abs=TOL)
    assert set(report.curves["roc"]) == set(classes)
    assert "<!DOCTYPE html>" in render_html(report)
    with pytest.raises(InvalidArgument, match="binary classifier"):
        evaluate_classifier(y, proba, sensitive={"color": frame["color"]}, n_bootstrap=0)


def test_label_only_report_on_adult() -> None:
    frame = adult_scored()
    report = evaluate_classifier(
        frame["income_per_year"],
        np.where(frame["predicted"] == 1, ">50K", "<=50K"),
        n_bootstrap=10,
        random_state=0,
        sensitive={"sex": frame["sex"]},
    )
    assert report.pos_label == ">50K"
    assert "roc_auc" not in report.metrics and not report.curves
    assert report.metrics["recall"] == pytest.approx(skm.recall_score(frame["label"], frame["predicted"]), abs=TOL)
    assert report.fairness["sex"].groups[0].group == "Female"


def test_regressor_report_on_diamonds() -> None:
    frame = diamonds_sample()
    y, pred = frame["price"].to_numpy(float), frame["price_pred"].to_numpy()
    report = evaluate_regressor(
        y,
        pred,
        frame=frame[["cut", "carat"]],
        n_bootstrap=30,
        random_state=0,
        gates=[{"metric": "r2", "op": ">", "value": 0.8}],
    )
    assert report.metrics["r2"] == pytest.approx(skm.r2_score(y, pred), abs=TOL)
    assert report.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred), rel=1e-12)
    assert report.residuals is not None and report.residuals.mean == pytest.approx((y - pred).mean())
    assert report.slice_metric == "mae" and report.worst_slices[0].value > report.metrics["mae"]
    assert sum(report.residual_histogram["counts"]) == y.size
    assert len(report.prediction_sample["actual"]) == min(y.size, 2000)
    assert report.gates[0].passed
    json.dumps(report.to_dict(), allow_nan=False)
    page = render_html(report)
    assert 'id="regression"' in page and page.count("Plotly.newPlot") >= 5
    assert "## Slices" in model_card(report)


def test_single_class_target_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="at least two classes") as info:
        evaluate_classifier([1, 1, 1], [0.9, 0.8, 0.7])
    assert info.value.field == "y_true"


def test_weighted_report_equals_weighted_sklearn_and_threads_change_nothing() -> None:
    frame = acs_sample().iloc[:2000]
    y, proba = frame["employed"].to_numpy(), frame["predicted_probability"].to_numpy()
    w = np.random.default_rng(3).uniform(0.1, 2.0, y.size)
    report = evaluate_classifier(y, proba, sample_weight=w, n_bootstrap=20, random_state=9)
    pred = (proba >= 0.5).astype(int)
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, sample_weight=w), abs=TOL)
    assert report.metrics["f1"] == pytest.approx(skm.f1_score(y, pred, sample_weight=w), abs=TOL)
    assert report.metrics["brier"] == pytest.approx(skm.brier_score_loss(y, proba, sample_weight=w), abs=TOL)
    assert report.settings["weighted"] is True
    threaded = evaluate_classifier(y, proba, sample_weight=w, n_bootstrap=20, random_state=9, n_jobs=2)
    assert threaded.confidence_intervals == report.confidence_intervals


def test_boolean_target_with_probabilities() -> None:
    frame = acs_sample().iloc[:500]
    y = frame["employed"].to_numpy() == 1
    report = evaluate_classifier(y, frame["predicted_probability"], n_bootstrap=0)
    assert report.pos_label is True
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, frame["predicted_probability"]), abs=TOL)
