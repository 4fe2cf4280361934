"""Fairness metrics agree with fairlearn on Adult and ACS; thresholds turn them into checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from steward.core.errors import InvalidArgument
from steward.evaluation import fairness_metrics, fairness_report

from ._datasets import acs_sample, adult_scored

TOL = 1e-9


def _fairlearn(y: np.ndarray, pred: np.ndarray, groups: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    kw = {"sensitive_features": groups, "sample_weight": w}
    return {
        "demographic_parity_difference": demographic_parity_difference(y, pred, **kw),
        "demographic_parity_ratio": demographic_parity_ratio(y, pred, **kw),
        "equalized_odds_difference": equalized_odds_difference(y, pred, **kw),
        "equal_opportunity_difference": equal_opportunity_difference(y, pred, **kw),
    }


@pytest.mark.parametrize("attribute", ["sex", "race"])
@pytest.mark.parametrize("weighted", [False, True])
def test_adult_fairness_equals_fairlearn(attribute: str, weighted: bool) -> None:
    frame = adult_scored()
    y, pred = frame["label"].to_numpy(), frame["predicted"].to_numpy()
    groups = frame[attribute].to_numpy()
    w = np.random.default_rng(0).uniform(0.2, 3.0, y.size) if weighted else None
    result = fairness_metrics(y, pred, groups, sample_weight=w, attribute=attribute)
    for name, value in _fairlearn(y, pred, groups, w).items():
        assert result.metrics()[name] == pytest.approx(value, abs=TOL), name
    frame_by_group = MetricFrame(
        metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
        sample_params=None if w is None else {k: {"sample_weight": w} for k in ("selection_rate", "tpr", "fpr")},
    ).by_group
    for group in result.groups:
        row = frame_by_group.loc[group.group]
        assert group.selection_rate == pytest.approx(row["selection_rate"], abs=TOL)
        assert group.true_positive_rate == pytest.approx(row["tpr"], abs=TOL)
        assert group.false_positive_rate == pytest.approx(row["fpr"], abs=TOL)


def test_acs_fairness_from_probabilities_equals_fairlearn_on_thresholded_labels() -> None:
    frame = acs_sample()
    y, proba = frame["employed"].to_numpy(), frame["predicted_probability"].to_numpy()
    report = fairness_report(y, proba, sensitive=["SEX", "RAC1P"], frame=frame, threshold=0.6)
    pred = (proba >= 0.6).astype(int)
    for attribute in ("SEX", "RAC1P"):
        expected = _fairlearn(y, pred, frame[attribute].astype(str).to_numpy(), None)
        for name, value in expected.items():
            assert report[attribute].metrics()[name] == pytest.approx(value, abs=TOL), (attribute, name)


def test_min_group_size_equals_fairlearn_on_the_large_groups_only() -> None:
    frame = acs_sample()
    y, pred = frame["employed"].to_numpy(), frame["prediction"].to_numpy()
    groups = frame["RAC1P"].astype(str).to_numpy()
    report = fairness_report(y, pred, sensitive={"race": groups}, min_group_size=50)["race"]
    counts = pd.Series(groups).value_counts()
    large = np.isin(groups, counts[counts >= 50].index)
    assert not all(g.included for g in report.groups)
    for name, value in _fairlearn(y[large], pred[large], groups[large], None).items():
        assert report.metrics()[name] == pytest.approx(value, abs=TOL)


def test_thresholds_decide_each_check() -> None:
    y = [1, 1, 0, 0, 1, 1, 0, 0]
    pred = [1, 1, 1, 0, 1, 0, 0, 0]
    sex = ["f", "f", "f", "f", "m", "m", "m", "m"]
    result = fairness_metrics(
        y,
        pred,
        sex,
        thresholds={
            "demographic_parity_difference": 0.5,
            "demographic_parity_ratio": None,
            "equalized_odds_difference": 0.4,
            "equal_opportunity_difference": 0.6,
        },
    )
    # f selects 3/4, m 1/4: difference 0.5; TPR 1 vs 0.5; FPR 0.5 vs 0.
    assert result.demographic_parity_difference == pytest.approx(0.5)
    assert result.equal_opportunity_difference == pytest.approx(0.5)
    assert result.equalized_odds_difference == pytest.approx(0.5)
    checks = {c.metric: c.passed for c in result.checks}
    assert checks == {
        "demographic_parity_difference": True,
        "equalized_odds_difference": False,
        "equal_opportunity_difference": True,
    }
    assert not result.passed


def test_ratio_is_nan_and_fails_when_no_group_is_ever_selected() -> None:
    result = fairness_metrics([1, 0, 1, 0], [0, 0, 0, 0], ["a", "a", "b", "b"])
    assert np.isnan(result.demographic_parity_ratio)
    assert not {c.metric: c.passed for c in result.checks}["demographic_parity_ratio"]


def test_bad_fairness_input_raises() -> None:
    with pytest.raises(InvalidArgument, match="binary classifier"):
        fairness_metrics([0, 1, 2, 1], [0, 1, 2, 2], ["a", "a", "b", "b"])
    with pytest.raises(InvalidArgument) as info:
        fairness_metrics([0, 1], [0, 1], ["a", "b"], thresholds={"demographic_parity_difference": 2})
    assert info.value.field == "thresholds.demographic_parity_difference"
    with pytest.raises(InvalidArgument, match="only missing values"):
        fairness_metrics([0, 1], [0, 1], [None, None])
    with pytest.raises(InvalidArgument, match="no 'frame'"):
        fairness_report([0, 1], [0, 1], sensitive="sex")
