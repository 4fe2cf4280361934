"""Headline metrics as functions of a row-weight vector.

A statistic is built once from validated inputs (the expensive, data-dependent preparation:
sorting scores, per-row losses) and then called with a weight per row. The report calls it with
the sample weights for the point estimates; the bootstrap calls it with resample counts times
the sample weights. One code path for both means the intervals describe exactly the numbers
reported, and the point estimates are tested against scikit-learn.

Each statistic keeps rows in its own order (binary statistics sort by score);
``base_weight`` is the sample weight in that order, and resample weights may be drawn for those
positions directly, because bootstrap resampling does not care how rows are numbered.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from steward.evaluation._classification import ConfusionScores, clipped_log_loss
from steward.evaluation._inputs import ClassificationInputs
from steward.evaluation._ranking import SortedScores
from steward.evaluation._validation import FloatArray, weighted_bincount
from steward.evaluation.regression import ape, sape


class Statistic(Protocol):
    """Metrics of the data under a row weighting (``base_weight`` gives the point estimate)."""

    @property
    def base_weight(self) -> FloatArray: ...

    def __call__(self, weight: FloatArray) -> dict[str, float]: ...


def _binary_from_counts(tn: float, fp: float, fn: float, tp: float) -> dict[str, float]:
    pos, neg = tp + fn, tn + fp
    total = pos + neg
    recalls = [
        r for r, present in ((tp / pos if pos else 0.0, pos > 0), (tn / neg if neg else 0.0, neg > 0)) if present
    ]
    return {
        "accuracy": (tp + tn) / total if total else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else float("nan"),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / pos if pos else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "specificity": tn / neg if neg else 0.0,
        "selection_rate": (tp + fp) / total if total else float("nan"),
    }


class BinaryProbabilityStatistic:
    """Binary metrics from positive-class probabilities; rows kept sorted by probability."""

    def __init__(self, inputs: ClassificationInputs) -> None:
        assert inputs.proba is not None and inputs.proba.ndim == 1 and inputs.threshold is not None
        self.scores = SortedScores.build(inputs.is_positive, inputs.proba)
        order = self.scores.order
        p = inputs.proba[order]
        positive = self.scores.positive
        self._index = self.scores.threshold_index(np.array([inputs.threshold]))
        self._log_loss = clipped_log_loss(np.where(positive > 0, p, 1.0 - p))
        self._brier = (positive - p) ** 2
        self._base = inputs.weight[order]

    @property
    def base_weight(self) -> FloatArray:
        return self._base

    def __call__(self, weight: FloatArray) -> dict[str, float]:
        cum = self.scores.cumulate(weight)
        tn, fp, fn, tp = (float(v[0]) for v in cum.confusion_at(self._index))
        total = float(weight.sum())
        roc_auc, average_precision = cum.ranking()
        return {
            **_binary_from_counts(tn, fp, fn, tp),
            "roc_auc": roc_auc,
            "average_precision": average_precision,
            "log_loss": float(weight @ self._log_loss) / total,
            "brier": float(weight @ self._brier) / total,
        }


class LabelStatistic:
    """Confusion-matrix metrics from hard labels (binary or multiclass)."""

    def __init__(self, inputs: ClassificationInputs) -> None:
        self._k = inputs.n_classes
        self._flat = (inputs.y_true * self._k + inputs.y_pred).astype(np.intp)
        self._pos = inputs.pos_index if inputs.task == "binary" else None
        self._base = inputs.weight

    @property
    def base_weight(self) -> FloatArray:
        return self._base

    def __call__(self, weight: FloatArray) -> dict[str, float]:
        k = self._k
        matrix = weighted_bincount(self._flat, weight, k * k).reshape(k, k)
        if self._pos is not None:
            neg = 1 - self._pos
            return _binary_from_counts(
                float(matrix[neg, neg]),
                float(matrix[neg, self._pos]),
                float(matrix[self._pos, neg]),
                float(matrix[self._pos, self._pos]),
            )
        return multiclass_from_matrix(matrix)


def multiclass_from_matrix(matrix: FloatArray) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro/weighted F1 over the classes seen in this data."""
    scores = ConfusionScores.from_matrix(matrix)
    seen = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    macro = scores.macro(seen)
    return {
        "accuracy": scores.accuracy,
        "balanced_accuracy": scores.balanced_accuracy,
        "macro_precision": macro["precision"],
        "macro_recall": macro["recall"],
        "macro_f1": macro["f1"],
        "weighted_f1": scores.weighted()["f1"],
    }


class MulticlassProbabilityStatistic:
    """Multiclass metrics from one probability column per class (one-vs-rest macro ROC AUC)."""

    def __init__(self, inputs: ClassificationInputs, *, max_auc_classes: int = 20) -> None:
        assert inputs.proba is not None and inputs.proba.ndim == 2
        self._labels = LabelStatistic(inputs)
        rows = np.arange(inputs.y_true.shape[0])
        self._log_loss = clipped_log_loss(inputs.proba[rows, inputs.y_true])
        onehot = np.zeros_like(inputs.proba)
        onehot[rows, inputs.y_true] = 1.0
        self._brier = ((onehot - inputs.proba) ** 2).sum(axis=1)
        self._scores = (
            [
                SortedScores.build(inputs.y_true == k, np.ascontiguousarray(inputs.proba[:, k]))
                for k in range(inputs.n_classes)
            ]
            if inputs.n_classes <= max_auc_classes
            else []
        )
        self._base = inputs.weight

    @property
    def base_weight(self) -> FloatArray:
        return self._base

    def __call__(self, weight: FloatArray) -> dict[str, float]:
        total = float(weight.sum())
        result = self._labels(weight)
        result["log_loss"] = float(weight @ self._log_loss) / total
        result["brier"] = float(weight @ self._brier) / total
        if self._scores:
            aucs = [s.cumulate(weight[s.order]).roc_auc() for s in self._scores]
            result["roc_auc"] = float(np.mean(aucs))  # NaN when a class is absent from this data
        return result


class RegressionStatistic:
    """Regression metrics as weighted sums over per-row terms."""

    def __init__(self, y_true: FloatArray, y_pred: FloatArray, weight: FloatArray) -> None:
        self._truth = y_true
        self._error = y_true - y_pred
        self._sq = self._error**2
        self._abs = np.abs(self._error)
        self._ape = ape(y_true, y_pred)
        self._sape = sape(y_true, y_pred)
        self._base = weight

    @property
    def base_weight(self) -> FloatArray:
        return self._base

    def __call__(self, weight: FloatArray) -> dict[str, float]:
        total = float(weight.sum())
        sse = float(weight @ self._sq)
        mean_truth = float(weight @ self._truth) / total
        sst = float(weight @ (self._truth - mean_truth) ** 2)
        r2 = (1.0 if sse == 0.0 else 0.0) if sst == 0.0 else 1.0 - sse / sst
        return {
            "mse": sse / total,
            "rmse": float(np.sqrt(sse / total)),
            "mae": float(weight @ self._abs) / total,
            "r2": r2,
            "mape": float(weight @ self._ape) / total,
            "smape": float(weight @ self._sape) / total,
            "mean_residual": float(weight @ self._error) / total,
        }


def classification_statistic(inputs: ClassificationInputs) -> Statistic:
    """The statistic matching the kind of predictions in ``inputs``."""
    if inputs.proba is None:
        return LabelStatistic(inputs)
    if inputs.proba.ndim == 1:
        return BinaryProbabilityStatistic(inputs)
    return MulticlassProbabilityStatistic(inputs)
