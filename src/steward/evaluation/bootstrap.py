"""Seeded, vectorised bootstrap confidence intervals (percentile method).

A resample is a vector of counts (how often each row was drawn), built with
``np.bincount`` over ``rng.integers(0, n, n)``; metrics are weighted sums under those counts,
so no resampled copy of the data is ever made and the ranking metrics never re-sort. Rows that
no metric can tell apart share a cell (equal score and class, or equal true and predicted
label), so the work per resample scales with the number of cells (see ``_statistics``).

Resample ``b`` draws from its own generator, seeded by the ``b``-th child of
``np.random.SeedSequence(random_state)``: results are reproducible and do not depend on
``n_jobs``. :func:`resample_indices` yields the same draws, to reproduce any resample by hand.

>>> result = bootstrap_regression([1.0, 2.0, 3.0, 4.0], [1.1, 1.9, 3.2, 3.8],
...                               n_resamples=50, random_state=0)
>>> ci = result.intervals["mae"]
>>> ci.lower <= ci.estimate <= ci.upper
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from steward.core.errors import InvalidArgument
from steward.evaluation._inputs import PredictionKind, prepare_classification
from steward.evaluation._statistics import RegressionStatistic, Statistic, Units, classification_statistic
from steward.evaluation._validation import (
    FloatArray,
    IntArray,
    as_float_1d,
    check_in_range,
    check_positive_int,
    check_same_length,
    check_sample_weight,
)

__all__ = [
    "BootstrapResult",
    "ConfidenceInterval",
    "bootstrap",
    "bootstrap_classification",
    "bootstrap_regression",
    "resample_indices",
]


@dataclass(frozen=True)
class ConfidenceInterval:
    """Percentile interval around the full-data ``estimate``; ``n_valid`` resamples were finite."""

    estimate: float
    lower: float
    upper: float
    std_error: float
    confidence_level: float
    n_resamples: int
    n_valid: int


@dataclass(frozen=True)
class BootstrapResult:
    """Intervals per metric, and the resampled values behind them."""

    intervals: dict[str, ConfidenceInterval]
    distribution: dict[str, FloatArray] = field(repr=False)


def _seeds(random_state: int | None, n_resamples: int) -> list[np.random.SeedSequence]:
    if random_state is not None and (isinstance(random_state, bool) or not isinstance(random_state, int)):
        raise InvalidArgument(
            f"The 'random_state' parameter must be an int or None. Got {random_state!r} instead.",
            field="random_state",
        )
    return np.random.SeedSequence(random_state).spawn(n_resamples)


def resample_indices(random_state: int | None, n_resamples: int, n_samples: int) -> Iterator[IntArray]:
    """Row indices of each bootstrap resample, exactly as every bootstrap here draws them.

    Indices refer to the rows as the caller passed them, so resample ``b`` can be rebuilt as
    ``y_true[idx], y_pred[idx]`` and checked against any other implementation.
    """
    for seed in _seeds(random_state, n_resamples):
        yield np.random.default_rng(seed).integers(0, n_samples, n_samples)


def _n_workers(n_jobs: int | None) -> int:
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise InvalidArgument(
            f"The 'n_jobs' parameter must be None, -1 or a positive int. Got {n_jobs!r} instead.",
            field="n_jobs",
        )
    return os.cpu_count() or 1 if n_jobs == -1 else n_jobs


class _RowStatistic:
    """Adapts a function of one weight per row to the statistic protocol."""

    def __init__(self, fn: Callable[[FloatArray], Mapping[str, float]], n: int, weights: FloatArray | None) -> None:
        self._fn = fn
        self.units = Units(n, row_weight=weights)
        self.base_weight = self.units.base()

    def __call__(self, weight: FloatArray) -> dict[str, float]:
        return dict(self._fn(weight))


def bootstrap(
    statistic: Callable[[FloatArray], Mapping[str, float]],
    n_samples: int,
    *,
    sample_weight: ArrayLike | None = None,
    n_resamples: int = 200,
    confidence_level: float = 0.95,
    random_state: int | None = None,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Bootstrap any statistic written as a function of one weight per row.

    ``statistic(weights)`` returns named metric values; it is called once with
    ``sample_weight`` (ones by default) for the estimates, then once per resample with the
    resample counts times ``sample_weight``. ``n_jobs`` threads share the resamples (NumPy
    releases the GIL in the heavy loops).
    """
    n = check_positive_int(n_samples, "n_samples")
    weights = check_sample_weight(sample_weight, n)
    return run_statistic(
        _RowStatistic(statistic, n, weights),
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        random_state=random_state,
        n_jobs=n_jobs,
    )


def run_statistic(
    statistic: Statistic,
    *,
    n_resamples: int,
    confidence_level: float,
    random_state: int | None,
    n_jobs: int | None,
) -> BootstrapResult:
    """Bootstrap a prepared statistic: resample rows, fold them into unit weights, evaluate."""
    check_positive_int(n_resamples, "n_resamples")
    level = check_in_range(confidence_level, "confidence_level", 0.0, 1.0)
    workers = _n_workers(n_jobs)
    seeds = _seeds(random_state, n_resamples)
    units = statistic.units
    n = units.n_rows
    estimate = statistic(statistic.base_weight)

    def one(seed: np.random.SeedSequence) -> Mapping[str, float]:
        return statistic(units.weigh(np.random.default_rng(seed).integers(0, n, n)))

    if workers == 1:
        draws = [one(seed) for seed in seeds]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            draws = list(pool.map(one, seeds))
    distribution = {name: np.array([d.get(name, np.nan) for d in draws], dtype=np.float64) for name in estimate}
    intervals = {name: _interval(estimate[name], values, level) for name, values in distribution.items()}
    return BootstrapResult(intervals=intervals, distribution=distribution)


def _interval(estimate: float, values: FloatArray, level: float) -> ConfidenceInterval:
    finite = values[np.isfinite(values)]
    if finite.shape[0] < 2:
        lower = upper = std = float("nan")
    else:
        alpha = (1.0 - level) / 2.0
        lower, upper = (float(v) for v in np.quantile(finite, [alpha, 1.0 - alpha]))
        std = float(finite.std(ddof=1))
    return ConfidenceInterval(
        estimate=float(estimate),
        lower=lower,
        upper=upper,
        std_error=std,
        confidence_level=level,
        n_resamples=int(values.shape[0]),
        n_valid=int(finite.shape[0]),
    )


def bootstrap_classification(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    prediction_kind: PredictionKind = "auto",
    threshold: float = 0.5,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    n_resamples: int = 200,
    confidence_level: float = 0.95,
    random_state: int | None = None,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Intervals for the headline classification metrics (see ``evaluate_classifier``)."""
    inputs = prepare_classification(
        y_true,
        y_pred,
        prediction_kind=prediction_kind,
        threshold=threshold,
        pos_label=pos_label,
        labels=labels,
        sample_weight=sample_weight,
    )
    return run_statistic(
        classification_statistic(inputs),
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        random_state=random_state,
        n_jobs=n_jobs,
    )


def bootstrap_regression(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    n_resamples: int = 200,
    confidence_level: float = 0.95,
    random_state: int | None = None,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Intervals for mse, rmse, mae, r2, mape, smape and the mean residual."""
    truth = as_float_1d(y_true, "y_true")
    pred = as_float_1d(y_pred, "y_pred")
    n = check_same_length(y_true=truth, y_pred=pred)
    weights = check_sample_weight(sample_weight, n)
    statistic = RegressionStatistic(truth, pred, weights)
    return run_statistic(
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        random_state=random_state,
        n_jobs=n_jobs,
    )
