"""Group fairness of a binary classifier's decisions, as fairlearn defines it.

For each sensitive attribute, rows are grouped by its values (numeric attributes with many
values are cut at quantiles, missing values form a group, see ``slices``), and per group:

* selection rate ``P(y_hat = 1 | A = a)``;
* true positive rate ``P(y_hat = 1 | Y = 1, A = a)`` and false positive rate
  ``P(y_hat = 1 | Y = 0, A = a)``.

Then, with the ``between_groups`` method of fairlearn:

* demographic parity difference = max - min selection rate, ratio = min / max (NaN when no
  group is ever selected);
* equal opportunity difference = max - min true positive rate;
* equalized odds difference = the larger of the TPR and FPR differences ("worst case").

As in fairlearn (which normalises scikit-learn's confusion matrix), a rate whose denominator is
empty in a group (no actual positives, say) counts as 0 for that group; the group's ``support``
tells you when that happened. Values agree with ``fairlearn.metrics`` to rounding.

Thresholds turn the numbers into checks: differences must not exceed their limit, the ratio
must reach its floor (0.8 is the "four-fifths rule").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steward.core.errors import InvalidArgument
from steward.evaluation._grouping import Grouping, frame_columns, group_column
from steward.evaluation._inputs import ClassificationInputs, PredictionKind, prepare_classification
from steward.evaluation._validation import FloatArray, check_positive_int, safe_div, weighted_bincount

__all__ = [
    "FairnessCheck",
    "FairnessResult",
    "FairnessThresholds",
    "GroupRates",
    "fairness_metrics",
    "fairness_report",
]


FAIRNESS_METRICS = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equal_opportunity_difference",
)


class FairnessThresholds(BaseModel):
    """Limits for the checks; ``None`` switches a check off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    demographic_parity_difference: float | None = Field(default=0.1, ge=0.0, le=1.0)
    demographic_parity_ratio: float | None = Field(default=0.8, ge=0.0, le=1.0)
    equalized_odds_difference: float | None = Field(default=0.1, ge=0.0, le=1.0)
    equal_opportunity_difference: float | None = Field(default=0.1, ge=0.0, le=1.0)


@dataclass(frozen=True)
class GroupRates:
    """Decision rates of one group of a sensitive attribute."""

    group: str
    support: int
    weight: float
    selection_rate: float
    true_positive_rate: float
    false_positive_rate: float
    accuracy: float
    included: bool = True


@dataclass(frozen=True)
class FairnessCheck:
    """One metric compared with its threshold."""

    metric: str
    value: float
    threshold: float
    op: str
    passed: bool


@dataclass(frozen=True)
class FairnessResult:
    """Per-group rates, the disparity metrics and their checks for one sensitive attribute."""

    attribute: str
    groups: list[GroupRates]
    demographic_parity_difference: float
    demographic_parity_ratio: float
    equalized_odds_difference: float
    equal_opportunity_difference: float
    checks: list[FairnessCheck]
    min_group_size: int = 1

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def metrics(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in FAIRNESS_METRICS}


def parse_thresholds(value: FairnessThresholds | Mapping[str, Any] | None) -> FairnessThresholds:
    if value is None:
        return FairnessThresholds()
    if isinstance(value, FairnessThresholds):
        return value
    try:
        return FairnessThresholds.model_validate(dict(value))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidArgument(
            f"The 'thresholds' parameter is invalid at {where!r}: {first['msg']}. Got {first.get('input')!r}.",
            field=f"thresholds.{where}",
        ) from exc


def _checks(result: Mapping[str, float], limits: FairnessThresholds) -> list[FairnessCheck]:
    checks = []
    for metric, limit in limits.model_dump().items():
        if limit is None:
            continue
        value = result[metric]
        is_ratio = metric.endswith("ratio")
        ok = bool(np.isfinite(value)) and (value >= limit if is_ratio else value <= limit)
        checks.append(
            FairnessCheck(metric=metric, value=value, threshold=float(limit), op=">=" if is_ratio else "<=", passed=ok)
        )
    return checks


