"""Classification inputs: label encoding and confusion-matrix arithmetic.

Everything here works on integer class codes and a float weight per row, so that a
confusion matrix is one ``np.bincount`` and the same code serves point estimates (weights are
the sample weights), slices (one bincount over slice codes) and bootstrap resamples (weights
are resample counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from steward.core.errors import InvalidArgument
from steward.evaluation._validation import (
    FloatArray,
    IntArray,
    check_labels,
    check_same_length,
    check_sample_weight,
    encode,
    safe_div,
    unique_labels,
    weighted_bincount,
)


@dataclass(frozen=True)
class EncodedLabels:
    """True (and optionally predicted) labels as codes into ``classes``."""

    classes: NDArray[Any]
    y_true: IntArray
    y_pred: IntArray | None
    weight: FloatArray

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])


def encode_labels(
    y_true: ArrayLike,
    y_pred: ArrayLike | None = None,
    *,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> EncodedLabels:
    """Validate and encode labels; classes are ``labels`` or the sorted union of both arrays."""
    truth = check_labels(y_true, "y_true")
    pred = None if y_pred is None else check_labels(y_pred, "y_pred")
    n = check_same_length(y_true=truth, y_pred=pred)
    if labels is not None:
        classes = unique_labels(check_labels(labels, "labels"))
    else:
        classes = unique_labels(truth) if pred is None else unique_labels(truth, pred)
    weights = check_sample_weight(sample_weight, n)
    return EncodedLabels(
        classes=classes,
        y_true=encode(truth, classes, "y_true"),
        y_pred=None if pred is None else encode(pred, classes, "y_pred"),
        weight=np.ones(n) if weights is None else weights,
    )


def confusion_counts(y_true: IntArray, y_pred: IntArray, n_classes: int, weight: FloatArray) -> FloatArray:
    """Weighted ``n_classes x n_classes`` confusion matrix (rows true, columns predicted)."""
    flat = weighted_bincount(y_true * n_classes + y_pred, weight, n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


@dataclass(frozen=True)
class ConfusionScores:
    """Per-class precision, recall, F1 and support derived from a confusion matrix."""

    precision: FloatArray
    recall: FloatArray
    f1: FloatArray
    support: FloatArray
    accuracy: float
    balanced_accuracy: float

    @classmethod
    def from_matrix(cls, matrix: FloatArray) -> ConfusionScores:
        diag = np.diag(matrix)
        support = matrix.sum(axis=1)
        predicted = matrix.sum(axis=0)
        recall = safe_div(diag, support)
        present = support > 0
        total = float(support.sum())
        return cls(
            precision=safe_div(diag, predicted),
            recall=recall,
            f1=safe_div(2.0 * diag, support + predicted),
            support=support,
            accuracy=float(diag.sum() / total) if total > 0 else float("nan"),
            balanced_accuracy=float(recall[present].mean()) if present.any() else float("nan"),
        )

    def macro(self, present: NDArray[np.bool_] | None = None) -> dict[str, float]:
        """Unweighted mean over classes (``present`` restricts to classes seen in this data)."""
        keep = np.ones(self.support.shape[0], dtype=bool) if present is None else present
        if not keep.any():
            return {"precision": float("nan"), "recall": float("nan"), "f1": float("nan")}
        return {
            "precision": float(self.precision[keep].mean()),
            "recall": float(self.recall[keep].mean()),
            "f1": float(self.f1[keep].mean()),
        }

    def weighted(self) -> dict[str, float]:
        """Mean over classes weighted by their support (scikit-learn's ``average='weighted'``)."""
        total = float(self.support.sum())
        if total <= 0:
            return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        share = self.support / total
        return {
            "precision": float(share @ self.precision),
            "recall": float(share @ self.recall),
            "f1": float(share @ self.f1),
        }


def positive_class_probability(
    y_score: NDArray[np.float64], n_classes: int, pos_index: int, name: str = "y_score"
) -> NDArray[np.float64]:
    """The positive-class column of a binary problem's scores (1-D, or 2-D with two columns)."""
    if y_score.ndim == 1:
        return y_score
    if y_score.shape[1] != 2 or n_classes != 2:
        raise InvalidArgument(
            f"The {name!r} parameter must be 1-D or have two columns for a binary problem. "
            f"Got shape {y_score.shape} instead.",
            field=name,
        )
    return np.ascontiguousarray(y_score[:, pos_index])


def check_columns(y_score: NDArray[np.float64], classes: NDArray[Any], name: str) -> None:
    """A 2-D score matrix must have one column per class, in the order of ``classes``."""
    if y_score.shape[1] != classes.shape[0]:
        raise InvalidArgument(
            f"The {name!r} parameter must have one column per class ({classes.shape[0]}: "
            f"{classes.tolist()!r}); pass 'labels' when y_true lacks some classes. "
            f"Got {y_score.shape[1]} columns instead.",
            field=name,
        )


def clipped_log_loss(p_true_class: FloatArray) -> FloatArray:
    """Per-row cross-entropy with scikit-learn's clipping to ``[eps, 1 - eps]``."""
    eps = np.finfo(np.float64).eps
    return -np.log(np.clip(p_true_class, eps, 1.0 - eps))


def binary_truth(y_true: NDArray[Any], pos_label: Any, name: str = "y_true") -> NDArray[np.bool_]:
    """``y_true == positive class`` for a binary target, following scikit-learn's pos_label rule.

    With two classes the positive one is ``pos_label`` or the larger class. With a single class,
    ``pos_label`` is needed unless the labels are 0/1 or -1/1 (then 1 is positive).
    """
    classes = unique_labels(y_true)
    if classes.shape[0] > 2:
        raise InvalidArgument(
            f"The {name!r} parameter must be binary here. Got {classes.shape[0]} classes {classes.tolist()[:10]!r}.",
            field=name,
        )
    if pos_label is not None:
        return np.asarray(y_true == pos_label, dtype=bool)
    if classes.shape[0] == 2:
        return np.asarray(y_true == classes[1], dtype=bool)
    if classes.dtype.kind in "biuf" and set(classes.tolist()) <= {0, 1, -1}:
        return np.asarray(y_true == 1, dtype=bool)
    raise InvalidArgument(
        f"The 'pos_label' parameter is required when {name!r} holds the single class {classes.tolist()!r}.",
        field="pos_label",
    )
