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
    """Scores sorted ascending, with the tie structure the weighted statistics need."""

    order: IntArray
    score: FloatArray
    positive: FloatArray
    pos_rows: IntArray
    pos_group_start: IntArray
    pos_group_end: IntArray
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
        new_group = np.empty(sorted_score.shape[0], dtype=bool)
        new_group[0] = True
        np.not_equal(sorted_score[1:], sorted_score[:-1], out=new_group[1:])
        group_start = np.flatnonzero(new_group).astype(np.intp)
        group_end = np.append(group_start[1:], sorted_score.shape[0]).astype(np.intp)
        group_id = np.cumsum(new_group) - 1
        pos_rows = np.flatnonzero(positive).astype(np.intp)
        pos_group = group_id[pos_rows]
        return cls(
            order=order,
            score=sorted_score,
            positive=positive,
            pos_rows=pos_rows,
            pos_group_start=group_start[pos_group],
            pos_group_end=group_end[pos_group],
            group_start=group_start,
            positives_tied=bool(np.any(group_end[pos_group] - group_start[pos_group] > 1)),
        )

    def cumulate(self, weight: FloatArray) -> Cumulative:
        """Prefix sums of positive and negative weight; ``weight`` is in sorted order."""
        pos_weight = weight * self.positive
        cum_pos = np.zeros(self.n + 1)
        cum_neg = np.zeros(self.n + 1)
        np.cumsum(pos_weight, out=cum_pos[1:])
        np.cumsum(weight - pos_weight, out=cum_neg[1:])
        return Cumulative(self, weight, cum_pos, cum_neg)

    def threshold_index(self, thresholds: FloatArray) -> IntArray:
        """Number of rows scoring strictly below each threshold (rows >= t are predicted positive)."""
        return np.searchsorted(self.score, thresholds, side="left").astype(np.intp)


@dataclass(frozen=True)
class Cumulative:
    """Prefix sums of weights for one weighting of a :class:`SortedScores`."""

    scores: SortedScores
    weight: FloatArray
    cum_pos: FloatArray
    cum_neg: FloatArray

    @property
    def total_pos(self) -> float:
        return float(self.cum_pos[-1])

    @property
    def total_neg(self) -> float:
        return float(self.cum_neg[-1])

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
        weight = self.weight[s.pos_rows]
        neg_below = self.cum_neg[s.pos_group_start]
        tps = p - self.cum_pos[s.pos_group_start]
        precision = safe_div(tps, tps + (n - neg_below))
        average_precision = float(max(0.0, dot(weight, precision) / p))
        if n <= 0.0:
            return float("nan"), average_precision
        # Without ties a positive's group holds only itself, so no negative ties with it.
        neg_tied = self.cum_neg[s.pos_group_end] - neg_below if s.positives_tied else None
        below = neg_below if neg_tied is None else neg_below + 0.5 * neg_tied
        return float(dot(weight, below) / (p * n)), average_precision

    def confusion_at(self, index: IntArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """``(tn, fp, fn, tp)`` when rows at sorted positions >= ``index`` are predicted positive."""
        fn = self.cum_pos[index]
        tn = self.cum_neg[index]
        return tn, self.total_neg - tn, fn, self.total_pos - fn

    def curve_points(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(thresholds, fps, tps)`` at each distinct score, highest threshold first."""
        starts = self.scores.group_start[::-1]
        tps = self.total_pos - self.cum_pos[starts]
        fps = self.total_neg - self.cum_neg[starts]
        return self.scores.score[starts], fps, tps


def auc_presorted(positive: FloatArray, score: FloatArray, weight: FloatArray) -> float:
    """ROC AUC of rows already sorted by ascending ``score`` (used per slice)."""
    if score.shape[0] == 0:
        return float("nan")
    new_group = np.empty(score.shape[0], dtype=bool)
    new_group[0] = True
    np.not_equal(score[1:], score[:-1], out=new_group[1:])
    group_id = np.cumsum(new_group) - 1
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
    new_group = np.empty(score.shape[0], dtype=bool)
    new_group[0] = True
    np.not_equal(score[1:], score[:-1], out=new_group[1:])
    group_id = np.cumsum(new_group) - 1
    pos_w = weighted_bincount(group_id, weight * positive, 0)[::-1]
    all_w = weighted_bincount(group_id, weight, 0)[::-1]
    p = float(pos_w.sum())
    if p <= 0.0:
        return float("nan")
    precision = safe_div(np.cumsum(pos_w), np.cumsum(all_w))
    return float(max(0.0, dot(pos_w, precision) / p))