def attribute_result(
    inputs: ClassificationInputs, grouping: Grouping, limits: FairnessThresholds, min_group_size: int = 1
) -> FairnessResult:
    """Fairness of already-validated binary decisions for one grouping.

    Groups with fewer than ``min_group_size`` rows are listed but left out of the disparity
    metrics (all metrics are NaN, and the checks fail, when no group is large enough).
    """
    check_positive_int(min_group_size, "min_group_size")
    if inputs.task != "binary":
        raise InvalidArgument(
            f"Fairness metrics need a binary classifier. Got {inputs.n_classes} classes.", field="y_true"
        )
    g, n = grouping.codes, grouping.n_groups
    w = inputs.weight
    actual, chosen = inputs.is_positive, inputs.pred_positive

    def total(mask: Any) -> FloatArray:
        return weighted_bincount(g, w * mask, n)

    weight = total(1.0)
    positives, negatives = total(actual), total(~actual)
    selection = safe_div(total(chosen), weight)
    tpr = safe_div(total(chosen & actual), positives)
    fpr = safe_div(total(chosen & ~actual), negatives)
    accuracy = safe_div(total(chosen == actual), weight)
    support = np.bincount(g, minlength=n)
    present = support > 0
    counted = support >= min_group_size
    values = _disparities(selection[counted], tpr[counted], fpr[counted])
    groups = [
        GroupRates(
            group=grouping.labels[i],
            support=int(support[i]),
            weight=float(weight[i]),
            selection_rate=float(selection[i]),
            true_positive_rate=float(tpr[i]),
            false_positive_rate=float(fpr[i]),
            accuracy=float(accuracy[i]),
            included=bool(counted[i]),
        )
        for i in np.flatnonzero(present).tolist()
    ]
    return FairnessResult(
        attribute=grouping.name,
        groups=groups,
        checks=_checks(values, limits),
        min_group_size=min_group_size,
        **values,
    )


def _disparities(selection: FloatArray, tpr: FloatArray, fpr: FloatArray) -> dict[str, float]:
    if selection.shape[0] == 0:
        return dict.fromkeys(FAIRNESS_METRICS, float("nan"))
    top = float(selection.max())
    return {
        "demographic_parity_difference": float(selection.max() - selection.min()),
        "demographic_parity_ratio": float(selection.min() / top) if top > 0 else float("nan"),
        "equalized_odds_difference": float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min())),
        "equal_opportunity_difference": float(tpr.max() - tpr.min()),
    }


def fairness_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sensitive: str | Sequence[str] | Mapping[str, ArrayLike] | pd.DataFrame,
    frame: pd.DataFrame | None = None,
    thresholds: FairnessThresholds | Mapping[str, Any] | None = None,
    prediction_kind: PredictionKind = "auto",
    threshold: float = 0.5,
    pos_label: Any = None,
    sample_weight: ArrayLike | None = None,
    n_bins: int | None = 4,
    min_group_size: int = 1,
) -> dict[str, FairnessResult]:
    """Fairness per sensitive attribute (column names of ``frame``, or a mapping of arrays).

    ``y_pred`` may be labels or positive-class probabilities (thresholded at ``threshold``).
    Numeric attributes with more than ``n_bins`` values are cut at quantiles (``None``: never).
    Groups smaller than ``min_group_size`` rows are reported but not compared (the default, 1,
    compares every group, as fairlearn does).

    >>> result = fairness_report([1, 0, 1, 0], [1, 0, 0, 0], sensitive={"sex": ["f", "f", "m", "m"]})
    >>> result["sex"].demographic_parity_difference, result["sex"].passed
    (0.5, False)
    """
    inputs = prepare_classification(
        y_true,
        y_pred,
        prediction_kind=prediction_kind,
        threshold=threshold,
        pos_label=pos_label,
        sample_weight=sample_weight,
    )
    limits = parse_thresholds(thresholds)
    found = frame_columns(frame, sensitive, int(inputs.y_true.shape[0]), "sensitive")
    if not found:
        raise InvalidArgument("The 'sensitive' parameter must name at least one attribute.", field="sensitive")
    return {
        name: attribute_result(
            inputs, group_column(series, name, n_bins=n_bins, field="sensitive"), limits, min_group_size
        )
        for name, series in found.items()
    }


def fairness_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    sensitive_features: ArrayLike,
    *,
    thresholds: FairnessThresholds | Mapping[str, Any] | None = None,
    pos_label: Any = None,
    sample_weight: ArrayLike | None = None,
    attribute: str = "sensitive",
) -> FairnessResult:
    """Fairness of label predictions for one attribute, each value its own group (as fairlearn)."""
    return fairness_report(
        y_true,
        y_pred,
        sensitive={attribute: sensitive_features},
        thresholds=thresholds,
        prediction_kind="label",
        pos_label=pos_label,
        sample_weight=sample_weight,
        n_bins=None,
    )[attribute]
