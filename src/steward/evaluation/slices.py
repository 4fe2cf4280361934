"""Metrics per slice of the data, and a search for the slices where the model does worst.

A slice is the set of rows sharing a value of one column (or a pair of columns). Numeric
columns with more than ``n_bins`` distinct values are cut at their quantiles; missing values
form their own slice. A slice's metric equals the scikit-learn metric computed on its rows.

:func:`find_worst_slices` scores every single column and every pair of columns, keeps slices
with at least ``min_support`` rows, and ranks them by their *gap*: how much worse the slice is
than the whole data (``overall - value`` for metrics where higher is better, ``value - overall``
where lower is better, ``|value - overall|`` for neutral ones such as the selection rate).

>>> import pandas as pd
>>> frame = pd.DataFrame({"region": ["n", "n", "s", "s", "s", "s"]})
>>> worst = find_worst_slices([1, 0, 1, 0, 1, 1], [1, 0, 0, 1, 1, 1], frame=frame, min_support=2)
>>> worst[0].name, worst[0].value, round(worst[0].gap, 3)
('region=s', 0.5, 0.167)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from steward.core.errors import InvalidArgument
from steward.evaluation._directions import shortfall
from steward.evaluation._grouping import Grouping, combine, frame_columns, group_column
from steward.evaluation._inputs import PredictionKind, prepare_classification
from steward.evaluation._slice_engine import GroupMetrics
from steward.evaluation._validation import (
    as_float_1d,
    check_positive_int,
    check_same_length,
    check_sample_weight,
    weighted_bincount,
)

__all__ = ["SliceMetrics", "WorstSlice", "find_worst_slices", "slice_metrics"]

Columns: TypeAlias = str | Sequence[str] | Mapping[str, ArrayLike] | pd.DataFrame


@dataclass(frozen=True)
class SliceMetrics:
    """Metrics of the rows where ``columns`` take ``values``."""

    columns: tuple[str, ...]
    values: tuple[str, ...]
    support: int
    weight: float
    metrics: dict[str, float]

    @property
    def name(self) -> str:
        return " & ".join(f"{c}={v}" for c, v in zip(self.columns, self.values, strict=True))


@dataclass(frozen=True)
class WorstSlice:
    """A slice, its value of ``metric``, the overall value, and how much worse it is (``gap``)."""

    columns: tuple[str, ...]
    values: tuple[str, ...]
    support: int
    metric: str
    value: float
    overall: float
    gap: float

    @property
    def name(self) -> str:
        return " & ".join(f"{c}={v}" for c, v in zip(self.columns, self.values, strict=True))


def build_engine(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    task: Literal["classification", "regression"],
    prediction_kind: PredictionKind,
    threshold: float,
    pos_label: Any,
    labels: ArrayLike | None,
    sample_weight: ArrayLike | None,
) -> GroupMetrics:
    if task == "regression":
        truth, pred = as_float_1d(y_true, "y_true"), as_float_1d(y_pred, "y_pred")
        n = check_same_length(y_true=truth, y_pred=pred)
        weight = check_sample_weight(sample_weight, n)
        return GroupMetrics(regression=(truth, pred, np.ones(n) if weight is None else weight))
    if task != "classification":
        raise InvalidArgument(
            f"The 'task' parameter must be 'classification' or 'regression'. Got {task!r} instead.",
            field="task",
        )
    return GroupMetrics(
        classification=prepare_classification(
            y_true,
            y_pred,
            prediction_kind=prediction_kind,
            threshold=threshold,
            pos_label=pos_label,
            labels=labels,
            sample_weight=sample_weight,
        )
    )


def groupings(engine: GroupMetrics, frame: pd.DataFrame | None, columns: Any, n_bins: int) -> list[Grouping]:
    check_positive_int(n_bins, "n_bins", minimum=2)
    found = frame_columns(frame, columns, engine.n_rows, "columns")
    if not found:
        raise InvalidArgument("The 'columns' parameter must name at least one column.", field="columns")
    return [group_column(series, name, n_bins=n_bins, field="columns") for name, series in found.items()]


def table(engine: GroupMetrics, groups: Sequence[Grouping], metrics: Sequence[str]) -> list[SliceMetrics]:
    """Metrics for every value of every grouping (one row per slice)."""
    rows: list[SliceMetrics] = []
    for g in groups:
        values = engine.compute(g.codes, g.n_groups, metrics)
        support = np.bincount(g.codes, minlength=g.n_groups)
        weight = weighted_bincount(g.codes, engine.weight, g.n_groups)
        for code, label in enumerate(g.labels):
            if support[code]:
                rows.append(
                    SliceMetrics(
                        columns=(g.name,),
                        values=(label,),
                        support=int(support[code]),
                        weight=float(weight[code]),
                        metrics={m: float(values[m][code]) for m in metrics},
                    )
                )
    return rows


def slice_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    columns: Columns,
    frame: pd.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    task: Literal["classification", "regression"] = "classification",
    prediction_kind: PredictionKind = "auto",
    threshold: float = 0.5,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    n_bins: int = 4,
) -> list[SliceMetrics]:
    """Metrics per value (or quantile bin) of each of ``columns``.

    ``columns`` are names of ``frame`` columns, or a mapping / DataFrame of aligned values.
    ``metrics`` default to accuracy, F1, selection rate and ROC AUC (binary), accuracy,
    balanced accuracy and macro F1 (multiclass), or MAE, RMSE and the mean residual (regression).
    """
    engine = build_engine(
        y_true,
        y_pred,
        task=task,
        prediction_kind=prediction_kind,
        threshold=threshold,
        pos_label=pos_label,
        labels=labels,
        sample_weight=sample_weight,
    )
    names = engine.check(engine.default_metrics() if metrics is None else list(metrics))
    return table(engine, groupings(engine, frame, columns, n_bins), names)


def search(
    engine: GroupMetrics,
    groups: Sequence[Grouping],
    metric: str,
    *,
    min_support: int,
    pairs: bool,
    top_k: int,
) -> list[WorstSlice]:
    """Rank single-column and column-pair slices by their shortfall against the overall value."""
    check_positive_int(min_support, "min_support")
    check_positive_int(top_k, "top_k")
    overall = float(engine.compute(np.zeros(engine.n_rows, dtype=np.intp), 1, [metric])[metric][0])
    candidates: list[tuple[tuple[Grouping, ...], Any, int]] = [((g,), g.codes, g.n_groups) for g in groups]
    if pairs:
        for a, b in combinations(groups, 2):
            codes, size = combine(a, b)
            candidates.append(((a, b), codes, size))
    found: list[WorstSlice] = []
    for parts, codes, size in candidates:
        support = np.bincount(codes, minlength=size)
        eligible = np.flatnonzero(support >= min_support)
        if eligible.size == 0:
            continue
        values = engine.compute(codes, size, [metric], only=eligible)[metric]
        for code in eligible.tolist():
            value = float(values[code])
            if not np.isfinite(value):
                continue
            labels = _labels(parts, code)
            found.append(
                WorstSlice(
                    columns=tuple(p.name for p in parts),
                    values=labels,
                    support=int(support[code]),
                    metric=metric,
                    value=value,
                    overall=overall,
                    gap=shortfall(value, overall, metric),
                )
            )
    found.sort(key=lambda s: (-s.gap, -s.support, s.name))
    return found[:top_k]


def _labels(parts: Sequence[Grouping], code: int) -> tuple[str, ...]:
    if len(parts) == 1:
        return (parts[0].labels[code],)
    first, second = parts
    return first.labels[code // second.n_groups], second.labels[code % second.n_groups]


def find_worst_slices(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    frame: pd.DataFrame | None = None,
    columns: Columns | None = None,
    metric: str | None = None,
    min_support: int = 30,
    pairs: bool = True,
    top_k: int = 10,
    task: Literal["classification", "regression"] = "classification",
    prediction_kind: PredictionKind = "auto",
    threshold: float = 0.5,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    n_bins: int = 4,
) -> list[WorstSlice]:
    """The ``top_k`` slices (single columns and pairs) furthest below the overall ``metric``.

    ``columns`` default to every column of ``frame``; ``metric`` to accuracy (classification)
    or MAE (regression). Slices with fewer than ``min_support`` rows are ignored.
    """
    engine = build_engine(
        y_true,
        y_pred,
        task=task,
        prediction_kind=prediction_kind,
        threshold=threshold,
        pos_label=pos_label,
        labels=labels,
        sample_weight=sample_weight,
    )
    chosen = metric or ("mae" if task == "regression" else "accuracy")
    engine.check([chosen], field="metric")
    if columns is None:
        if frame is None:
            raise InvalidArgument("Pass 'frame' (and optionally 'columns') to search for slices.", field="frame")
        columns = [str(c) for c in frame.columns]
    return search(
        engine,
        groupings(engine, frame, columns, n_bins),
        chosen,
        min_support=min_support,
        pairs=pairs,
        top_k=top_k,
    )
