"""Weighted ranking statistics over scores sorted once.

Sorting is the only super-linear step of ROC AUC and average precision. :class:`SortedScores`
sorts the scores once and remembers, for every positive row, where its group of tied scores
starts and ends. After that, ROC AUC, average precision and the confusion counts at any
threshold are a few cumulative sums and gathers for *any* row weights: the sample weights for
the point estimate, or bootstrap counts times sample weights for a resample. That is why the
bootstrap never re-sorts.

ROC AUC is the Mann-Whitney statistic with ties counted one half, which equals the trapezoidal
area under scikit-learn's ROC curve; average precision is scikit-learn's step-function
integral ``sum_k (R_k - R_{k-1}) P_k`` over distinct score thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from steward.evaluation._validation import FloatArray, IntArray, dot, safe_div, weighted_bincount


@dataclass(frozen=True)
class SortedScores:
    """Scores sorted ascending, with the tie structure the weighted statistics need.

    Positives are indexed ``0..P-1`` in score order; for each one, ``pos_before_group`` and
    ``pos_through_group`` count the positives before its tie group and up to the group's end,
    so that prefix sums over the positives alone answer every question about positive weight.
    """

    order: IntArray
    score: FloatArray
    positive: FloatArray
    pos_rows: IntArray
    pos_group_start: IntArray
    pos_group_end: IntArray
    pos_before_group: IntArray
    pos_through_group: IntArray
    group_start: IntArray
    positives_tied: bool

    @property
    def n(self) -> int:
        return int(self.score.shape[0])

    @classmethod
    def build(cls, is_positive: NDArray[np.bool_], score: FloatArray) -> SortedScores:
        order = np.argsort(score, kind="stable").astype(np.intp)
        sorted_score = score[order]
        positive = is_positive[order].astype(np.float64)
        new_group = _tie_starts(sorted_score)
        group_start = np.flatnonzero(new_group).astype(np.intp)
        group_end = np.append(group_start[1:], sorted_score.shape[0]).astype(np.intp)
        group_id = np.cumsum(new_group) - 1
        pos_rows = np.flatnonzero(positive).astype(np.intp)
        pos_group = group_id[pos_rows]
        starts, ends = group_start[pos_group], group_end[pos_group]
        return cls(
            order=order,
            score=sorted_score,
            positive=positive,
            pos_rows=pos_rows,
            pos_group_start=starts,
            pos_group_end=ends,
            pos_before_group=np.searchsorted(pos_rows, starts).astype(np.intp),
            pos_through_group=np.searchsorted(pos_rows, ends).astype(np.intp),
            group_start=group_start,
            positives_tied=bool(np.any(ends - starts > 1)),
        )

    def cumulate(self, weight: FloatArray) -> Cumulative:
        """Prefix sums of all weight and of the positives' weight; ``weight`` is in sorted order."""
        cum_all = np.zeros(self.n + 1)
        np.cumsum(weight, out=cum_all[1:])
        pos_weight = weight[self.pos_rows]
        cum_pos = np.zeros(pos_weight.shape[0] + 1)
        np.cumsum(pos_weight, out=cum_pos[1:])
        return Cumulative(self, pos_weight, cum_all, cum_pos)

    def threshold_index(self, thresholds: FloatArray) -> IntArray:
        """Number of rows scoring strictly below each threshold (rows >= t are predicted positive)."""
        return np.searchsorted(self.score, thresholds, side="left").astype(np.intp)


