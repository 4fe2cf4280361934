"""Turn what a user passes to ``evaluate_classifier`` into encoded, validated arrays.

The second argument may be hard labels, the positive-class probability (1-D) or one column of
probabilities per class (2-D). ``prediction_kind="auto"`` decides: 2-D means probabilities; a
1-D float array is read as probabilities unless every value is one of the classes of ``y_true``
(then they are labels, e.g. ``0.0``/``1.0``). Pass ``"probability"`` or ``"label"`` to be explicit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from steward.core.errors import InvalidArgument
from steward.evaluation._classification import check_columns, encode_labels
from steward.evaluation._validation import (
    FloatArray,
    IntArray,
    as_float_1d,
    as_float_2d,
    check_in_range,
    check_labels,
    check_probabilities,
    check_same_length,
    check_sample_weight,
    encode,
    resolve_pos_label,
    unique_labels,
)

PredictionKind = Literal["auto", "probability", "label"]


@dataclass(frozen=True)
class ClassificationInputs:
    """Validated classification data: codes into ``classes``, probabilities, weights."""

    classes: NDArray[Any]
    y_true: IntArray
    y_pred: IntArray
    proba: FloatArray | None
    pos_index: int | None
    weight: FloatArray
    weighted: bool
    threshold: float | None

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @property
    def task(self) -> Literal["binary", "multiclass"]:
        return "binary" if self.n_classes == 2 else "multiclass"

    @property
    def is_positive(self) -> NDArray[np.bool_]:
        assert self.pos_index is not None
        return np.asarray(self.y_true == self.pos_index)

    @property
    def pred_positive(self) -> NDArray[np.bool_]:
        assert self.pos_index is not None
        return np.asarray(self.y_pred == self.pos_index)


def _array(values: ArrayLike) -> NDArray[Any]:
    if isinstance(values, pd.Series | pd.DataFrame | pd.Index):
        return np.asarray(values.to_numpy())
    return np.asarray(values)


def _looks_like_probability(raw: NDArray[Any], truth: NDArray[Any]) -> bool:
    if raw.ndim == 2:
        return True
    if raw.dtype.kind != "f":
        return False
    classes = np.unique(truth)
    if classes.dtype.kind not in "biuf":
        return True
    return not bool(np.isin(raw, classes).all())


def prepare_classification(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    prediction_kind: PredictionKind = "auto",
    threshold: float = 0.5,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
) -> ClassificationInputs:
    """Validate and encode; raise ``InvalidArgument`` naming the offending parameter."""
    truth = check_labels(y_true, "y_true")
    if y_pred is None:
        raise InvalidArgument("The 'y_pred' parameter is required. Got None instead.", field="y_pred")
    raw = _array(y_pred)
    if prediction_kind not in ("auto", "probability", "label"):
        raise InvalidArgument(
            "The 'prediction_kind' parameter must be 'auto', 'probability' or 'label'. "
            f"Got {prediction_kind!r} instead.",
            field="prediction_kind",
        )
    as_proba = prediction_kind == "probability" or (
        prediction_kind == "auto" and raw.size > 0 and _looks_like_probability(raw, truth)
    )
    if as_proba:
        return _from_probabilities(truth, raw, threshold, pos_label, labels, sample_weight)
    enc = encode_labels(truth, raw, labels=labels, sample_weight=sample_weight)
    assert enc.y_pred is not None
    _require_two_classes(enc.y_true, enc.classes)
    return ClassificationInputs(
        classes=enc.classes,
        y_true=enc.y_true,
        y_pred=enc.y_pred,
        proba=None,
        pos_index=resolve_pos_label(enc.classes, pos_label) if enc.n_classes == 2 else None,
        weight=enc.weight,
        weighted=sample_weight is not None,
        threshold=None,
    )


def _require_two_classes(codes: IntArray, classes: NDArray[Any]) -> None:
    present = np.unique(codes)
    if present.shape[0] < 2:
        raise InvalidArgument(
            "The 'y_true' parameter must contain at least two classes to evaluate a classifier "
            f"(ROC AUC, recall and balanced accuracy are undefined otherwise). Got only "
            f"{classes[present].tolist()!r}.",
            field="y_true",
        )


def _from_probabilities(
    truth: NDArray[Any],
    raw: NDArray[Any],
    threshold: float,
    pos_label: Any,
    labels: ArrayLike | None,
    sample_weight: ArrayLike | None,
) -> ClassificationInputs:
    proba = as_float_2d(raw, "y_pred") if raw.ndim == 2 else as_float_1d(raw, "y_pred")
    check_probabilities(proba, "y_pred")
    n = check_same_length(y_true=truth, y_pred=proba)
    classes = unique_labels(truth if labels is None else check_labels(labels, "labels"))
    codes = encode(truth, classes, "y_true")
    _require_two_classes(codes, classes)
    weight = check_sample_weight(sample_weight, n)
    if proba.ndim == 2 and proba.shape[1] > 2:
        check_columns(proba, classes, "y_pred")
        return ClassificationInputs(
            classes=classes,
            y_true=codes,
            y_pred=proba.argmax(axis=1).astype(np.intp),
            proba=proba,
            pos_index=None,
            weight=np.ones(n) if weight is None else weight,
            weighted=weight is not None,
            threshold=None,
        )
    if classes.shape[0] != 2:
        raise InvalidArgument(
            f"The 'y_pred' parameter holds one probability per row (binary) but y_true has "
            f"{classes.shape[0]} classes {classes.tolist()[:10]!r}; pass one column per class.",
            field="y_pred",
        )
    pos = resolve_pos_label(classes, pos_label)
    p = np.ascontiguousarray(proba[:, pos]) if proba.ndim == 2 else proba
    check_in_range(threshold, "threshold", 0.0, 1.0, inclusive=True)
    pred = np.where(p >= threshold, pos, 1 - pos).astype(np.intp)
    return ClassificationInputs(
        classes=classes,
        y_true=codes,
        y_pred=pred,
        proba=p,
        pos_index=pos,
        weight=np.ones(n) if weight is None else weight,
        weighted=weight is not None,
        threshold=float(threshold),
    )
