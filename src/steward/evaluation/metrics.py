"""Classification metrics, computed with vectorised NumPy and equal to scikit-learn's.

Every function validates its input (empty, misaligned, missing or non-finite values raise
:class:`~steward.core.errors.InvalidArgument`) and accepts ``sample_weight``. Confusion counts
are one ``np.bincount``; ROC AUC and average precision sort the scores once (see
``_ranking``). Conventions, where scikit-learn would warn:

* precision, recall and F1 of a class that is never predicted (or never present) are 0
  (scikit-learn's ``zero_division=0``);
* balanced accuracy averages the recall of the classes present in ``y_true``;
* ROC AUC and average precision need both classes in ``y_true`` and raise otherwise;
* thresholds predict the positive class when ``score >= threshold``.

>>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
0.75
>>> round(roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
0.75
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from steward.core.errors import InvalidArgument
from steward.evaluation._classification import (
    ConfusionScores,
    EncodedLabels,
    check_columns,
    clipped_log_loss,
    confusion_counts,
    encode_labels,
    positive_class_probability,
)
from steward.evaluation._ranking import SortedScores
from steward.evaluation._validation import (
    FloatArray,
    as_1d,
    as_float_1d,
    as_float_2d,
    check_same_length,
    check_two_classes,
    resolve_pos_label,
    safe_div,
)
from steward.evaluation.regression import (
    mae,
    mape,
    mse,
    r2,
    regression_metrics,
    residual_summary,
    rmse,
    smape,
)

__all__ = [
    "ConfusionMatrix",
    "PrecisionRecallF1",
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "confusion_matrix",
    "log_loss",
    "mae",
    "mape",
    "mse",
    "precision_recall_curve",
    "precision_recall_f1",
    "r2",
    "regression_metrics",
    "residual_summary",
    "rmse",
    "roc_auc",
    "roc_curve",
    "smape",
    "threshold_table",
]


@dataclass(frozen=True)
class ConfusionMatrix:
    """Weighted counts; rows are true classes, columns predicted classes, both in ``labels`` order."""

    labels: tuple[Any, ...]
    matrix: FloatArray


@dataclass(frozen=True)
class PrecisionRecallF1:
    """Per-class scores (in ``labels`` order) with their macro and support-weighted means."""

    labels: tuple[Any, ...]
    precision: FloatArray
    recall: FloatArray
    f1: FloatArray
    support: FloatArray
    macro: dict[str, float]
    weighted: dict[str, float]


def _scores(
    y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None, sample_weight: ArrayLike | None
) -> tuple[EncodedLabels, FloatArray, ConfusionScores]:
    enc = encode_labels(y_true, y_pred, labels=labels, sample_weight=sample_weight)
    assert enc.y_pred is not None
    matrix = confusion_counts(enc.y_true, enc.y_pred, enc.n_classes, enc.weight)
    return enc, matrix, ConfusionScores.from_matrix(matrix)


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> ConfusionMatrix:
    """Confusion matrix over ``labels`` (default: the sorted union of observed labels).

    >>> confusion_matrix(["a", "b", "b"], ["a", "a", "b"]).matrix.tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    enc, matrix, _ = _scores(y_true, y_pred, labels, sample_weight)
    return ConfusionMatrix(labels=tuple(enc.classes.tolist()), matrix=matrix)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Weighted share of rows whose predicted label equals the true label."""
    return _scores(y_true, y_pred, None, sample_weight)[2].accuracy


def balanced_accuracy(y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: ArrayLike | None = None) -> float:
    """Mean recall over the classes present in ``y_true``."""
    return _scores(y_true, y_pred, None, sample_weight)[2].balanced_accuracy


def precision_recall_f1(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> PrecisionRecallF1:
    """Precision, recall and F1 per class, plus macro and weighted averages.

    >>> scores = precision_recall_f1([0, 1, 1, 1], [0, 1, 0, 1])
    >>> scores.f1.round(3).tolist(), round(scores.macro["f1"], 3)
    ([0.667, 0.8], 0.733)
    """
    enc, _, s = _scores(y_true, y_pred, labels, sample_weight)
    return PrecisionRecallF1(
        labels=tuple(enc.classes.tolist()),
        precision=s.precision,
        recall=s.recall,
        f1=s.f1,
        support=s.support,
        macro=s.macro(),
        weighted=s.weighted(),
    )


@dataclass(frozen=True)
class _Scored:
    enc: EncodedLabels
    score: FloatArray  # 1-D positive-class score, or 2-D one column per class
    pos_index: int


def _scored(
    y_true: ArrayLike,
    y_score: ArrayLike,
    pos_label: Any,
    labels: ArrayLike | None,
    sample_weight: ArrayLike | None,
    name: str = "y_score",
) -> _Scored:
    raw = np.asarray(y_score.to_numpy() if isinstance(y_score, pd.Series | pd.DataFrame) else y_score)
    score = as_float_1d(raw, name) if raw.ndim == 1 else as_float_2d(raw, name)
    enc = encode_labels(y_true, labels=labels, sample_weight=sample_weight)
    check_same_length(y_true=enc.y_true, **{name: score})
    if score.ndim == 2 and score.shape[1] > 2:
        check_columns(score, enc.classes, name)
        return _Scored(enc, score, -1)
    if enc.n_classes > 2:
        raise InvalidArgument(
            f"The {name!r} parameter is 1-D (binary) but y_true holds {enc.n_classes} classes "
            f"{enc.classes.tolist()!r}; pass one column per class.",
            field=name,
        )
    pos = resolve_pos_label(enc.classes, pos_label)
    return _Scored(enc, positive_class_probability(score, enc.n_classes, pos, name), pos)


def _binary_cumulative(truth: NDArray[np.bool_], score: FloatArray, weight: FloatArray) -> Any:
    keep = weight != 0
    if not keep.all():
        truth, score, weight = truth[keep], score[keep], weight[keep]
    check_two_classes(truth)
    prep = SortedScores.build(truth, score)
    return prep.cumulate(weight[prep.order])


def _per_class(s: _Scored, metric: Literal["roc_auc", "average_precision"], average: str) -> float:
    values, weights = [], []
    for k in range(s.enc.n_classes):
        truth = s.enc.y_true == k
        if not truth.any() or truth.all():
            raise InvalidArgument(
                f"The {metric} of class {s.enc.classes[k]!r} against the rest is undefined: y_true "
                f"{'lacks' if not truth.any() else 'holds only'} that class.",
                field="y_true",
            )
        cum = _binary_cumulative(truth, np.ascontiguousarray(s.score[:, k]), s.enc.weight)
        values.append(cum.roc_auc() if metric == "roc_auc" else cum.average_precision())
        weights.append(float(s.enc.weight[truth].sum()))
    if average == "weighted":
        return float(np.average(values, weights=weights))
    return float(np.mean(values))


def _check_average(average: str) -> None:
    if average not in ("macro", "weighted"):
        raise InvalidArgument(
            f"The 'average' parameter must be 'macro' or 'weighted'. Got {average!r} instead.",
            field="average",
        )


def roc_auc(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    average: Literal["macro", "weighted"] = "macro",
    sample_weight: ArrayLike | None = None,
) -> float:
    """Area under the ROC curve: binary for 1-D scores, one-vs-rest for one column per class.

    Raises ``InvalidArgument`` when ``y_true`` holds a single class (the AUC is undefined).
    """
    _check_average(average)
    s = _scored(y_true, y_score, pos_label, labels, sample_weight)
    if s.score.ndim == 2:
        return _per_class(s, "roc_auc", average)
    cum = _binary_cumulative(s.enc.y_true == s.pos_index, s.score, s.enc.weight)
    return float(cum.roc_auc())


def average_precision(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    average: Literal["macro", "weighted"] = "macro",
    sample_weight: ArrayLike | None = None,
) -> float:
    """Area under the precision-recall curve as scikit-learn's step-wise average precision."""
    _check_average(average)
    s = _scored(y_true, y_score, pos_label, labels, sample_weight)
    if s.score.ndim == 2:
        return _per_class(s, "average_precision", average)
    cum = _binary_cumulative(s.enc.y_true == s.pos_index, s.score, s.enc.weight)
    return float(cum.average_precision())


