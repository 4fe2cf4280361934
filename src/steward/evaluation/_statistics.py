"""Headline metrics as functions of a weight per *unit*.

A statistic is built once from validated inputs (the data-dependent preparation: sorting
scores, per-row losses) and then called with weights. Its units are what it sums over: rows,
or cells of rows that no metric can tell apart. Binary probabilities make one cell per distinct
``(score, class)``; hard labels one cell per ``(true, predicted)`` pair. A bootstrap resample
draws row indices, which :class:`Units` folds into weights per unit with one ``np.bincount``;
from there the work scales with the number of cells, not rows. The report calls the statistic
with ``base_weight`` (the sample weights per unit) for its point estimates, so intervals and
estimates come from one code path, and the estimates are tested against scikit-learn.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from steward.evaluation._classification import ConfusionScores, clipped_log_loss
from steward.evaluation._inputs import ClassificationInputs
from steward.evaluation._ranking import SortedScores
from steward.evaluation._validation import FloatArray, IntArray, dot, weighted_bincount
from steward.evaluation.regression import ape, sape


class Units:
    """Maps rows (as the caller numbers them) onto the units a statistic sums over."""

    def __init__(
        self,
        n_rows: int,
        row_unit: IntArray | None = None,
        n_units: int | None = None,
        row_weight: FloatArray | None = None,
    ) -> None:
        self.n_rows = n_rows
        self.row_unit = row_unit
        self.n_units = n_rows if n_units is None else n_units
        self.row_weight = row_weight

    def weigh(self, rows: IntArray) -> FloatArray:
        """Weight per unit of a sample of ``rows`` (with repeats): counts times sample weights."""
        # take(mode="clip") skips bounds checks (rows are in range) and releases the GIL.
        units = rows if self.row_unit is None else self.row_unit.take(rows, mode="clip")
        weights = None if self.row_weight is None else self.row_weight.take(rows, mode="clip")
        return weighted_bincount(units, weights, self.n_units)

    def base(self) -> FloatArray:
        """Weight per unit of the data itself."""
        if self.row_unit is None:
            return np.ones(self.n_rows) if self.row_weight is None else self.row_weight
        return weighted_bincount(self.row_unit, self.row_weight, self.n_units)


class Statistic(Protocol):
    """Named metrics of the data under a weighting of its units."""

    @property
    def units(self) -> Units: ...

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
    """Binary metrics from positive-class probabilities, over cells of equal (score, class)."""

    def __init__(self, inputs: ClassificationInputs) -> None:
        assert inputs.proba is not None and inputs.proba.ndim == 1 and inputs.threshold is not None
        score, positive = inputs.proba, inputs.is_positive
        order = np.lexsort((positive, score))
        sorted_score, sorted_positive = score[order], positive[order]
        new_cell = np.ones(order.shape[0], dtype=bool)
        new_cell[1:] = (sorted_score[1:] != sorted_score[:-1]) | (sorted_positive[1:] != sorted_positive[:-1])
        row_unit = np.empty(order.shape[0], dtype=np.intp)
        row_unit[order] = np.cumsum(new_cell) - 1
        cell_score, cell_positive = sorted_score[new_cell], sorted_positive[new_cell]
        self.scores = SortedScores.build(cell_positive, cell_score)
        self.units = Units(
            order.shape[0], row_unit, int(cell_score.shape[0]), inputs.weight if inputs.weighted else None
        )
        self._base = self.units.base()
        self._index = self.scores.threshold_index(np.array([inputs.threshold]))
        self._log_loss = clipped_log_loss(np.where(cell_positive, cell_score, 1.0 - cell_score))
        self._brier = (cell_positive - cell_score) ** 2

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
            "log_loss": dot(weight, self._log_loss) / total,
            "brier": dot(weight, self._brier) / total,
        }


class LabelStatistic:
    """Confusion-matrix metrics from hard labels, over cells of equal (true, predicted) labels."""

    def __init__(self, inputs: ClassificationInputs) -> None:
        self._k = k = inputs.n_classes
        cells = (inputs.y_true * k + inputs.y_pred).astype(np.intp)
        self.units = Units(cells.shape[0], cells, k * k, inputs.weight if inputs.weighted else None)
        self._pos = inputs.pos_index if inputs.task == "binary" else None
        self._base = self.units.base()

    @property
    def base_weight(self) -> FloatArray:
        return self._base

    def __call__(self, weight: FloatArray) -> dict[str, float]:
        matrix = weight.reshape(self._k, self._k)
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
        self._cells = self._labels.units.row_unit
        self._k2 = self._labels.units.n_units
        self.units = Units(inputs.y_true.shape[0], row_weight=inputs.weight if inputs.weighted else None)
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
        assert self._cells is not None
        result = self._labels(weighted_bincount(self._cells, weight, self._k2))
        result["log_loss"] = dot(weight, self._log_loss) / total
        result["brier"] = dot(weight, self._brier) / total
        if self._scores:
            aucs = [s.cumulate(weight[s.order]).roc_auc() for s in self._scores]
            result["roc_auc"] = float(np.mean(aucs))  # NaN when a class is absent from this data
        return result


class RegressionStatistic:
    """Regression metrics as weighted sums over per-row terms."""

    def __init__(self, y_true: FloatArray, y_pred: FloatArray, weight: FloatArray | None) -> None:
        self.units = Units(y_true.shape[0], row_weight=weight)
        self._truth = y_true
        self._error = y_true - y_pred
        self._sq = self._error**2
        self._abs = np.abs(self._error)
        self._ape = ape(y_true, y_pred)
        self._sape = sape(y_true, y_pred)
        self._base = self.units.base()

    @property
    def base_weight(self) -> FloatArray:
        return self._base

    def __call__(self, weight: FloatArray) -> dict[str, float]:
        total = float(weight.sum())
        sse = dot(weight, self._sq)
        mean_truth = dot(weight, self._truth) / total
        sst = dot(weight, (self._truth - mean_truth) ** 2)
        r2 = (1.0 if sse == 0.0 else 0.0) if sst == 0.0 else 1.0 - sse / sst
        return {
            "mse": sse / total,
            "rmse": float(np.sqrt(sse / total)),
            "mae": dot(weight, self._abs) / total,
            "r2": r2,
            "mape": dot(weight, self._ape) / total,
            "smape": dot(weight, self._sape) / total,
            "mean_residual": dot(weight, self._error) / total,
        }


def classification_statistic(inputs: ClassificationInputs) -> Statistic:
    """The statistic matching the kind of predictions in ``inputs``."""
    if inputs.proba is None:
        return LabelStatistic(inputs)
    if inputs.proba.ndim == 1:
        return BinaryProbabilityStatistic(inputs)
    return MulticlassProbabilityStatistic(inputs)
