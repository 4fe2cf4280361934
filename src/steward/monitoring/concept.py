"""Concept drift once labels arrive: performance against the reference, and a test on the
shift of the error rate.

The test is the pooled two-proportion z-test (closed form, no statsmodels): with ``e_r`` errors
in ``n_r`` reference rows and ``e_c`` in ``n_c`` current rows,
``z = (e_c/n_c - e_r/n_r) / sqrt(P (1 - P) (1/n_r + 1/n_c))``, ``P = (e_r + e_c) / (n_r + n_c)``.
Its square is the Pearson chi-square of the 2x2 table (errors, correct) x (reference, current),
so the two-sided p-value equals ``scipy.stats.chi2_contingency(table, correction=False)``'s.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 4000)
    >>> good = np.where(rng.random(4000) < 0.9, y, 1 - y)
    >>> worse = np.where(rng.random(4000) < 0.8, y, 1 - y)
    >>> result = ConceptDrift().fit(y, good).score(y, worse)
    >>> result.drifted, round(result.error_rate_current - result.error_rate_reference, 1)
    (True, 0.1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn import metrics

from steward.core.errors import InvalidArgument
from steward.monitoring._stats import cohens_h, two_proportion_z_test
from steward.monitoring._validation import check_choice, check_float

__all__ = ["ConceptDrift", "ConceptDriftResult", "classification_metrics", "two_proportion_z_test"]


@dataclass(frozen=True)
class ConceptDriftResult:
    """Realised performance of both windows and the error-rate test."""

    metrics_reference: dict[str, float]
    metrics_current: dict[str, float]
    error_rate_reference: float
    error_rate_current: float
    statistic: float
    p_value: float
    effect_size: float
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int


def classification_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, y_score: npt.ArrayLike | None = None
) -> dict[str, float]:
    """Accuracy and error rate; for binary labels also precision, recall, F1 and (with scores)
    ROC AUC, all as scikit-learn computes them."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    out = {"accuracy": float(metrics.accuracy_score(t, p))}
    out["error_rate"] = 1.0 - out["accuracy"]
    labels = np.union1d(t, p)
    if labels.size <= 2 and set(labels.tolist()) <= {0, 1}:
        out["precision"] = float(metrics.precision_score(t, p, zero_division=0.0))
        out["recall"] = float(metrics.recall_score(t, p, zero_division=0.0))
        out["f1"] = float(metrics.f1_score(t, p, zero_division=0.0))
        if y_score is not None and np.unique(t).size == 2:
            out["roc_auc"] = float(metrics.roc_auc_score(t, np.asarray(y_score)))
    return out


class ConceptDrift:
    """Has the model's error rate moved since the reference? (labels needed on both sides)

    Parameters:
        threshold: significance level of the z-test (drift if ``p < threshold``).
        alternative: ``"two-sided"``, or ``"increase"`` to alarm only on a higher error rate.
    """

    def __init__(self, threshold: float = 0.05, alternative: str = "two-sided") -> None:
        self.threshold = threshold
        self.alternative = alternative

    def get_params(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "alternative": self.alternative}

    def fit(self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike, y_score: npt.ArrayLike | None = None) -> Self:
        """Realised performance on the labelled reference."""
        self._validate()
        t, p = _pair(y_true, y_pred, "reference")
        self.metrics_ = classification_metrics(t, p, y_score)
        self.n_ = int(t.size)
        self.n_errors_ = int(np.count_nonzero(t != p))
        return self

    def score(
        self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike, y_score: npt.ArrayLike | None = None
    ) -> ConceptDriftResult:
        """Compare the labelled current window with the reference."""
        if not hasattr(self, "n_"):
            raise InvalidArgument("This ConceptDrift is not fitted yet: call fit(...) first.", field="reference")
        t, p = _pair(y_true, y_pred, "current")
        n_errors = int(np.count_nonzero(t != p))
        z_ref_minus_cur, p_two = two_proportion_z_test(self.n_errors_, self.n_, n_errors, t.size)
        z = -z_ref_minus_cur
        p_value = p_two if self.alternative == "two-sided" else 0.5 * math.erfc(z / math.sqrt(2.0))
        rate_ref, rate_cur = self.n_errors_ / self.n_, n_errors / t.size
        return ConceptDriftResult(
            metrics_reference=self.metrics_,
            metrics_current=classification_metrics(t, p, y_score),
            error_rate_reference=rate_ref,
            error_rate_current=rate_cur,
            statistic=z,
            p_value=p_value,
            effect_size=cohens_h(rate_cur, rate_ref),
            threshold=float(self.threshold),
            drifted=p_value < self.threshold,
            n_reference=self.n_,
            n_current=int(t.size),
        )

    def _validate(self) -> None:
        check_float(self.threshold, name="threshold", owner="ConceptDrift", low=0.0, high=1.0, high_open=True)
        check_choice(self.alternative, name="alternative", owner="ConceptDrift", choices={"two-sided", "increase"})


def _pair(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, side: str) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if t.size == 0 or t.size != p.size:
        raise InvalidArgument(
            f"The {side} labels and predictions of ConceptDrift must be non-empty and of equal length. "
            f"Got {t.size} and {p.size} instead.",
            field="y_true",
        )
    return t, p
