"""Regression metrics, equal to scikit-learn's where it has them.

Percentage errors need care when targets are zero:

* :func:`mape` is scikit-learn's epsilon-guarded definition,
  ``mean(|y - y_hat| / max(|y|, eps))`` with ``eps`` the float64 machine epsilon. It never
  divides by zero, but a zero target with a non-zero error contributes a huge term (about
  ``4.5e15`` times the error), which is the honest answer to "percentage of zero".
* :func:`smape` is the symmetric version ``mean(2 |y - y_hat| / (|y| + |y_hat|))`` in
  ``[0, 2]``, with ``0 / 0 := 0`` (a zero predicted for a zero target is a perfect hit). It stays
  bounded with zeros and is the percentage error Steward reports by default.

Residuals are ``y_true - y_pred``. Their skew and excess kurtosis are the biased moment
estimators (``scipy.stats.skew`` / ``kurtosis`` defaults) and are NaN when residuals are constant.

>>> round(rmse([3.0, 5.0], [4.0, 5.0]), 4)
0.7071
>>> smape([0.0, 2.0], [0.0, 2.0])
0.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from steward.evaluation._validation import (
    FloatArray,
    as_float_1d,
    check_same_length,
    check_sample_weight,
    safe_div,
)

__all__ = [
    "ResidualSummary",
    "mae",
    "mape",
    "mse",
    "r2",
    "regression_metrics",
    "residual_summary",
    "rmse",
    "smape",
]


def _prepare(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    truth = as_float_1d(y_true, "y_true")
    pred = as_float_1d(y_pred, "y_pred")
    n = check_same_length(y_true=truth, y_pred=pred)
    weight = check_sample_weight(sample_weight, n)
    return truth, pred, np.ones(n) if weight is None else weight


def mse(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Mean squared error."""
    truth, pred, w = _prepare(y_true, y_pred, sample_weight)
    return float(np.average((truth - pred) ** 2, weights=w))


def rmse(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred, sample_weight=sample_weight)))


def mae(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Mean absolute error."""
    truth, pred, w = _prepare(y_true, y_pred, sample_weight)
    return float(np.average(np.abs(truth - pred), weights=w))


def r2(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Coefficient of determination; 1.0 for a perfect fit of a constant target, else 0.0 then."""
    truth, pred, w = _prepare(y_true, y_pred, sample_weight)
    return _r2(truth, pred, w)


def _r2(truth: FloatArray, pred: FloatArray, w: FloatArray) -> float:
    numerator = float(w @ (truth - pred) ** 2)
    denominator = float(w @ (truth - np.average(truth, weights=w)) ** 2)
    if denominator == 0.0:
        return 1.0 if numerator == 0.0 else 0.0
    return 1.0 - numerator / denominator


def ape(truth: FloatArray, pred: FloatArray) -> FloatArray:
    """Per-row epsilon-guarded absolute percentage error (scikit-learn's MAPE terms)."""
    return np.abs(truth - pred) / np.maximum(np.abs(truth), np.finfo(np.float64).eps)


def sape(truth: FloatArray, pred: FloatArray) -> FloatArray:
    """Per-row symmetric absolute percentage error in ``[0, 2]`` with ``0 / 0 := 0``."""
    result: FloatArray = safe_div(2.0 * np.abs(truth - pred), np.abs(truth) + np.abs(pred))
    return result


def mape(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Epsilon-guarded mean absolute percentage error (a fraction: 0.1 means 10%)."""
    truth, pred, w = _prepare(y_true, y_pred, sample_weight)
    return float(np.average(ape(truth, pred), weights=w))


def smape(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Symmetric mean absolute percentage error in ``[0, 2]``; zero targets are safe."""
    truth, pred, w = _prepare(y_true, y_pred, sample_weight)
    return float(np.average(sape(truth, pred), weights=w))


@dataclass(frozen=True)
class ResidualSummary:
    """Moments and quantiles of the residuals ``y_true - y_pred`` (unweighted)."""

    mean: float
    std: float
    skew: float
    kurtosis: float
    min: float
    q05: float
    median: float
    q95: float
    max: float


def residual_summary(y_true: ArrayLike, y_pred: ArrayLike) -> ResidualSummary:
    """Summarise residuals; ``std`` uses ``ddof=1`` (0 for a single row), kurtosis is excess.

    >>> residual_summary([1.0, 2.0, 3.0], [1.0, 2.0, 2.0]).mean.__round__(4)
    0.3333
    """
    truth, pred, _ = _prepare(y_true, y_pred, None)
    return summarise_residuals(truth - pred)


def summarise_residuals(residual: FloatArray) -> ResidualSummary:
    centred = residual - residual.mean()
    m2 = float(np.mean(centred**2))
    scale = float(np.sqrt(m2))
    # A constant residual has no shape; compare against its magnitude to ignore rounding noise.
    flat = scale <= 1e-14 * max(1.0, float(np.abs(residual).max()))
    skew = float("nan") if flat else float(np.mean(centred**3)) / m2**1.5
    kurt = float("nan") if flat else float(np.mean(centred**4)) / m2**2 - 3.0
    q05, median, q95 = np.quantile(residual, [0.05, 0.5, 0.95])
    return ResidualSummary(
        mean=float(residual.mean()),
        std=float(residual.std(ddof=1)) if residual.shape[0] > 1 else 0.0,
        skew=skew,
        kurtosis=kurt,
        min=float(residual.min()),
        q05=float(q05),
        median=float(median),
        q95=float(q95),
        max=float(residual.max()),
    )


def regression_metrics(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None
) -> dict[str, float]:
    """All headline regression metrics at once: mse, rmse, mae, r2, mape, smape, mean_residual."""
    truth, pred, w = _prepare(y_true, y_pred, sample_weight)
    error = truth - pred
    value = float(np.average(error**2, weights=w))
    return {
        "mse": value,
        "rmse": float(np.sqrt(value)),
        "mae": float(np.average(np.abs(error), weights=w)),
        "r2": _r2(truth, pred, w),
        "mape": float(np.average(ape(truth, pred), weights=w)),
        "smape": float(np.average(sape(truth, pred), weights=w)),
        "mean_residual": float(np.average(error, weights=w)),
    }
