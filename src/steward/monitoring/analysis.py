"""What one window of a deployment looks like against its reference (pure computation).

Inputs are the window's merged summary (sketches), its predictions joined with whatever
labels arrived (four narrow columns), the request counters of the window, and the
:class:`~steward.monitoring.reference.Reference`. Out comes a :class:`WindowAnalysis`:

* data drift per feature and the dataset verdict (:class:`~steward.monitoring.DatasetDrift`,
  Evidently's choice of test per column, FDR control and calibrated thresholds);
* prediction drift (the prediction; and the positive-class score of a binary classifier), each
  tested as a feature is: Evidently's choice by type and reference size, unless
  ``prediction_method`` / ``score_method`` (and ``*_threshold``) say otherwise;
* multivariate drift on row samples (when asked): a domain classifier's AUC and the PCA
  reconstruction error;
* latency percentiles (per request) and the error rate;
* label-free estimated performance (CBPE), and, over the labelled rows, the realised
  performance and the concept-drift test on the error rate.

``metrics()`` flattens it into the numbers alert rules read (:data:`~steward.monitoring.alerts.METRICS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from steward.monitoring.concept import ConceptDrift, ConceptDriftResult, classification_metrics
from steward.monitoring.dataset_drift import DatasetDrift, DatasetDriftReport
from steward.monitoring.drift import DRIFT_METHODS, DriftResult, default_method, make_detector, n_unique_union
from steward.monitoring.multivariate import MultivariateReport, multivariate_drift
from steward.monitoring.performance_estimation import CBPE, PerformanceEstimate
from steward.monitoring.reference import Reference, positive_label
from steward.monitoring.sketches import ColumnSketch
from steward.monitoring.summaries import SegmentSummary
from steward.monitoring.windows import Window

MIN_LABELLED = 1


class DriftOptions(BaseModel):
    """How drift is tested for one deployment (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[str] | None = None
    methods: dict[str, str] = Field(default_factory=dict)
    thresholds: dict[str, float] = Field(default_factory=dict)
    prediction_method: str | None = None
    prediction_threshold: float | None = Field(default=None, gt=0)
    score_method: str | None = None
    score_threshold: float | None = Field(default=None, gt=0)
    drift_share: float = Field(default=0.5, gt=0, le=1)
    false_alarm_rate: float = Field(default=0.05, gt=0, lt=1)
    multivariate: bool = False
    retention_days: int | None = Field(default=None, ge=0)  # overrides STEWARD_MONITORING_RETENTION_DAYS

    @field_validator("prediction_method", "score_method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        if value is not None and value not in DRIFT_METHODS:
            raise ValueError(f"must be one of {sorted(DRIFT_METHODS)}, got {value!r}")
        return value


@dataclass(frozen=True)
class RequestCounts:
    """Requests answered in a window, by outcome (from the model server's counters)."""

    ok: float
    invalid: float
    error: float

    @property
    def total(self) -> float:
        return self.ok + self.invalid + self.error


@dataclass
class WindowAnalysis:
    deployment: str
    window: Window
    window_text: str
    rows: int
    requests: int
    labelled_rows: int
    versions: dict[str, int]
    reference: str
    drift: DatasetDriftReport | None = None
    prediction_drift: DriftResult | None = None
    score_drift: DriftResult | None = None
    multivariate: MultivariateReport | None = None
    latency: dict[str, float] = field(default_factory=dict)
    counts: RequestCounts | None = None
    estimated: PerformanceEstimate | None = None
    realised: dict[str, float] | None = None
    concept: ConceptDriftResult | None = None
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float | None]:
        """Flat numbers for rules, time series and Prometheus (None when unknown)."""
        m: dict[str, float | None] = {
            "rows": float(self.rows),
            "requests": float(self.requests),
            "labelled_rows": float(self.labelled_rows),
        }
        if self.drift is not None:
            m["data_drift_share"] = self.drift.share_drifted
            m["n_drifted"] = float(self.drift.n_drifted)
            m["data_drift_detected"] = float(self.drift.drifted)
        for key, result in (("prediction_drift", self.prediction_drift), ("score_drift", self.score_drift)):
            if result is not None:
                m[key] = drift_score(result)
                m[f"{key}_detected"] = float(result.drifted)
        if self.multivariate is not None:
            pca, dc = self.multivariate.reconstruction, self.multivariate.domain_classifier
            if pca is not None and pca.upper_threshold > 0:
                m["multivariate_drift"] = pca.statistic / pca.upper_threshold
            if dc is not None:
                m["domain_classifier_auc"] = dc.statistic
            m["multivariate_drift_detected"] = float(self.multivariate.drifted)
        for key, value in self.latency.items():
            m[f"latency_{key}_ms"] = value
        if self.counts is not None:
            m["requests_total"] = self.counts.total
            m["errors"] = self.counts.error
            m["error_rate"] = self.counts.error / self.counts.total if self.counts.total else None
            m["invalid_rate"] = self.counts.invalid / self.counts.total if self.counts.total else None
        if self.estimated is not None:
            for key in ("accuracy", "roc_auc", "f1", "precision", "recall"):
                m[f"estimated_{key}"] = _finite(getattr(self.estimated, key))
        if self.realised is not None:
            for key in ("accuracy", "roc_auc", "f1", "precision", "recall"):
                if key in self.realised:
                    m[key] = _finite(self.realised[key])
        if self.concept is not None:
            m["concept_drift_p_value"] = self.concept.p_value
            m["concept_error_rate_change"] = self.concept.error_rate_current - self.concept.error_rate_reference
        return m


def drift_score(result: DriftResult) -> float | None:
    """The number a ``prediction_drift`` / ``score_drift`` rule compares: the distance, or the
    test's effect size (KS D, Cramer's V, Cohen's h) when the chosen test gives a p-value, so a
    threshold keeps one scale whichever test the sample size picks."""
    return _finite(result.effect_size if result.is_test else result.statistic)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def analyse(
    deployment: str,
    window: Window,
    window_text: str,
    current: SegmentSummary,
    reference: Reference,
    *,
    labelled: pa.Table | None = None,
    counts: RequestCounts | None = None,
    rows: pd.DataFrame | None = None,
    options: DriftOptions | None = None,
    cbpe: CBPE | None = None,
) -> WindowAnalysis:
    """Analyse one window (see the module docstring). ``cbpe`` is a CBPE already fitted on the
    reference (else fitted here when the reference is labelled)."""
    opts = options or DriftOptions()
    out = WindowAnalysis(
        deployment,
        window,
        window_text,
        current.primary_rows,
        current.requests,
        0,
        dict(current.versions),
        reference.description,
        counts=counts,
    )
    if current.primary_rows:
        out.drift = _data_drift(current, reference.summary, opts, out.notes)
        out.prediction_drift = _column_drift(
            reference.summary.prediction, current.prediction, opts.prediction_method, opts.prediction_threshold
        )
        out.score_drift = _column_drift(reference.summary.score, current.score, opts.score_method, opts.score_threshold)
    if current.latency is not None and current.latency.count_:
        q = current.latency.quantile([0.5, 0.95, 0.99])
        out.latency = {"p50": float(q[0]), "p95": float(q[1]), "p99": float(q[2]), "mean": current.latency.mean_}
    if opts.multivariate:
        out.multivariate = _multivariate(reference.rows, rows, out.notes)
    if labelled is not None and labelled.num_rows:
        _performance(out, reference, labelled, cbpe)
    return out


def _data_drift(
    current: SegmentSummary, reference: SegmentSummary, opts: DriftOptions, notes: list[str]
) -> DatasetDriftReport | None:
    wanted = opts.features or list(reference.features)
    columns: dict[str, tuple[ColumnSketch, ColumnSketch]] = {}
    for name in wanted:
        ref, cur = reference.features.get(name), current.features.get(name)
        if ref is None or cur is None:
            notes.append(f"feature {name!r} is missing from the {'reference' if ref is None else 'window'}")
        elif ref.kind != cur.kind:
            notes.append(f"feature {name!r} is {ref.kind} in the reference but {cur.kind} in the window")
        elif ref.count_ == 0 or cur.count_ == 0:
            notes.append(f"feature {name!r} has no value in the {'reference' if ref.count_ == 0 else 'window'}")
        else:
            columns[name] = (ref, cur)
    if not columns:
        return None
    detector = DatasetDrift(
        methods={c: m for c, m in opts.methods.items() if c in columns} or None,
        thresholds={c: t for c, t in opts.thresholds.items() if c in columns} or None,
        drift_share=opts.drift_share,
        false_alarm_rate=opts.false_alarm_rate,
        random_state=0,
    )
    detector.fit({c: pair[0] for c, pair in columns.items()})
    return detector.score({c: pair[1] for c, pair in columns.items()})


def _column_drift(
    ref: ColumnSketch | None, cur: ColumnSketch | None, method: str | None, threshold: float | None
) -> DriftResult | None:
    """One column's drift by ``method``, else by the test Evidently picks for its type, reference
    size and distinct values (as :class:`~steward.monitoring.DatasetDrift` does for features)."""
    if ref is None or cur is None or ref.kind != cur.kind or not ref.count_ or not cur.count_:
        return None
    name = method or default_method(ref.kind, ref.count_, n_unique_union(ref, cur))
    return make_detector(name, threshold).fit(ref).score(cur)


def _multivariate(
    reference: pd.DataFrame | None, current: pd.DataFrame | None, notes: list[str]
) -> MultivariateReport | None:
    if reference is None or current is None:
        side = "reference" if reference is None else "window"
        notes.append(f"multivariate drift skipped: no row sample of the {side}")
        return None
    report = multivariate_drift(reference, current)
    notes.extend(f"multivariate: {n}" for n in report.notes)
    return report


def fit_cbpe(reference: Reference) -> CBPE | None:
    """CBPE fitted on the labelled reference of a binary classifier (None when it cannot be)."""
    pos = reference.positive_label()
    if not reference.labelled or reference.y_score is None or pos is None or reference.y_true is None:
        return None
    y = (np.asarray(reference.y_true, dtype=str) == pos).astype(int)
    if np.unique(y).size != 2:
        return None
    return CBPE().fit(y, reference.y_score)


def _performance(out: WindowAnalysis, reference: Reference, labelled: pa.Table, cbpe: CBPE | None) -> None:
    pos = reference.positive_label() or positive_label(
        np.asarray(labelled["prediction"].to_pylist(), dtype=str), _scores(labelled)
    )
    scores = _scores(labelled)
    if scores is not None and pos is not None:
        model = cbpe if cbpe is not None else fit_cbpe(reference)
        if model is not None:
            pred = np.asarray(labelled["prediction"].to_pylist(), dtype=str) == pos
            out.estimated = model.estimate(scores, pred)
    have = labelled.filter(pc.is_valid(labelled["label"]))
    out.labelled_rows = have.num_rows
    if have.num_rows < MIN_LABELLED:
        return
    y_true = np.asarray(have["label"].to_pylist(), dtype=str)
    y_pred = np.asarray(have["prediction"].to_pylist(), dtype=str)
    y_score = None if have["score"].null_count else have["score"].to_numpy().astype(np.float64)
    if pos is not None and len(_classes(reference, y_true, y_pred) | {pos}) <= 2:
        t, p = (y_true == pos).astype(int), (y_pred == pos).astype(int)
        if reference.labelled and reference.y_true is not None and reference.y_pred is not None:
            rt = (np.asarray(reference.y_true, dtype=str) == pos).astype(int)
            rp = (np.asarray(reference.y_pred, dtype=str) == pos).astype(int)
            out.concept = ConceptDrift().fit(rt, rp, reference.y_score).score(t, p, y_score)
            out.realised = out.concept.metrics_current  # the same scikit-learn metrics, computed once
        else:
            out.realised = classification_metrics(t, p, y_score)
        return
    out.realised = classification_metrics(y_true, y_pred)
    if reference.labelled and reference.y_true is not None and reference.y_pred is not None:
        out.concept = ConceptDrift().fit(reference.y_true, reference.y_pred).score(y_true, y_pred)


def _classes(reference: Reference, *arrays: np.ndarray[Any, Any]) -> set[str]:
    seen: set[str] = set()
    for arr in (reference.y_true, reference.y_pred, *arrays):
        if arr is not None:
            seen.update(str(v) for v in np.unique(np.asarray(arr, dtype=str)))
    return seen


def _scores(labelled: pa.Table) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    col = labelled["score"]
    if col.null_count == len(col):
        return None
    return np.asarray(pc.fill_null(col, 0.5).to_numpy(), dtype=np.float64) if col.null_count else col.to_numpy()