@dataclass(frozen=True)
class Cumulative:
    """Prefix sums for one weighting of a :class:`SortedScores`.

    ``cum_all[i]`` is the weight of the first ``i`` rows; ``cum_pos[j]`` the weight of the first
    ``j`` positives. Negative weight below a row is the difference of the two.
    """

    scores: SortedScores
    pos_weight: FloatArray
    cum_all: FloatArray
    cum_pos: FloatArray

    @property
    def total_pos(self) -> float:
        return float(self.cum_pos[-1])

    @property
    def total_neg(self) -> float:
        return float(self.cum_all[-1] - self.cum_pos[-1])

    def _pos_below(self, index: IntArray) -> FloatArray:
        """Positive weight in the rows before sorted positions ``index``."""
        result: FloatArray = self.cum_pos[np.searchsorted(self.scores.pos_rows, index)]
        return result

    def roc_auc(self) -> float:
        """Weighted Mann-Whitney AUC; NaN when one class has no weight."""
        return self.ranking()[0]

    def average_precision(self) -> float:
        """Weighted average precision; NaN when there is no positive weight."""
        return self.ranking()[1]

    def ranking(self) -> tuple[float, float]:
        """``(roc_auc, average_precision)``, sharing the gathers both need."""
        p, n = self.total_pos, self.total_neg
        if p <= 0.0:
            return float("nan"), float("nan")
        s = self.scores
        pos_below = self.cum_pos[s.pos_before_group]
        neg_below = self.cum_all[s.pos_group_start] - pos_below
        tps = p - pos_below
        precision = safe_div(tps, tps + (n - neg_below))
        average_precision = float(max(0.0, dot(self.pos_weight, precision) / p))
        if n <= 0.0:
            return float("nan"), average_precision
        below = neg_below
        if s.positives_tied:  # negatives tied with a positive count one half
            neg_through = self.cum_all[s.pos_group_end] - self.cum_pos[s.pos_through_group]
            below = 0.5 * (neg_below + neg_through)
        return float(dot(self.pos_weight, below) / (p * n)), average_precision

    def confusion_at(self, index: IntArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """``(tn, fp, fn, tp)`` when rows at sorted positions >= ``index`` are predicted positive."""
        fn = self._pos_below(index)
        tn = self.cum_all[index] - fn
        return tn, self.total_neg - tn, fn, self.total_pos - fn

    def curve_points(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(thresholds, fps, tps)`` at each distinct score, highest threshold first."""
        starts = self.scores.group_start[::-1]
        pos_below = self._pos_below(starts)
        tps = self.total_pos - pos_below
        fps = self.total_neg - (self.cum_all[starts] - pos_below)
        return self.scores.score[starts], fps, tps


def _tie_starts(sorted_score: FloatArray) -> NDArray[np.bool_]:
    """True where a run of tied values starts in a sorted, non-empty score."""
    new_group = np.empty(sorted_score.shape[0], dtype=bool)
    new_group[0] = True
    np.not_equal(sorted_score[1:], sorted_score[:-1], out=new_group[1:])
    return new_group


def auc_presorted(positive: FloatArray, score: FloatArray, weight: FloatArray) -> float:
    """ROC AUC of rows already sorted by ascending ``score`` (used per slice)."""
    if score.shape[0] == 0:
        return float("nan")
    group_id = np.cumsum(_tie_starts(score)) - 1
    pos_w = weighted_bincount(group_id, weight * positive, 0)
    neg_w = weighted_bincount(group_id, weight * (1.0 - positive), 0)
    p, n = float(pos_w.sum()), float(neg_w.sum())
    if p <= 0.0 or n <= 0.0:
        return float("nan")
    below = np.cumsum(neg_w) - neg_w
    return float(dot(pos_w, below + 0.5 * neg_w) / (p * n))


def average_precision_presorted(positive: FloatArray, score: FloatArray, weight: FloatArray) -> float:
    """Average precision of rows already sorted by ascending ``score`` (used per slice)."""
    if score.shape[0] == 0:
        return float("nan")
    group_id = np.cumsum(_tie_starts(score)) - 1
    pos_w = weighted_bincount(group_id, weight * positive, 0)[::-1]
    all_w = weighted_bincount(group_id, weight, 0)[::-1]
    p = float(pos_w.sum())
    if p <= 0.0:
        return float("nan")
    precision = safe_div(np.cumsum(pos_w), np.cumsum(all_w))
    return float(max(0.0, dot(pos_w, precision) / p))
