"""Pieces of an evaluation report: curves, calibration, per-class tables, residual plots data."""

from __future__ import annotations

from typing import Any

import numpy as np

from steward.evaluation._classification import ConfusionScores, confusion_counts
from steward.evaluation._inputs import ClassificationInputs
from steward.evaluation._ranking import SortedScores
from steward.evaluation._statistics import BinaryProbabilityStatistic
from steward.evaluation._validation import FloatArray, safe_div
from steward.evaluation.calibration import ReliabilityCurve, curve_from_outcomes
from steward.evaluation.metrics import confusion_frame

Series = dict[str, list[float]]
MAX_POINTS = 300
MAX_CURVE_CLASSES = 10


def _thin(*arrays: FloatArray, max_points: int = MAX_POINTS) -> list[list[float]]:
    size = arrays[0].shape[0]
    if size > max_points:
        keep = np.unique(np.round(np.linspace(0, size - 1, max_points)).astype(np.intp))
        arrays = tuple(a[keep] for a in arrays)
    return [a.tolist() for a in arrays]


def _curves(scores: SortedScores, weight: FloatArray) -> tuple[Series, Series]:
    cum = scores.cumulate(weight)
    thresholds, fps, tps = cum.curve_points()
    fpr = np.concatenate([[0.0], safe_div(fps, cum.total_neg)])
    tpr = np.concatenate([[0.0], safe_div(tps, cum.total_pos)])
    thr = np.concatenate([[1.0], thresholds])
    precision = np.concatenate([[1.0], safe_div(tps, tps + fps)])
    recall = np.concatenate([[0.0], safe_div(tps, cum.total_pos)])
    x, y, t = _thin(fpr, tpr, thr)
    r, p, t2 = _thin(recall, precision, thr)
    return {"x": x, "y": y, "threshold": t}, {"x": r, "y": p, "threshold": t2}


def ranking_curves(inputs: ClassificationInputs, statistic: Any) -> dict[str, dict[str, Series]]:
    """ROC and precision-recall curves: the positive class, or one-vs-rest per class."""
    roc: dict[str, Series] = {}
    pr: dict[str, Series] = {}
    if isinstance(statistic, BinaryProbabilityStatistic):
        assert inputs.pos_index is not None
        label = str(inputs.classes[inputs.pos_index])
        roc[label], pr[label] = _curves(statistic.scores, statistic.base_weight)
    elif inputs.proba is not None and inputs.proba.ndim == 2:
        for k in range(min(inputs.n_classes, MAX_CURVE_CLASSES)):
            truth = inputs.y_true == k
            if truth.any() and not truth.all():
                scores = SortedScores.build(truth, np.ascontiguousarray(inputs.proba[:, k]))
                label = str(inputs.classes[k])
                roc[label], pr[label] = _curves(scores, inputs.weight[scores.order])
    return {"roc": roc, "pr": pr} if roc else {}


def calibration_curves(inputs: ClassificationInputs, n_bins: int) -> dict[str, ReliabilityCurve]:
    """Uniform- and quantile-binned reliability curves (top-label for multiclass)."""
    if inputs.proba is None:
        return {}
    if inputs.proba.ndim == 1:
        outcome, prob = inputs.is_positive.astype(np.float64), inputs.proba
    else:
        outcome = (inputs.y_pred == inputs.y_true).astype(np.float64)
        prob = inputs.proba.max(axis=1)
    return {
        strategy: curve_from_outcomes(outcome, prob, inputs.weight, n_bins, strategy)
        for strategy in ("uniform", "quantile")
    }


def class_table(
    inputs: ClassificationInputs,
) -> tuple[FloatArray, dict[str, dict[str, float]], dict[str, float]]:
    """Confusion matrix, per-class scores, and macro / weighted averages."""
    matrix = confusion_counts(inputs.y_true, inputs.y_pred, inputs.n_classes, inputs.weight)
    scores = ConfusionScores.from_matrix(matrix)
    per_class = {
        str(label): {
            "precision": float(scores.precision[k]),
            "recall": float(scores.recall[k]),
            "f1": float(scores.f1[k]),
            "support": float(scores.support[k]),
        }
        for k, label in enumerate(inputs.classes.tolist())
    }
    macro, weighted = scores.macro(), scores.weighted()
    averages = {f"macro_{k}": v for k, v in macro.items()} | {f"weighted_{k}": v for k, v in weighted.items()}
    return matrix, per_class, averages


def threshold_records(statistic: Any, grid: FloatArray | None = None) -> list[dict[str, float]]:
    """Threshold table rows for a binary probability statistic (else empty)."""
    if not isinstance(statistic, BinaryProbabilityStatistic):
        return []
    points = np.round(np.linspace(0.05, 0.95, 19), 2) if grid is None else grid
    cum = statistic.scores.cumulate(statistic.base_weight)
    frame = confusion_frame(cum.confusion_at(statistic.scores.threshold_index(points)), points)
    records: list[dict[str, float]] = frame.to_dict("records")
    return records


def residual_plots(
    truth: FloatArray, pred: FloatArray, random_state: int | None, max_points: int = 2000
) -> tuple[Series, Series]:
    """Residual histogram and a reproducible sample of (actual, predicted, residual) points."""
    residual = truth - pred
    counts, edges = np.histogram(residual, bins=40)
    n = truth.shape[0]
    rows = (
        np.arange(n)
        if n <= max_points
        else np.sort(np.random.default_rng(random_state).choice(n, size=max_points, replace=False))
    )
    histogram = {"edges": edges.tolist(), "counts": counts.astype(np.float64).tolist()}
    sample = {
        "actual": truth[rows].tolist(),
        "predicted": pred[rows].tolist(),
        "residual": residual[rows].tolist(),
    }
    return histogram, sample
