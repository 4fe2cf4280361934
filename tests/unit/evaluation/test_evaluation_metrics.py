"""Every metric equals scikit-learn's (to 1e-9) on real data: ACS employment, Adult, diamonds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from steward.core.errors import InvalidArgument
from steward.evaluation import (
    accuracy,
    average_precision,
    balanced_accuracy,
    confusion_matrix,
    log_loss,
    mae,
    mape,
    mse,
    precision_recall_curve,
    precision_recall_f1,
    r2,
    regression_metrics,
    residual_summary,
    rmse,
    roc_auc,
    roc_curve,
    smape,
    threshold_table,
)

from ._datasets import acs_sample, adult_scored, cut_proba, diamonds_sample

TOL = 1e-9


def _acs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = acs_sample()
    return frame["employed"].to_numpy(), frame["predicted_probability"].to_numpy(), frame["prediction"].to_numpy()


def _weights(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0.0, 3.0, n)


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_label_metrics_equal_sklearn_on_acs(weighted: bool) -> None:
    y, _, pred = _acs()
    w = _weights(y.size) if weighted else None
    assert accuracy(y, pred, sample_weight=w) == pytest.approx(skm.accuracy_score(y, pred, sample_weight=w), abs=TOL)
    assert balanced_accuracy(y, pred, sample_weight=w) == pytest.approx(
        skm.balanced_accuracy_score(y, pred, sample_weight=w), abs=TOL
    )
    scores = precision_recall_f1(y, pred, sample_weight=w)
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, sample_weight=w, zero_division=0)
    np.testing.assert_allclose(scores.precision, p, atol=TOL)
    np.testing.assert_allclose(scores.recall, r, atol=TOL)
    np.testing.assert_allclose(scores.f1, f, atol=TOL)
    np.testing.assert_allclose(scores.support, s if w is None else [w[y == 0].sum(), w[y == 1].sum()], atol=TOL)
    for average in ("macro", "weighted"):
        mine = scores.macro if average == "macro" else scores.weighted
        assert mine["f1"] == pytest.approx(skm.f1_score(y, pred, average=average, sample_weight=w), abs=TOL)
        assert mine["precision"] == pytest.approx(
            skm.precision_score(y, pred, average=average, sample_weight=w), abs=TOL
        )
        assert mine["recall"] == pytest.approx(skm.recall_score(y, pred, average=average, sample_weight=w), abs=TOL)
    np.testing.assert_allclose(
        confusion_matrix(y, pred, sample_weight=w).matrix, skm.confusion_matrix(y, pred, sample_weight=w), atol=TOL
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_score_metrics_equal_sklearn_on_acs(weighted: bool) -> None:
    y, proba, _ = _acs()
    w = _weights(y.size) if weighted else None
    assert roc_auc(y, proba, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, proba, sample_weight=w), abs=TOL)
    assert average_precision(y, proba, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, proba, sample_weight=w), abs=TOL
    )
    assert log_loss(y, proba, sample_weight=w) == pytest.approx(
        skm.log_loss(y, y_proba=proba, sample_weight=w), abs=TOL
    )


def test_ranking_metrics_equal_sklearn_with_heavy_ties_and_zero_weights() -> None:
    y, proba, _ = _acs()
    coarse = np.round(proba, 1)
    w = _weights(y.size)
    w[::5] = 0.0
    assert roc_auc(y, coarse, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, coarse, sample_weight=w), abs=TOL)
    assert average_precision(y, coarse, sample_weight=w) == pytest.approx(
        skm.average_precision_score(y, coarse, sample_weight=w), abs=TOL
    )


def test_string_labels_and_pos_label_on_adult() -> None:
    frame = adult_scored()
    y, proba = frame["income_per_year"].to_numpy(), frame["proba"].to_numpy()
    assert roc_auc(y, proba) == pytest.approx(skm.roc_auc_score(y == ">50K", proba), abs=TOL)
    assert roc_auc(y, 1 - proba, pos_label="<=50K") == pytest.approx(
        skm.roc_auc_score(y == "<=50K", 1 - proba), abs=TOL
    )
    assert average_precision(y, proba, pos_label=">50K") == pytest.approx(
        skm.average_precision_score(y, proba, pos_label=">50K"), abs=TOL
    )
    assert log_loss(y, proba) == pytest.approx(skm.log_loss(y, y_proba=proba), abs=TOL)


def test_curves_equal_sklearn() -> None:
    y, proba, _ = _acs()
    w = _weights(y.size)
    for mine, theirs in zip(
        roc_curve(y, proba, sample_weight=w),
        skm.roc_curve(y, proba, sample_weight=w, drop_intermediate=False),
        strict=True,
    ):
        np.testing.assert_allclose(mine, theirs, atol=TOL)
    for mine, theirs in zip(
        precision_recall_curve(y, proba, sample_weight=w),
        skm.precision_recall_curve(y, proba, sample_weight=w),
        strict=True,
    ):
        np.testing.assert_allclose(mine, theirs, atol=TOL)


def test_threshold_table_rows_equal_sklearn_at_each_threshold() -> None:
    y, proba, _ = _acs()
    table = threshold_table(y, proba, thresholds=[0.0, 0.3, 0.5, 0.5, 0.8, 1.0])
    for row in table.to_dict("records"):
        pred = (proba >= row["threshold"]).astype(int)
        tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert (row["tn"], row["fp"], row["fn"], row["tp"]) == (tn, fp, fn, tp)
        assert row["precision"] == pytest.approx(skm.precision_score(y, pred, zero_division=0), abs=TOL)
        assert row["recall"] == pytest.approx(skm.recall_score(y, pred), abs=TOL)
        assert row["f1"] == pytest.approx(skm.f1_score(y, pred, zero_division=0), abs=TOL)
        assert row["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=TOL)
        assert row["selection_rate"] == pytest.approx(pred.mean(), abs=TOL)
    assert len(threshold_table(y, proba)) == 19


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_metrics_equal_sklearn_on_diamonds_cut(average: str) -> None:
    frame = diamonds_sample()
    proba, classes = cut_proba(frame)
    y = frame["cut"].to_numpy()
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    w = _weights(y.size)
    assert roc_auc(y, proba, average=average) == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average=average), abs=TOL
    )
    assert roc_auc(y, proba, average=average, sample_weight=w) == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average=average, sample_weight=w), abs=TOL
    )
    assert average_precision(y, proba, average=average) == pytest.approx(
        skm.average_precision_score(y, proba, average=average)
        if average == "macro"
        else skm.average_precision_score(
            (y[:, None] == np.asarray(classes)[None, :]).astype(int), proba, average="weighted"
        ),
        abs=TOL,
    )
    assert log_loss(y, proba, sample_weight=w) == pytest.approx(
        skm.log_loss(y, y_proba=proba, sample_weight=w), abs=TOL
    )
    assert balanced_accuracy(y, pred, sample_weight=w) == pytest.approx(
        skm.balanced_accuracy_score(y, pred, sample_weight=w), abs=TOL
    )
    scores = precision_recall_f1(y, pred, sample_weight=w)
    assert scores.macro["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro", sample_weight=w), abs=TOL)
    assert scores.weighted["f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted", sample_weight=w), abs=TOL)


def test_labels_argument_keeps_classes_absent_from_both_arrays() -> None:
    y, pred = [0, 1, 1, 0], [0, 1, 0, 0]
    scores = precision_recall_f1(y, pred, labels=[0, 1, 2])
    _, _, f, _ = skm.precision_recall_fscore_support(y, pred, labels=[0, 1, 2], zero_division=0)
    np.testing.assert_allclose(scores.f1, f, atol=TOL)
    assert scores.macro["f1"] == pytest.approx(f.mean())
    assert confusion_matrix(y, pred, labels=[0, 1, 2]).matrix.shape == (3, 3)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_equal_sklearn_on_diamonds(weighted: bool) -> None:
    frame = diamonds_sample()
    y, pred = frame["price"].to_numpy(dtype=float), frame["price_pred"].to_numpy()
    w = _weights(y.size) if weighted else None
    expected = {
        "mse": skm.mean_squared_error(y, pred, sample_weight=w),
        "rmse": skm.root_mean_squared_error(y, pred, sample_weight=w),
        "mae": skm.mean_absolute_error(y, pred, sample_weight=w),
        "r2": skm.r2_score(y, pred, sample_weight=w),
        "mape": skm.mean_absolute_percentage_error(y, pred, sample_weight=w),
    }
    got = regression_metrics(y, pred, sample_weight=w)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=TOL), name
    assert mse(y, pred, sample_weight=w) == pytest.approx(expected["mse"], rel=1e-12)
    assert rmse(y, pred, sample_weight=w) == pytest.approx(expected["rmse"], rel=1e-12)
    assert mae(y, pred, sample_weight=w) == pytest.approx(expected["mae"], rel=1e-12)
    assert r2(y, pred, sample_weight=w) == pytest.approx(expected["r2"], abs=TOL)
    assert mape(y, pred, sample_weight=w) == pytest.approx(expected["mape"], abs=TOL)


def test_residual_summary_equals_scipy_moments() -> None:
    frame = diamonds_sample()
    y, pred = frame["price"].to_numpy(dtype=float), frame["price_pred"].to_numpy()
    residual = y - pred
    summary = residual_summary(y, pred)
    assert summary.mean == pytest.approx(residual.mean(), abs=TOL)
    assert summary.std == pytest.approx(residual.std(ddof=1), rel=1e-12)
    assert summary.skew == pytest.approx(stats.skew(residual), rel=1e-9)
    assert summary.kurtosis == pytest.approx(stats.kurtosis(residual), rel=1e-9)
    assert summary.median == pytest.approx(np.median(residual), abs=TOL)


def test_constant_residuals_have_nan_shape_without_warning() -> None:
    summary = residual_summary([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])
    assert summary.std == 0.0
    assert np.isnan(summary.skew) and np.isnan(summary.kurtosis)


def test_mape_survives_zero_targets_and_smape_stays_bounded() -> None:
    y, pred = np.array([0.0, 0.0, 2.0, 4.0]), np.array([0.0, 1.0, 2.0, 2.0])
    assert mape(y, pred) == pytest.approx(skm.mean_absolute_percentage_error(y, pred), rel=1e-12)
    assert np.isfinite(mape(y, pred))
    # 0/0 counts as a perfect hit; 0 vs 1 is the maximum of 2; 4 vs 2 is 2*2/6.
    assert smape(y, pred) == pytest.approx((0 + 2 + 0 + 2 / 3) / 4)
    assert 0.0 <= smape(y, pred) <= 2.0


def test_roc_auc_of_single_class_raises_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="at least two classes") as info:
        roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    assert info.value.field == "y_true"
    with pytest.raises(InvalidArgument, match="at least two classes"):
        average_precision([0, 0], [0.2, 0.5])


def test_ovr_auc_raises_when_a_class_is_absent_from_y_true() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    with pytest.raises(InvalidArgument, match="lacks that class"):
        roc_auc([0, 1, 0], proba, labels=[0, 1, 2])
