"""Which way is better for each metric Steward reports (used by slices and gates)."""

from __future__ import annotations

from typing import Literal

Direction = Literal["higher", "lower", "neutral"]

HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "specificity",
        "roc_auc",
        "average_precision",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "weighted_f1",
        "r2",
        "demographic_parity_ratio",
        "equalized_odds_ratio",
        "equal_opportunity_ratio",
    }
)
LOWER_IS_BETTER = frozenset(
    {
        "error_rate",
        "log_loss",
        "brier",
        "mse",
        "rmse",
        "mae",
        "mape",
        "smape",
        "false_positive_rate",
        "false_negative_rate",
        "expected_calibration_error",
        "maximum_calibration_error",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "equal_opportunity_difference",
    }
)


def direction(metric: str) -> Direction:
    """``higher``, ``lower`` or ``neutral`` (a deviation either way matters) for ``metric``.

    Qualified names such as ``fairness.sex.demographic_parity_difference`` use their last part.
    """
    base = metric.rsplit(".", 1)[-1]
    if base in HIGHER_IS_BETTER:
        return "higher"
    if base in LOWER_IS_BETTER:
        return "lower"
    return "neutral"


def shortfall(value: float, reference: float, metric: str) -> float:
    """How much worse ``value`` is than ``reference`` (positive = worse)."""
    way = direction(metric)
    if way == "higher":
        return reference - value
    if way == "lower":
        return value - reference
    return abs(value - reference)