def log_loss(
    y_true: ArrayLike,
    y_proba: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> float:
    """Mean cross-entropy; probabilities are clipped to ``[eps, 1 - eps]`` and not renormalised."""
    s = _scored(y_true, y_proba, None, labels, sample_weight, name="y_proba")
    if s.enc.n_classes < 2:
        check_two_classes(s.enc.y_true)
    rows = np.arange(s.enc.y_true.shape[0])
    if s.score.ndim == 2:
        p_true = s.score[rows, s.enc.y_true]
    else:
        p_true = np.where(s.enc.y_true == s.pos_index, s.score, 1.0 - s.score)
    _check_probability_range(s.score, "y_proba")
    return float(np.average(clipped_log_loss(p_true), weights=s.enc.weight))


def _check_probability_range(values: FloatArray, name: str) -> None:
    if float(values.min()) < 0.0 or float(values.max()) > 1.0:
        raise InvalidArgument(
            f"The {name!r} parameter must hold probabilities in [0, 1]. "
            f"Got values in [{values.min():.6g}, {values.max():.6g}].",
            field=name,
        )


def roc_curve(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    pos_label: Any = None,
    sample_weight: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(fpr, tpr, thresholds)`` as scikit-learn's ``roc_curve(..., drop_intermediate=False)``."""
    s = _scored(y_true, y_score, pos_label, None, sample_weight)
    cum = _binary_cumulative(s.enc.y_true == s.pos_index, s.score, s.enc.weight)
    thresholds, fps, tps = cum.curve_points()
    fpr = np.concatenate([[0.0], fps / cum.total_neg])
    tpr = np.concatenate([[0.0], tps / cum.total_pos])
    return fpr, tpr, np.concatenate([[np.inf], thresholds])


def precision_recall_curve(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    pos_label: Any = None,
    sample_weight: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(precision, recall, thresholds)`` as scikit-learn's ``precision_recall_curve``."""
    s = _scored(y_true, y_score, pos_label, None, sample_weight)
    cum = _binary_cumulative(s.enc.y_true == s.pos_index, s.score, s.enc.weight)
    thresholds, fps, tps = cum.curve_points()
    precision = safe_div(tps, tps + fps)
    recall = tps / cum.total_pos
    return (
        np.concatenate([precision[::-1], [1.0]]),
        np.concatenate([recall[::-1], [0.0]]),
        thresholds[::-1].copy(),
    )


def threshold_table(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    thresholds: ArrayLike | None = None,
    pos_label: Any = None,
    sample_weight: ArrayLike | None = None,
) -> pd.DataFrame:
    """Confusion counts and rates at each threshold (default 0.05, 0.10, ..., 0.95).

    Rows predict the positive class when ``score >= threshold``; columns are ``threshold``,
    ``tp``, ``fp``, ``tn``, ``fn``, ``precision``, ``recall``, ``f1``, ``fpr``, ``specificity``,
    ``accuracy`` and ``selection_rate`` (weighted counts when ``sample_weight`` is given).
    """
    s = _scored(y_true, y_score, pos_label, None, sample_weight)
    if s.score.ndim == 2:
        raise InvalidArgument("The threshold table needs a binary problem.", field="y_score")
    grid = (
        np.round(np.linspace(0.05, 0.95, 19), 2)
        if thresholds is None
        else as_float_1d(as_1d(thresholds, "thresholds"), "thresholds")
    )
    prep = SortedScores.build(s.enc.y_true == s.pos_index, s.score)
    cum = prep.cumulate(s.enc.weight[prep.order])
    return confusion_frame(cum.confusion_at(prep.threshold_index(grid)), grid)


def confusion_frame(counts: tuple[FloatArray, ...], grid: FloatArray) -> pd.DataFrame:
    """Threshold table from ``(tn, fp, fn, tp)`` arrays."""
    tn, fp, fn, tp = counts
    total = tn + fp + fn + tp
    return pd.DataFrame(
        {
            "threshold": grid,
            "tp": tp,
            "fp": fp,
            "tn": tn,
            "fn": fn,
            "precision": safe_div(tp, tp + fp),
            "recall": safe_div(tp, tp + fn),
            "f1": safe_div(2 * tp, 2 * tp + fp + fn),
            "fpr": safe_div(fp, fp + tn),
            "specificity": safe_div(tn, fp + tn),
            "accuracy": safe_div(tp + tn, total),
            "selection_rate": safe_div(tp + fp, total),
        }
    )
