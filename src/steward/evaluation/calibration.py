"""Calibration: reliability curves, expected calibration error, Brier score, learning curves.

Binning follows scikit-learn's ``calibration_curve`` exactly (``uniform``: equal-width bins on
[0, 1]; ``quantile``: edges at the quantiles of the predicted probabilities; a probability on an
inner edge falls in the lower bin), so ``fraction_positive`` and ``mean_predicted`` equal its
``prob_true`` and ``prob_pred``. Empty bins are dropped. Sample weights are supported.

The expected calibration error is ``sum_b (w_b / w) |fraction_positive_b - mean_predicted_b|``
over non-empty bins; for multiclass probabilities it is the top-label ECE (confidence = the
largest probability, outcome = whether that class was right).

>>> curve = reliability_curve([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9], n_bins=2)
>>> curve.fraction_positive.tolist(), curve.mean_predicted.tolist()
([0.0, 1.0], [0.2, 0.75])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from steward.core.errors import InvalidArgument, UserCodeError
from steward.evaluation._classification import binary_truth, check_columns
from steward.evaluation._validation import (
    FloatArray,
    IntArray,
    as_float_1d,
    as_float_2d,
    check_labels,
    check_positive_int,
    check_probabilities,
    check_same_length,
    check_sample_weight,
    encode,
    unique_labels,
    weighted_bincount,
)

__all__ = [
    "LearningCurve",
    "ReliabilityCurve",
    "brier_score",
    "expected_calibration_error",
    "learning_curve",
    "reliability_curve",
]


@dataclass(frozen=True)
class ReliabilityCurve:
    """Observed frequency against mean predicted probability, per non-empty bin."""

    strategy: str
    bin_edges: FloatArray
    bin_index: IntArray
    mean_predicted: FloatArray
    fraction_positive: FloatArray
    weight: FloatArray
    expected_calibration_error: float
    maximum_calibration_error: float


def _bins(prob: FloatArray, n_bins: int, strategy: str) -> FloatArray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        return np.percentile(prob, np.linspace(0, 1, n_bins + 1) * 100)
    raise InvalidArgument(
        f"The 'strategy' parameter must be 'uniform' or 'quantile'. Got {strategy!r} instead.",
        field="strategy",
    )


def curve_from_outcomes(
    outcome: FloatArray, prob: FloatArray, weight: FloatArray, n_bins: int, strategy: str
) -> ReliabilityCurve:
    """Reliability curve of 0/1 ``outcome`` against ``prob`` (validated arrays)."""
    edges = _bins(prob, n_bins, strategy)
    ids = np.searchsorted(edges[1:-1], prob)
    size = edges.shape[0]
    total = weighted_bincount(ids, weight, size)
    pred_sum = weighted_bincount(ids, weight * prob, size)
    true_sum = weighted_bincount(ids, weight * outcome, size)
    keep = np.flatnonzero(total > 0)
    frac = true_sum[keep] / total[keep]
    mean_pred = pred_sum[keep] / total[keep]
    gaps = np.abs(frac - mean_pred)
    return ReliabilityCurve(
        strategy=strategy,
        bin_edges=edges,
        bin_index=keep.astype(np.intp),
        mean_predicted=mean_pred,
        fraction_positive=frac,
        weight=total[keep],
        expected_calibration_error=float(gaps @ total[keep] / total[keep].sum()),
        maximum_calibration_error=float(gaps.max()),
    )


def _outcomes(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    pos_label: Any,
    labels: ArrayLike | None,
    sample_weight: ArrayLike | None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    truth = check_labels(y_true, "y_true")
    raw = np.asarray(y_prob.to_numpy() if isinstance(y_prob, pd.Series | pd.DataFrame) else y_prob)
    if raw.ndim == 2 and raw.shape[1] > 2:
        proba = check_probabilities(as_float_2d(raw, "y_prob"), "y_prob")
        n = check_same_length(y_true=truth, y_prob=proba)
        classes = unique_labels(truth if labels is None else check_labels(labels, "labels"))
        check_columns(proba, classes, "y_prob")
        codes = encode(truth, classes, "y_true")
        outcome = (proba.argmax(axis=1) == codes).astype(np.float64)
        prob = proba.max(axis=1)
    else:
        prob = check_probabilities(as_float_1d(raw[:, -1] if raw.ndim == 2 else raw, "y_prob"), "y_prob")
        n = check_same_length(y_true=truth, y_prob=prob)
        outcome = binary_truth(truth, pos_label).astype(np.float64)
    weight = check_sample_weight(sample_weight, n)
    return outcome, prob, np.ones(n) if weight is None else weight


def reliability_curve(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> ReliabilityCurve:
    """Reliability diagram data; binary probabilities, or top-label for one column per class."""
    check_positive_int(n_bins, "n_bins")
    outcome, prob, weight = _outcomes(y_true, y_prob, pos_label, labels, sample_weight)
    return curve_from_outcomes(outcome, prob, weight, n_bins, strategy)


def expected_calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> float:
    """Weighted mean gap between observed frequency and predicted probability over the bins."""
    return reliability_curve(
        y_true,
        y_prob,
        n_bins=n_bins,
        strategy=strategy,
        pos_label=pos_label,
        labels=labels,
        sample_weight=sample_weight,
    ).expected_calibration_error


def brier_score(
    y_true: ArrayLike,
    y_proba: ArrayLike,
    *,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> float:
    """Mean squared error of probabilities (binary), or of one-hot outcomes summed over classes.

    >>> round(brier_score([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]), 6)
    0.0375
    """
    truth = check_labels(y_true, "y_true")
    raw = np.asarray(y_proba.to_numpy() if isinstance(y_proba, pd.Series | pd.DataFrame) else y_proba)
    if raw.ndim == 2 and raw.shape[1] > 2:
        proba = check_probabilities(as_float_2d(raw, "y_proba"), "y_proba")
        n = check_same_length(y_true=truth, y_proba=proba)
        classes = unique_labels(truth if labels is None else check_labels(labels, "labels"))
        check_columns(proba, classes, "y_proba")
        onehot = np.zeros_like(proba)
        onehot[np.arange(n), encode(truth, classes, "y_true")] = 1.0
        per_row = ((onehot - proba) ** 2).sum(axis=1)
    else:
        prob = check_probabilities(as_float_1d(raw[:, -1] if raw.ndim == 2 else raw, "y_proba"), "y_proba")
        n = check_same_length(y_true=truth, y_proba=prob)
        per_row = (binary_truth(truth, pos_label) - prob) ** 2
    weight = check_sample_weight(sample_weight, n)
    return float(np.average(per_row, weights=weight))


@dataclass(frozen=True)
class LearningCurve:
    """Cross-validated train and validation scores for growing training sets."""

    train_sizes: list[int]
    train_mean: list[float]
    train_std: list[float]
    test_mean: list[float]
    test_std: list[float]
    scoring: str | None


def learning_curve(
    estimator: Any,
    X: Any,  # noqa: N803 - the name scikit-learn users know
    y: Any,
    *,
    train_sizes: Sequence[float] = (0.1, 0.325, 0.55, 0.775, 1.0),
    cv: int = 5,
    scoring: str | None = None,
    random_state: int | None = 0,
    n_jobs: int | None = None,
) -> LearningCurve:
    """Wrap :func:`sklearn.model_selection.learning_curve` (shuffled with ``random_state``).

    An estimator that raises becomes a ``UserCodeError`` for the step ``learning_curve``.
    """
    from sklearn.model_selection import learning_curve as sk_learning_curve

    check_positive_int(cv, "cv", minimum=2)
    try:
        sizes, train, test = sk_learning_curve(
            estimator,
            X,
            y,
            train_sizes=np.asarray(train_sizes),
            cv=cv,
            scoring=scoring,
            shuffle=True,
            random_state=random_state,
            n_jobs=n_jobs,
            error_score="raise",
        )
    except (InvalidArgument, UserCodeError):
        raise
    except Exception as exc:
        raise UserCodeError(step="learning_curve", cause=exc) from exc
    return LearningCurve(
        train_sizes=[int(s) for s in sizes],
        train_mean=train.mean(axis=1).tolist(),
        train_std=train.std(axis=1).tolist(),
        test_mean=test.mean(axis=1).tolist(),
        test_std=test.std(axis=1).tolist(),
        scoring=scoring,
    )
