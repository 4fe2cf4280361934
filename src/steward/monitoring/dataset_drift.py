"""Dataset drift: every column's detector, and one verdict for the window.

The verdict is Evidently's: the dataset drifts when the share of drifted columns reaches
``drift_share`` (0.5). Two additions keep its false-alarm rate bounded on undrifted data at
every window size:

* **A per-column level from the dataset-level target.** With ``K`` columns, an alarm needs
  ``m = ceil(drift_share * K)`` drifted columns, so by Markov's inequality
  ``P(alarm) <= E[drifted columns] / m <= K * level / m``. Each column is therefore tested at
  ``level = false_alarm_rate * m / K`` (0.05 for one column, 0.026 for 25), which bounds the
  dataset false-alarm rate by ``false_alarm_rate`` whatever the dependence between columns.
* **Multiple testing and calibration.** P-value tests (KS, chi-square, z, the defaults up to
  1,000 reference rows) get Benjamini-Hochberg adjusted p-values across columns, and a column
  drifts when its adjusted p-value passes ``min(threshold, level)``; an adjusted p-value is
  never below the raw one, so each column's false-alarm rate stays below the level. Distances
  (Wasserstein, Jensen-Shannon, PSI, the defaults beyond 1,000 rows) have no p-value: their
  threshold becomes ``max(threshold, q)`` where ``q`` is the ``1 - level`` quantile of the
  distance between two windows drawn from one distribution at the sizes being compared. As in
  a permutation test, that distribution is both windows pooled (it is the reference's when
  there is no drift, and it covers categories the reference happens to lack): multinomial
  draws over the bins for binned distances, a bootstrap of the pooled samples for Wasserstein.
  At large windows ``q`` is far below Evidently's 0.1 and the verdicts are Evidently's; on
  small windows or many categories it stops the fixed 0.1 from firing on noise. The draws are
  made only for columns whose distance reaches the fixed threshold (below it ``q`` cannot
  change the verdict), so ``calibrated_threshold`` is None for the others.

``correction="none"`` and ``calibrate=False`` give Evidently's per-column rules unchanged.

Inputs are DataFrames, iterables of DataFrame batches (a window read row group by row group),
or mappings of column name to sketch (windows merged from partitions).

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b", "c"], 3000)})
    >>> cur = pd.DataFrame({"x": rng.normal(1.0, 1, 3000), "c": rng.choice(["a", "b"], 3000)})
    >>> report = DatasetDrift(random_state=0).fit(ref).score(cur)
    >>> report.drifted, report.n_drifted, [c.method for c in report.columns]
    (True, 2, ['wasserstein', 'jensenshannon'])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self, TypeAlias

import numpy as np
import pandas as pd

from steward.core.errors import InvalidArgument, NotFound
from steward.monitoring._stats import benjamini_hochberg
from steward.monitoring._validation import check_choice, check_float, check_int
from steward.monitoring.drift import (
    DRIFT_METHODS,
    DriftDetector,
    DriftResult,
    default_method,
    make_detector,
    n_unique_union,
)
from steward.monitoring.sketches import (
    DEFAULT_SAMPLE_CAP,
    ColumnKind,
    ColumnSketch,
    infer_kind,
    sketch_frame,
)

WindowData: TypeAlias = pd.DataFrame | Iterable[pd.DataFrame] | Mapping[str, ColumnSketch]


@dataclass(frozen=True)
class DatasetDriftReport:
    """Per-column results and the dataset-level verdict."""

    columns: tuple[DriftResult, ...]
    n_drifted: int
    share_drifted: float
    drift_share: float
    drifted: bool
    column_level: float
    false_alarm_rate: float

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def column(self, name: str) -> DriftResult:
        for result in self.columns:
            if result.column == name:
                return result
        raise NotFound(kind="column", key=name)

    def to_frame(self) -> pd.DataFrame:
        """One row per column: method, statistic, p-values, effect size, thresholds, verdict."""
        return pd.DataFrame([r.__dict__ for r in self.columns]).set_index("column")


class DatasetDrift:
    """Drift of every column of a window against a reference, and the dataset verdict.

    Parameters:
        numerical_columns, categorical_columns: the columns to test; if both are None, every
            column of the reference, typed by dtype (numbers numerical, the rest categorical).
        methods: column -> method name in :data:`~steward.monitoring.drift.DRIFT_METHODS`,
            overriding the default choice (Evidently's).
        thresholds: column -> threshold, overriding the method's default.
        drift_share: share of drifted columns at which the dataset drifts (Evidently: 0.5).
        false_alarm_rate: bound on the dataset-level false-alarm rate on undrifted data.
        correction: ``"bh"`` (Benjamini-Hochberg across p-value tests) or ``"none"``.
        calibrate: calibrate distance thresholds on draws from the reference.
        n_calibration: draws per column for the calibration.
        sample_cap: sample size of the numeric sketches (exact statistics up to this many rows).
        random_state: seed of sketch sampling and calibration.
    """

    def __init__(
        self,
        *,
        numerical_columns: Sequence[str] | None = None,
        categorical_columns: Sequence[str] | None = None,
        methods: Mapping[str, str] | None = None,
        thresholds: Mapping[str, float] | None = None,
        drift_share: float = 0.5,
        false_alarm_rate: float = 0.05,
        correction: str = "bh",
        calibrate: bool = True,
        n_calibration: int = 200,
        sample_cap: int = DEFAULT_SAMPLE_CAP,
        random_state: int | None = 0,
    ) -> None:
        self.numerical_columns = numerical_columns
        self.categorical_columns = categorical_columns
        self.methods = methods
        self.thresholds = thresholds
        self.drift_share = drift_share
        self.false_alarm_rate = false_alarm_rate
        self.correction = correction
        self.calibrate = calibrate
        self.n_calibration = n_calibration
        self.sample_cap = sample_cap
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {
            "numerical_columns": self.numerical_columns,
            "categorical_columns": self.categorical_columns,
            "methods": self.methods,
            "thresholds": self.thresholds,
            "drift_share": self.drift_share,
            "false_alarm_rate": self.false_alarm_rate,
            "correction": self.correction,
            "calibrate": self.calibrate,
            "n_calibration": self.n_calibration,
            "sample_cap": self.sample_cap,
            "random_state": self.random_state,
        }

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, reference: WindowData) -> Self:
        """Sketch the reference window."""
        self._validate()
        self.seed_ = np.random.SeedSequence(self.random_state)
        batches = self._batches(reference)
        self.kinds_ = self._kinds(reference, batches)
        self.reference_ = self._sketch(reference, batches, spawn_key=0)
        return self

    def score(self, current: WindowData) -> DatasetDriftReport:
        """Test every column of ``current`` against the reference."""
        if not hasattr(self, "reference_"):
            raise InvalidArgument("This DatasetDrift is not fitted yet: call fit(reference) first.", field="reference")
        current_sketches = self._sketch(current, self._batches(current), spawn_key=1)
        rng = np.random.default_rng(self._child_seed(2))
        k = len(self.kinds_)
        needed = math.ceil(self.drift_share * k - 1e-9)
        level = self.false_alarm_rate * needed / k
        results: list[DriftResult] = []
        for column in self.kinds_:
            results.append(self._score_column(column, current_sketches[column], level, rng))
        results = self._apply_correction(results, level)
        n_drifted = sum(r.drifted for r in results)
        share = n_drifted / k
        return DatasetDriftReport(
            columns=tuple(results),
            n_drifted=n_drifted,
            share_drifted=share,
            drift_share=self.drift_share,
            drifted=share >= self.drift_share,
            column_level=level,
            false_alarm_rate=self.false_alarm_rate,
        )

    # -- one column ------------------------------------------------------------------------
    def _detector(self, column: str, reference: ColumnSketch, current: ColumnSketch) -> DriftDetector:
        method = (self.methods or {}).get(column) or default_method(
            reference.kind, reference.count_, n_unique_union(reference, current)
        )
        detector = make_detector(method, (self.thresholds or {}).get(column))
        if reference.kind not in detector.kinds:
            raise InvalidArgument(
                f"The method {method!r} chosen for column {column!r} does not apply to {reference.kind} columns.",
                field="methods",
            )
        return detector

    def _score_column(self, column: str, current: ColumnSketch, level: float, rng: np.random.Generator) -> DriftResult:
        reference = self.reference_[column]
        for side, sketch in (("reference", reference), ("current", current)):
            if sketch.count_ == 0:
                raise InvalidArgument(f"Column {column!r} has no non-null value in the {side} window.", field=column)
        detector = self._detector(column, reference, current)
        outcome = detector.compute(reference, current)
        threshold = detector.threshold_
        calibrated: float | None = None
        # The calibrated threshold is max(threshold, q): below the fixed threshold it cannot
        # change the verdict, so the null draws are only made for columns that reach it.
        if self.calibrate and not detector.is_test and outcome.statistic >= threshold:
            null = detector.null_distribution(reference, current, self.n_calibration, rng)
            if null is not None:
                calibrated = max(threshold, float(np.quantile(null, 1.0 - level, method="higher")))
        return DriftResult(
            method=detector.method,
            display_name=detector.display_name,
            kind=reference.kind,
            statistic=outcome.statistic,
            p_value=outcome.p_value,
            effect_size=outcome.effect_size,
            effect_size_name=detector.effect_size_name,
            threshold=threshold,
            drifted=detector.decide(outcome.statistic, outcome.p_value, calibrated or threshold),
            n_reference=reference.count_,
            n_current=current.count_,
            column=column,
            calibrated_threshold=calibrated,
        )

    def _apply_correction(self, results: list[DriftResult], level: float) -> list[DriftResult]:
        if self.correction != "bh":
            return results
        tested = [i for i, r in enumerate(results) if r.p_value is not None]
        adjusted = benjamini_hochberg([results[i].p_value or 0.0 for i in tested])
        out = list(results)
        for i, p_adj in zip(tested, adjusted.tolist(), strict=True):
            r = results[i]
            detector = DRIFT_METHODS[r.method](threshold=r.threshold)
            cut = min(r.threshold, level)
            out[i] = replace(
                r,
                p_value_adjusted=p_adj,
                calibrated_threshold=cut,
                drifted=detector.decide(r.statistic, p_adj, cut),
            )
        return out

    # -- plumbing --------------------------------------------------------------------------
    def _validate(self) -> None:
        owner = "DatasetDrift"
        check_float(self.drift_share, name="drift_share", owner=owner, low=0.0, high=1.0)
        check_float(self.false_alarm_rate, name="false_alarm_rate", owner=owner, low=0.0, high=1.0, high_open=True)
        check_choice(self.correction, name="correction", owner=owner, choices={"bh", "none"})
        check_int(self.n_calibration, name="n_calibration", owner=owner, low=20)
        check_int(self.sample_cap, name="sample_cap", owner=owner, low=1)
        for column, method in (self.methods or {}).items():
            check_choice(method, name=f"methods[{column!r}]", owner=owner, choices=set(DRIFT_METHODS))
        overlap = set(self.numerical_columns or ()) & set(self.categorical_columns or ())
        if overlap:
            raise InvalidArgument(
                f"The columns {sorted(overlap)} of DatasetDrift are both numerical and categorical.",
                field="categorical_columns",
            )

    def _child_seed(self, key: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.seed_.entropy, spawn_key=(key,))

    @staticmethod
    def _batches(data: WindowData) -> Iterator[pd.DataFrame] | None:
        if isinstance(data, pd.DataFrame | Mapping):
            return None
        return iter(data)

    def _kinds(self, data: WindowData, batches: Iterator[pd.DataFrame] | None) -> dict[str, ColumnKind]:
        if self.numerical_columns is not None or self.categorical_columns is not None:
            kinds: dict[str, ColumnKind] = {c: "numerical" for c in self.numerical_columns or ()}
            kinds.update({c: "categorical" for c in self.categorical_columns or ()})
        elif isinstance(data, Mapping):
            kinds = {c: s.kind for c, s in data.items()}
        else:
            first = data if isinstance(data, pd.DataFrame) else self._peek(batches)
            kinds = {str(c): infer_kind(first[c]) for c in first.columns}
        if not kinds:
            raise InvalidArgument("DatasetDrift needs at least one column to test. Got none.", field="columns")
        return kinds

    def _peek(self, batches: Iterator[pd.DataFrame] | None) -> pd.DataFrame:
        assert batches is not None
        first = next(batches, None)
        if first is None:
            raise InvalidArgument("The reference window of DatasetDrift is empty.", field="reference")
        self._pending = first
        return first

    def _sketch(
        self, data: WindowData, batches: Iterator[pd.DataFrame] | None, spawn_key: int
    ) -> dict[str, ColumnSketch]:
        if isinstance(data, Mapping):
            missing = [c for c in self.kinds_ if c not in data]
            if missing:
                raise InvalidArgument(f"Columns {missing} are missing from the sketches.", field="columns")
            return {c: data[c] for c in self.kinds_}
        source: pd.DataFrame | Iterable[pd.DataFrame] = data
        if batches is not None:
            pending = self.__dict__.pop("_pending", None)
            source = itertools.chain([pending], batches) if pending is not None else batches
        return sketch_frame(source, self.kinds_, sample_cap=self.sample_cap, random_state=self._child_seed(spawn_key))
