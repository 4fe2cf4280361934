"""Label-free performance estimation for binary classifiers: confidence-based (NannyML's CBPE).

With calibrated scores ``p`` (the probability that the label is 1), a row predicted ``y_hat``
is correct with probability ``p`` if ``y_hat = 1`` and ``1 - p`` otherwise. Summing these
per-row probabilities gives the expected confusion matrix, hence expected accuracy, precision,
recall, F1 and specificity; sweeping the score as a threshold gives expected TPR/FPR curves and
the expected ROC AUC. Calibration (isotonic regression) is fitted on the labelled reference,
and used only if it lowers the expected calibration error in cross-validation (NannyML's
``needs_calibration``: 10 stratified 90/10 splits, 10 equal-count bins).

The estimate holds while the scores stay calibrated: no concept shift (``P(y | x)`` unchanged)
and no covariate shift into regions the reference did not cover.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> score = rng.random(5000)
    >>> y = (rng.random(5000) < score).astype(int)
    >>> cbpe = CBPE().fit(y, score)
    >>> est = cbpe.estimate(rng.random(5000))
    >>> round(est.accuracy, 2)
    0.75
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedShuffleSplit

from steward.core.errors import InvalidArgument
from steward.monitoring._validation import check_choice, check_float, check_int

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PerformanceEstimate:
    """Expected performance of one window (no labels needed)."""

    accuracy: float
    roc_auc: float
    precision: float
    recall: float
    f1: float
    specificity: float
    true_positives: float
    false_positives: float
    true_negatives: float
    false_negatives: float
    n: int


def expected_calibration_error(y_true: FloatArray, y_score: FloatArray, n_bins: int = 10) -> float:
    """ECE over equal-count bins of the sorted scores (NannyML's definition)."""
    order = np.argsort(y_score, kind="stable")
    s, t = y_score[order], y_true[order]
    n = s.size
    bins = max(2, min(n_bins, n // 2))
    width = n // bins
    edges = list(range(0, n + 1, width))
    edges[-1] = n
    return float(sum((b - a) / n * abs(s[a:b].mean() - t[a:b].mean()) for a, b in itertools.pairwise(edges) if b > a))


def expected_roc_auc(calibrated: FloatArray, y_score: FloatArray) -> float:
    """Expected ROC AUC: rows sorted by the model's score, expected TP/FP counts accumulated from
    the calibrated probabilities, one curve point per distinct score (ties move together)."""
    order = np.argsort(-y_score, kind="stable")
    s, p = y_score[order], calibrated[order]
    tps = np.cumsum(p)
    fps = np.cumsum(1.0 - p)
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tpr = np.r_[0.0, tps[last]] / tps[-1] if tps[-1] > 0 else np.zeros(last.size + 1)
    fpr = np.r_[0.0, fps[last]] / fps[-1] if fps[-1] > 0 else np.zeros(last.size + 1)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


class CBPE:
    """Confidence-based performance estimation for a binary classifier.

    Parameters:
        calibration: ``"auto"`` (calibrate if it lowers the cross-validated ECE), ``"always"``,
            or ``"never"``.
        threshold: decision threshold used to derive predictions when none are given.
        n_splits, n_bins: of the calibration check.
        random_state: seed of the calibration check's splits.
    """

    def __init__(
        self,
        *,
        calibration: str = "auto",
        threshold: float = 0.5,
        n_splits: int = 10,
        n_bins: int = 10,
        random_state: int | None = 42,
    ) -> None:
        self.calibration = calibration
        self.threshold = threshold
        self.n_splits = n_splits
        self.n_bins = n_bins
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {
            "calibration": self.calibration,
            "threshold": self.threshold,
            "n_splits": self.n_splits,
            "n_bins": self.n_bins,
            "random_state": self.random_state,
        }

    def fit(self, y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> Self:
        """Fit the calibrator on the labelled reference (if it helps)."""
        check_choice(self.calibration, name="calibration", owner="CBPE", choices={"auto", "always", "never"})
        check_float(self.threshold, name="threshold", owner="CBPE", low=0.0, high=1.0, high_open=True)
        check_int(self.n_splits, name="n_splits", owner="CBPE", low=2)
        check_int(self.n_bins, name="n_bins", owner="CBPE", low=2)
        t = np.asarray(y_true, dtype=np.float64).ravel()
        s = _scores(y_score)
        if t.size != s.size or not np.isin(t, (0.0, 1.0)).all() or np.unique(t).size != 2:
            raise InvalidArgument(
                "The 'y_true' parameter of CBPE.fit must hold both labels 0 and 1, one per score. "
                f"Got {np.unique(t)[:5].tolist()} for {s.size} scores instead.",
                field="y_true",
            )
        self.calibrated_ = self.calibration == "always" or (
            self.calibration == "auto" and self._needs_calibration(t, s)
        )
        self.calibrator_ = (
            IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, t) if self.calibrated_ else None
        )
        return self

    def calibrate(self, y_score: npt.ArrayLike) -> FloatArray:
        """Calibrated probabilities of the positive class."""
        s = _scores(y_score)
        if not hasattr(self, "calibrated_"):
            raise InvalidArgument("This CBPE is not fitted yet: call fit(y_true, y_score) first.", field="reference")
        if self.calibrator_ is None:
            return s
        return np.asarray(self.calibrator_.predict(s), dtype=np.float64)

    def estimate(self, y_score: npt.ArrayLike, y_pred: npt.ArrayLike | None = None) -> PerformanceEstimate:
        """Expected performance of a window from its scores (and predictions, if given)."""
        s = _scores(y_score)
        p = self.calibrate(s)
        pred = (s >= self.threshold) if y_pred is None else np.asarray(y_pred).ravel().astype(bool)
        if pred.size != s.size:
            raise InvalidArgument(
                f"CBPE.estimate needs one prediction per score. Got {pred.size} for {s.size} instead.",
                field="y_pred",
            )
        tp = float(p[pred].sum())
        fp = float((1.0 - p[pred]).sum())
        fn = float(p[~pred].sum())
        tn = float((1.0 - p[~pred]).sum())
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        return PerformanceEstimate(
            accuracy=(tp + tn) / s.size,
            roc_auc=expected_roc_auc(p, s),
            precision=precision,
            recall=recall,
            f1=2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0,
            specificity=tn / (tn + fp) if tn + fp > 0 else 0.0,
            true_positives=tp,
            false_positives=fp,
            true_negatives=tn,
            false_negatives=fn,
            n=int(s.size),
        )

    def _needs_calibration(self, t: FloatArray, s: FloatArray) -> bool:
        if np.std(s) == 0:
            return False
        splits = StratifiedShuffleSplit(n_splits=self.n_splits, test_size=0.1, random_state=self.random_state)
        truth, raw, calibrated = [], [], []
        for train, test in splits.split(s, t):
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s[train], t[train])
            truth.append(t[test])
            raw.append(s[test])
            calibrated.append(np.asarray(iso.predict(s[test]), dtype=np.float64))
        y, before, after = np.concatenate(truth), np.concatenate(raw), np.concatenate(calibrated)
        return expected_calibration_error(y, before, self.n_bins) > expected_calibration_error(y, after, self.n_bins)


def _scores(y_score: npt.ArrayLike) -> FloatArray:
    s = np.asarray(y_score, dtype=np.float64).ravel()
    if s.size == 0 or not np.isfinite(s).all():
        raise InvalidArgument(
            "The 'y_score' parameter of CBPE must be a non-empty array of finite scores. "
            f"Got {s.size} values, {int(np.count_nonzero(~np.isfinite(s)))} of them not finite, instead.",
            field="y_score",
        )
    return s
