"""Reliability curves, ECE and Brier score against scikit-learn; the learning-curve wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from steward.core.errors import InvalidArgument, UserCodeError
from steward.evaluation import (
    brier_score,
    expected_calibration_error,
    learning_curve,
    reliability_curve,
)

from ._datasets import ADULT_FEATURES, acs_sample, adult_scored, cut_proba, diamonds_sample

TOL = 1e-9


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_reliability_curve_equals_sklearn_calibration_curve(strategy: str, n_bins: int) -> None:
    frame = acs_sample()
    y, proba = frame["employed"].to_numpy(), frame["predicted_probability"].to_numpy()
    curve = reliability_curve(y, proba, n_bins=n_bins, strategy=strategy)  # type: ignore[arg-type]
    prob_true, prob_pred = calibration_curve(y, proba, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(curve.fraction_positive, prob_true, atol=TOL)
    np.testing.assert_allclose(curve.mean_predicted, prob_pred, atol=TOL)
    assert curve.weight.sum() == y.size


def test_expected_calibration_error_is_the_weighted_mean_gap() -> None:
    frame = adult_scored()
    y, proba = frame["label"].to_numpy(), frame["proba"].to_numpy()
    prob_true, prob_pred = calibration_curve(y, proba, n_bins=10)
    bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], proba)
    counts = np.bincount(bins, minlength=10)
    counts = counts[counts > 0]
    expected = float(np.sum(counts / y.size * np.abs(prob_true - prob_pred)))
    assert expected_calibration_error(y, proba) == pytest.approx(expected, abs=TOL)
    curve = reliability_curve(y, proba)
    assert curve.maximum_calibration_error == pytest.approx(np.abs(prob_true - prob_pred).max(), abs=TOL)


def test_perfectly_calibrated_bins_have_zero_error() -> None:
    y = np.array([0, 1, 0, 1, 1, 1, 0, 0])
    proba = np.array([0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 0.0, 0.0])
    assert expected_calibration_error(y, proba, n_bins=4) == pytest.approx(0.0)


def test_brier_score_equals_sklearn_binary_weighted_and_multiclass() -> None:
    frame = acs_sample()
    y, proba = frame["employed"].to_numpy(), frame["predicted_probability"].to_numpy()
    w = np.random.default_rng(0).uniform(0, 2, y.size)
    assert brier_score(y, proba) == pytest.approx(brier_score_loss(y, proba), abs=TOL)
    assert brier_score(y, proba, sample_weight=w) == pytest.approx(brier_score_loss(y, proba, sample_weight=w), abs=TOL)
    diamonds = diamonds_sample()
    cut, classes = cut_proba(diamonds)
    labels = diamonds["cut"].to_numpy()
    assert brier_score(labels, cut) == pytest.approx(brier_score_loss(labels, cut, labels=classes), abs=TOL)


def test_top_label_calibration_for_multiclass_probabilities() -> None:
    diamonds = diamonds_sample()
    cut, classes = cut_proba(diamonds)
    labels = diamonds["cut"].to_numpy()
    curve = reliability_curve(labels, cut, n_bins=5)
    correct = (np.asarray(classes)[cut.argmax(axis=1)] == labels).astype(int)
    prob_true, prob_pred = calibration_curve(correct, cut.max(axis=1), n_bins=5)
    np.testing.assert_allclose(curve.fraction_positive, prob_true, atol=TOL)
    np.testing.assert_allclose(curve.mean_predicted, prob_pred, atol=TOL)


def test_bad_calibration_arguments_raise() -> None:
    with pytest.raises(InvalidArgument, match="strategy"):
        reliability_curve([0, 1], [0.1, 0.9], strategy="log")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="probabilities in \\[0, 1\\]"):
        reliability_curve([0, 1], [0.1, 1.9])
    with pytest.raises(InvalidArgument, match="n_bins"):
        reliability_curve([0, 1], [0.1, 0.9], n_bins=0)
    with pytest.raises(InvalidArgument, match="pos_label"):
        brier_score(["yes", "yes"], [0.1, 0.9])


def test_learning_curve_wraps_sklearn_and_reports_means() -> None:
    frame = adult_scored().iloc[:600]
    curve = learning_curve(
        LogisticRegression(max_iter=500), frame[ADULT_FEATURES], frame["label"], train_sizes=(0.3, 1.0), cv=3
    )
    assert len(curve.train_sizes) == 2 and curve.train_sizes[0] < curve.train_sizes[1]
    assert all(0.5 < score <= 1.0 for score in curve.test_mean)


def test_learning_curve_turns_estimator_failure_into_user_code_error() -> None:
    class Broken(LogisticRegression):  # type: ignore[misc]
        def fit(self, X, y, sample_weight=None):  # type: ignore[no-untyped-def]  # noqa: N803
            raise RuntimeError("boom")

    frame = adult_scored().iloc[:200]
    with pytest.raises(UserCodeError) as info:
        learning_curve(Broken(), frame[ADULT_FEATURES], frame["label"], cv=2)
    assert info.value.step == "learning_curve"
