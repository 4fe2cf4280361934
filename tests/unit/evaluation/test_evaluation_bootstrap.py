"""Bootstrap intervals: each resample equals scikit-learn on the resampled rows; seeded; sane."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from steward.core.errors import InvalidArgument
from steward.evaluation import (
    bootstrap,
    bootstrap_classification,
    bootstrap_regression,
    resample_indices,
)

from ._datasets import acs_sample, diamonds_sample

TOL = 1e-9


def _acs(n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    frame = acs_sample().iloc[:n]
    return frame["employed"].to_numpy(), frame["predicted_probability"].to_numpy()


def test_each_classification_resample_equals_sklearn_on_the_resampled_rows() -> None:
    y, proba = _acs()
    result = bootstrap_classification(y, proba, n_resamples=5, random_state=11)
    for b, idx in enumerate(resample_indices(11, 5, y.size)):
        yb, pb = y[idx], proba[idx]
        pred = (pb >= 0.5).astype(int)
        dist = result.distribution
        assert dist["roc_auc"][b] == pytest.approx(skm.roc_auc_score(yb, pb), abs=TOL)
        assert dist["average_precision"][b] == pytest.approx(skm.average_precision_score(yb, pb), abs=TOL)
        assert dist["log_loss"][b] == pytest.approx(skm.log_loss(yb, y_proba=pb), abs=TOL)
        assert dist["brier"][b] == pytest.approx(skm.brier_score_loss(yb, pb), abs=TOL)
        assert dist["accuracy"][b] == pytest.approx(skm.accuracy_score(yb, pred), abs=TOL)
        assert dist["f1"][b] == pytest.approx(skm.f1_score(yb, pred), abs=TOL)
        assert dist["balanced_accuracy"][b] == pytest.approx(skm.balanced_accuracy_score(yb, pred), abs=TOL)


def test_label_and_regression_resamples_use_original_row_order() -> None:
    y, proba = _acs(800)
    pred = (proba >= 0.5).astype(int)
    labels = bootstrap_classification(y, pred, n_resamples=4, random_state=3)
    frame = diamonds_sample().iloc[:800]
    truth, guess = frame["price"].to_numpy(float), frame["price_pred"].to_numpy()
    reg = bootstrap_regression(truth, guess, n_resamples=4, random_state=3)
    for b, idx in enumerate(resample_indices(3, 4, 800)):
        assert labels.distribution["precision"][b] == pytest.approx(skm.precision_score(y[idx], pred[idx]), abs=TOL)
        assert reg.distribution["r2"][b] == pytest.approx(skm.r2_score(truth[idx], guess[idx]), abs=TOL)
        assert reg.distribution["mae"][b] == pytest.approx(skm.mean_absolute_error(truth[idx], guess[idx]), rel=1e-12)


def test_intervals_are_percentiles_around_the_full_data_estimate() -> None:
    y, proba = _acs()
    result = bootstrap_classification(y, proba, n_resamples=100, random_state=0, confidence_level=0.9)
    ci = result.intervals["roc_auc"]
    values = result.distribution["roc_auc"]
    assert ci.estimate == pytest.approx(skm.roc_auc_score(y, proba), abs=TOL)
    assert (ci.lower, ci.upper) == pytest.approx(tuple(np.quantile(values, [0.05, 0.95])))
    assert ci.lower < ci.estimate < ci.upper
    assert ci.n_resamples == ci.n_valid == 100
    assert ci.std_error == pytest.approx(values.std(ddof=1))


def test_same_seed_same_intervals_and_threads_do_not_change_them() -> None:
    y, proba = _acs()
    one = bootstrap_classification(y, proba, n_resamples=30, random_state=5)
    two = bootstrap_classification(y, proba, n_resamples=30, random_state=5, n_jobs=2)
    other = bootstrap_classification(y, proba, n_resamples=30, random_state=6)
    for name in one.distribution:
        np.testing.assert_array_equal(one.distribution[name], two.distribution[name])
    assert not np.array_equal(one.distribution["roc_auc"], other.distribution["roc_auc"])


def test_sample_weights_scale_resample_counts() -> None:
    y, proba = _acs(600)
    w = np.random.default_rng(1).uniform(0.5, 2.0, y.size)
    result = bootstrap_classification(y, proba, sample_weight=w, n_resamples=3, random_state=2)
    for b, idx in enumerate(resample_indices(2, 3, y.size)):
        expected = skm.roc_auc_score(y[idx], proba[idx], sample_weight=w[idx])
        assert result.distribution["roc_auc"][b] == pytest.approx(expected, abs=TOL)
    assert result.intervals["roc_auc"].estimate == pytest.approx(skm.roc_auc_score(y, proba, sample_weight=w), abs=TOL)


def test_generic_bootstrap_of_a_weighted_mean() -> None:
    values = np.arange(50, dtype=float)
    result = bootstrap(lambda w: {"mean": float(w @ values / w.sum())}, 50, n_resamples=200, random_state=0)
    ci = result.intervals["mean"]
    assert ci.estimate == pytest.approx(24.5)
    assert ci.lower < 24.5 < ci.upper


def test_undefined_resamples_are_counted_not_fatal() -> None:
    y = np.array([0] * 9 + [1])
    proba = np.linspace(0.1, 0.9, 10)
    result = bootstrap_classification(y, proba, n_resamples=50, random_state=0)
    ci = result.intervals["roc_auc"]
    assert ci.n_valid < ci.n_resamples  # some resamples miss the only positive row
    assert np.isfinite(ci.lower)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_resamples": 0}, "n_resamples"),
        ({"confidence_level": 1.0}, "confidence_level"),
        ({"random_state": 1.5}, "random_state"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_bootstrap_parameters_raise(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        bootstrap_regression([1.0, 2.0, 3.0], [1.0, 2.5, 2.0], **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
