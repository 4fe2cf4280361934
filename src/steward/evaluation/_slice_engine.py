"""Metrics for many groups at once: one ``np.bincount`` per sufficient statistic.

Classification groups share one grouped confusion tensor; probability losses are grouped sums;
ROC AUC and average precision loop over groups but reuse one global sort. Regression groups are
grouped sums of per-row terms. A group's value equals the scikit-learn metric on its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from steward.core.errors import InvalidArgument
from steward.evaluation._classification import clipped_log_loss
from steward.evaluation._inputs import ClassificationInputs
from steward.evaluation._ranking import auc_presorted, average_precision_presorted
from steward.evaluation._validation import FloatArray, IntArray, safe_div, weighted_bincount
from steward.evaluation.regression import ape, sape

CONFUSION_METRICS = ("accuracy", "error_rate", "balanced_accuracy", "macro_f1")
BINARY_METRICS = ("precision", "recall", "f1", "selection_rate", "false_positive_rate", "false_negative_rate")
PROBABILITY_METRICS = ("log_loss", "brier")
RANKING_METRICS = ("roc_auc", "average_precision")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2", "mape", "smape", "mean_residual")


class GroupMetrics:
    """Computes named metrics for each group code of a classification or regression task."""

    def __init__(
        self,
        classification: ClassificationInputs | None = None,
        regression: tuple[FloatArray, FloatArray, FloatArray] | None = None,
    ) -> None:
        self.cls = classification
        self.reg = regression
        self._order: IntArray | None = None

    @property
    def n_rows(self) -> int:
        if self.cls is not None:
            return int(self.cls.y_true.shape[0])
        assert self.reg is not None
        return int(self.reg[0].shape[0])

    @property
    def weight(self) -> FloatArray:
        if self.cls is not None:
            return self.cls.weight
        assert self.reg is not None
        return self.reg[2]

    def available(self) -> tuple[str, ...]:
        if self.reg is not None:
            return REGRESSION_METRICS
        assert self.cls is not None
        names: tuple[str, ...] = CONFUSION_METRICS
        if self.cls.task == "binary":
            names += BINARY_METRICS
        if self.cls.proba is not None:
            names += PROBABILITY_METRICS
            if self.cls.task == "binary":
                names += RANKING_METRICS
        return names

    def default_metrics(self) -> tuple[str, ...]:
        if self.reg is not None:
            return ("mae", "rmse", "mean_residual")
        assert self.cls is not None
        if self.cls.task == "multiclass":
            return ("accuracy", "balanced_accuracy", "macro_f1")
        ranked = ("roc_auc",) if self.cls.proba is not None else ()
        return ("accuracy", "f1", "selection_rate", *ranked)

    def check(self, metrics: Sequence[str], field: str = "metrics") -> tuple[str, ...]:
        allowed = self.available()
        unknown = [m for m in metrics if m not in allowed]
        if unknown:
            raise InvalidArgument(
                f"The {field!r} parameter must name metrics available for this task {list(allowed)!r}. "
                f"Got {unknown!r}.",
                field=field,
            )
        return tuple(metrics)

    def compute(
        self, codes: IntArray, n_groups: int, metrics: Sequence[str], only: IntArray | None = None
    ) -> dict[str, FloatArray]:
        """Metric arrays of length ``n_groups``; ranking metrics only for groups in ``only``."""
        if self.reg is not None:
            return self._regression(codes, n_groups, metrics)
        return self._classification(codes, n_groups, metrics, only)

    def _regression(self, codes: IntArray, n_groups: int, metrics: Sequence[str]) -> dict[str, FloatArray]:
        assert self.reg is not None
        truth, pred, w = self.reg
        error = truth - pred
        weight = weighted_bincount(codes, w, n_groups)

        def mean(values: FloatArray) -> FloatArray:
            result: FloatArray = safe_div(weighted_bincount(codes, w * values, n_groups), weight, np.nan)
            return result

        out: dict[str, FloatArray] = {}
        for m in metrics:
            if m in ("mse", "rmse"):
                out[m] = mean(error**2) if m == "mse" else np.sqrt(mean(error**2))
            elif m == "r2":
                sse = weighted_bincount(codes, w * error**2, n_groups)
                sst = weighted_bincount(codes, w * (truth - mean(truth)[codes]) ** 2, n_groups)
                r2 = np.where(sst == 0, np.where(sse == 0, 1.0, 0.0), 1.0 - safe_div(sse, sst))
                out[m] = np.where(weight > 0, r2, np.nan)
            else:
                per_row = {"mae": np.abs(error), "mean_residual": error}.get(m)
                if per_row is None:
                    per_row = ape(truth, pred) if m == "mape" else sape(truth, pred)
                out[m] = mean(per_row)
        return out

    def _classification(
        self, codes: IntArray, n_groups: int, metrics: Sequence[str], only: IntArray | None
    ) -> dict[str, FloatArray]:
        cls = self.cls
        assert cls is not None
        k = cls.n_classes
        flat = (codes * k + cls.y_true) * k + cls.y_pred
        conf = weighted_bincount(flat, cls.weight, n_groups * k * k).reshape(n_groups, k, k)
        diag = np.diagonal(conf, axis1=1, axis2=2)
        support = conf.sum(axis=2)
        predicted = conf.sum(axis=1)
        total = support.sum(axis=1)
        out: dict[str, FloatArray] = {}
        for m in metrics:
            if m == "accuracy":
                out[m] = safe_div(diag.sum(axis=1), total, np.nan)
            elif m == "error_rate":
                out[m] = 1.0 - safe_div(diag.sum(axis=1), total, np.nan)
            elif m == "balanced_accuracy":
                present = support > 0
                out[m] = safe_div((safe_div(diag, support) * present).sum(axis=1), present.sum(axis=1), np.nan)
            elif m == "macro_f1":
                seen = (support + predicted) > 0
                f1 = safe_div(2 * diag, support + predicted)
                out[m] = safe_div((f1 * seen).sum(axis=1), seen.sum(axis=1), np.nan)
            elif m in BINARY_METRICS:
                out[m] = self._binary(m, conf, total)
            elif m in PROBABILITY_METRICS:
                out[m] = self._loss(m, codes, n_groups)
            else:
                out[m] = self._ranking(m, codes, n_groups, only)
        return out

    def _binary(self, metric: str, conf: FloatArray, total: FloatArray) -> FloatArray:
        assert self.cls is not None and self.cls.pos_index is not None
        p = self.cls.pos_index
        n = 1 - p
        tp, fp, fn, tn = conf[:, p, p], conf[:, n, p], conf[:, p, n], conf[:, n, n]
        if metric == "precision":
            return np.asarray(safe_div(tp, tp + fp))
        if metric == "recall":
            return np.asarray(safe_div(tp, tp + fn))
        if metric == "f1":
            return np.asarray(safe_div(2 * tp, 2 * tp + fp + fn))
        if metric == "selection_rate":
            return np.asarray(safe_div(tp + fp, total, np.nan))
        if metric == "false_positive_rate":
            return np.asarray(safe_div(fp, fp + tn))
        return np.asarray(safe_div(fn, fn + tp))

    def _loss(self, metric: str, codes: IntArray, n_groups: int) -> FloatArray:
        cls = self.cls
        assert cls is not None and cls.proba is not None
        rows = np.arange(cls.y_true.shape[0])
        if cls.proba.ndim == 2:
            onehot = np.zeros_like(cls.proba)
            onehot[rows, cls.y_true] = 1.0
            per_row = (
                clipped_log_loss(cls.proba[rows, cls.y_true])
                if metric == "log_loss"
                else ((onehot - cls.proba) ** 2).sum(axis=1)
            )
        else:
            positive = cls.is_positive
            per_row = (
                clipped_log_loss(np.where(positive, cls.proba, 1.0 - cls.proba))
                if metric == "log_loss"
                else (positive - cls.proba) ** 2
            )
        weight = weighted_bincount(codes, cls.weight, n_groups)
        return np.asarray(safe_div(weighted_bincount(codes, cls.weight * per_row, n_groups), weight, np.nan))

    def _ranking(self, metric: str, codes: IntArray, n_groups: int, only: IntArray | None) -> FloatArray:
        cls = self.cls
        assert cls is not None and cls.proba is not None and cls.proba.ndim == 1
        if self._order is None:
            self._order = np.argsort(cls.proba, kind="stable").astype(np.intp)
        # Small unsigned codes let NumPy's stable sort use radix sort, linear in the rows.
        small = codes.astype(np.uint16) if n_groups <= np.iinfo(np.uint16).max else codes
        by_group = self._order[np.argsort(small[self._order], kind="stable")]
        bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_groups))])
        fn = auc_presorted if metric == "roc_auc" else average_precision_presorted
        positive = cls.is_positive.astype(np.float64)
        out = np.full(n_groups, np.nan)
        for g in range(n_groups) if only is None else only.tolist():
            rows = by_group[bounds[g] : bounds[g + 1]]
            if rows.shape[0]:
                out[g] = fn(positive[rows], cls.proba[rows], cls.weight[rows])
        return out
