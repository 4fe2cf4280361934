"""One call to evaluate a model beyond its aggregate metrics.

:func:`evaluate_classifier` and :func:`evaluate_regressor` compute the headline metrics with
bootstrap confidence intervals, curves, calibration, per-class and per-slice metrics, the
worst slices, fairness per sensitive attribute and promotion gates, into an
:class:`EvaluationReport` whose :meth:`~EvaluationReport.to_dict` is JSON-safe. Render it with
``render_html`` or ``model_card``.

>>> report = evaluate_classifier([0, 1, 1, 0, 1, 0], [0.2, 0.9, 0.6, 0.4, 0.3, 0.1],
...                              n_bootstrap=0)
>>> report.task, report.metrics["accuracy"], round(report.metrics["roc_auc"], 4)
('binary', 0.8333333333333334, 0.8889)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from steward.evaluation._builders import (
    calibration_curves,
    class_table,
    ranking_curves,
    residual_plots,
    threshold_records,
)
from steward.evaluation._grouping import frame_columns, group_column
from steward.evaluation._inputs import PredictionKind, prepare_classification
from steward.evaluation._json import jsonable
from steward.evaluation._slice_engine import GroupMetrics
from steward.evaluation._statistics import RegressionStatistic, Statistic, classification_statistic
from steward.evaluation._validation import (
    as_float_1d,
    check_positive_int,
    check_same_length,
    check_sample_weight,
)
from steward.evaluation.bootstrap import ConfidenceInterval, run_statistic
from steward.evaluation.calibration import ReliabilityCurve
from steward.evaluation.fairness import FairnessResult, FairnessThresholds, attribute_result, parse_thresholds
from steward.evaluation.gates import Gate, GateResult, evaluate_gates
from steward.evaluation.regression import ResidualSummary, summarise_residuals
from steward.evaluation.slices import SliceMetrics, WorstSlice, groupings, search, table

__all__ = ["EvaluationReport", "evaluate_classifier", "evaluate_regressor"]

Task = Literal["binary", "multiclass", "regression"]
ColumnsArg: TypeAlias = str | Sequence[str] | Mapping[str, ArrayLike] | pd.DataFrame | None


@dataclass
class EvaluationReport:
    """Everything an evaluation found; ``to_dict()`` gives JSON-safe data."""

    task: Task
    n_samples: int
    metrics: dict[str, float]
    name: str | None = None
    confidence_intervals: dict[str, ConfidenceInterval] = field(default_factory=dict)
    classes: list[Any] = field(default_factory=list)
    pos_label: Any = None
    threshold: float | None = None
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion_matrix: list[list[float]] = field(default_factory=list)
    curves: dict[str, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    calibration: dict[str, ReliabilityCurve] = field(default_factory=dict)
    threshold_table: list[dict[str, float]] = field(default_factory=list)
    residuals: ResidualSummary | None = None
    residual_histogram: dict[str, list[float]] = field(default_factory=dict)
    prediction_sample: dict[str, list[float]] = field(default_factory=dict)
    slices: list[SliceMetrics] = field(default_factory=list)
    slice_metric: str | None = None
    worst_slices: list[WorstSlice] = field(default_factory=list)
    fairness: dict[str, FairnessResult] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every gate and every fairness check passed."""
        return all(g.passed for g in self.gates) and all(f.passed for f in self.fairness.values())

    def gate_metrics(self) -> dict[str, float]:
        """Flat metric names for gates: headline metrics, fairness and worst-slice values.

        Fairness metrics appear per attribute (``fairness.sex.demographic_parity_difference``)
        and unqualified as the worst value over attributes.
        """
        flat = dict(self.metrics)
        if self.residuals is not None:
            flat |= {f"residual_{k}": v for k, v in vars(self.residuals).items()}
        for attr, result in self.fairness.items():
            for metric, value in result.metrics().items():
                flat[f"fairness.{attr}.{metric}"] = value
                worst = min if metric.endswith("ratio") else max
                flat[metric] = worst(flat.get(metric, value), value)
        if self.worst_slices:
            flat["worst_slice_gap"] = self.worst_slices[0].gap
            flat[f"worst_slice.{self.worst_slices[0].metric}"] = self.worst_slices[0].value
        return flat

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = jsonable(self)
        data["passed"] = self.passed
        return data


def _sections(
    report: EvaluationReport,
    engine: GroupMetrics,
    statistic: Statistic,
    *,
    frame: pd.DataFrame | None,
    slice_columns: ColumnsArg,
    slice_metric: str | None,
    min_support: int,
    n_bins: int,
    top_k: int,
    n_bootstrap: int,
    confidence_level: float,
    random_state: int | None,
    n_jobs: int | None,
) -> None:
    if n_bootstrap:
        report.confidence_intervals = run_statistic(
            statistic,
            n_resamples=check_positive_int(n_bootstrap, "n_bootstrap"),
            confidence_level=confidence_level,
            random_state=random_state,
            n_jobs=n_jobs,
        ).intervals
    else:
        report.notes.append("Bootstrap confidence intervals were not computed (n_bootstrap=0).")
    if slice_columns is None and frame is not None:
        slice_columns = [str(c) for c in frame.columns]
    if slice_columns is not None:
        groups = groupings(engine, frame, slice_columns, n_bins)
        report.slices = table(engine, groups, engine.default_metrics())
        metric = slice_metric or engine.default_metrics()[0]
        engine.check([metric], field="slice_metric")
        report.slice_metric = metric
        report.worst_slices = search(engine, groups, metric, min_support=min_support, pairs=True, top_k=top_k)


def _finish(report: EvaluationReport, gates: Any, references: Any) -> EvaluationReport:
    if gates:
        report.gates = evaluate_gates(gates, report.gate_metrics(), references=references)
    return report


def evaluate_classifier(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    prediction_kind: PredictionKind = "auto",
    threshold: float = 0.5,
    pos_label: Any = None,
    labels: ArrayLike | None = None,
    sample_weight: ArrayLike | None = None,
    frame: pd.DataFrame | None = None,
    slice_columns: ColumnsArg = None,
    sensitive: ColumnsArg = None,
    slice_metric: str | None = None,
    min_support: int = 30,
    n_bins: int = 4,
    top_k: int = 10,
    fairness_thresholds: FairnessThresholds | Mapping[str, Any] | None = None,
    fairness_min_group_size: int = 30,
    gates: Sequence[Gate | Mapping[str, Any]] | None = None,
    references: Mapping[str, Mapping[str, float]] | None = None,
    n_bootstrap: int = 200,
    confidence_level: float = 0.95,
    calibration_bins: int = 10,
    random_state: int | None = None,
    n_jobs: int | None = None,
    name: str | None = None,
) -> EvaluationReport:
    """Evaluate a classifier from true labels and its predictions.

    ``y_pred`` holds hard labels, the positive-class probability (binary, 1-D), or one
    probability column per class (in sorted class order, or ``labels`` order). Probabilities
    predict the positive class when ``>= threshold`` (binary) or the arg-max class.
    ``slice_columns`` and ``sensitive`` name columns of ``frame`` (or give arrays in a mapping);
    ``slice_columns`` defaults to every column of ``frame``. Fairness compares groups of at
    least ``fairness_min_group_size`` rows (smaller ones are listed). Bootstrap intervals use
    ``n_bootstrap`` resamples seeded by ``random_state``; ``n_bootstrap=0`` turns them off.
    """
    inputs = prepare_classification(
        y_true,
        y_pred,
        prediction_kind=prediction_kind,
        threshold=threshold,
        pos_label=pos_label,
        labels=labels,
        sample_weight=sample_weight,
    )
    statistic = classification_statistic(inputs)
    metrics = statistic(statistic.base_weight)
    matrix, per_class, averages = class_table(inputs)
    metrics |= {k: v for k, v in averages.items() if k not in metrics}
    calibration = calibration_curves(inputs, check_positive_int(calibration_bins, "calibration_bins"))
    if calibration:
        metrics["expected_calibration_error"] = calibration["uniform"].expected_calibration_error
    report = EvaluationReport(
        task=inputs.task,
        n_samples=int(inputs.y_true.shape[0]),
        metrics=metrics,
        name=name,
        classes=inputs.classes.tolist(),
        pos_label=None if inputs.pos_index is None else _scalar(inputs.classes[inputs.pos_index]),
        threshold=inputs.threshold,
        per_class=per_class,
        confusion_matrix=matrix.tolist(),
        curves=ranking_curves(inputs, statistic),
        calibration=calibration,
        threshold_table=threshold_records(statistic),
        settings={
            "n_bootstrap": n_bootstrap,
            "confidence_level": confidence_level,
            "random_state": random_state,
            "min_support": min_support,
            "n_bins": n_bins,
            "calibration_bins": calibration_bins,
            "weighted": inputs.weighted,
        },
    )
    _notes(report, inputs.weight, per_class)
    engine = GroupMetrics(classification=inputs)
    _sections(
        report,
        engine,
        statistic,
        frame=frame,
        slice_columns=slice_columns,
        slice_metric=slice_metric,
        min_support=min_support,
        n_bins=n_bins,
        top_k=top_k,
        n_bootstrap=n_bootstrap,
        confidence_level=confidence_level,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    if sensitive is not None:
        limits = parse_thresholds(fairness_thresholds)
        found = frame_columns(frame, sensitive, report.n_samples, "sensitive")
        report.fairness = {
            attr: attribute_result(
                inputs,
                group_column(series, attr, n_bins=n_bins, field="sensitive"),
                limits,
                fairness_min_group_size,
            )
            for attr, series in found.items()
        }
        small = [f"{a}={g.group}" for a, r in report.fairness.items() for g in r.groups if not g.included]
        if small:
            report.notes.append(
                f"Fairness: {len(small)} group(s) with fewer than {fairness_min_group_size} rows are shown "
                f"but not compared: {', '.join(small[:10])}{' ...' if len(small) > 10 else ''}."
            )
    return _finish(report, gates, references)


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _notes(report: EvaluationReport, weight: Any, per_class: Mapping[str, Mapping[str, float]]) -> None:
    support = np.array([v["support"] for v in per_class.values()])
    share = support / support.sum()
    rare = [label for label, s in zip(per_class, share, strict=True) if s < 0.05]
    if rare:
        report.notes.append(
            f"Class imbalance: {', '.join(rare)} make{'s' if len(rare) == 1 else ''} up less than 5% of "
            "rows; prefer average precision, balanced accuracy and per-class recall to accuracy."
        )
    if report.task == "multiclass" and "roc_auc" in report.metrics and not np.isfinite(report.metrics["roc_auc"]):
        report.notes.append("One-vs-rest ROC AUC is undefined: some class never occurs in y_true.")


def evaluate_regressor(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    frame: pd.DataFrame | None = None,
    slice_columns: ColumnsArg = None,
    slice_metric: str | None = None,
    min_support: int = 30,
    n_bins: int = 4,
    top_k: int = 10,
    gates: Sequence[Gate | Mapping[str, Any]] | None = None,
    references: Mapping[str, Mapping[str, float]] | None = None,
    n_bootstrap: int = 200,
    confidence_level: float = 0.95,
    random_state: int | None = None,
    n_jobs: int | None = None,
    name: str | None = None,
) -> EvaluationReport:
    """Evaluate a regressor: metrics with intervals, residual analysis, slices and gates."""
    truth = as_float_1d(y_true, "y_true")
    pred = as_float_1d(y_pred, "y_pred")
    n = check_same_length(y_true=truth, y_pred=pred)
    weights = check_sample_weight(sample_weight, n)
    weight = np.ones(n) if weights is None else weights
    statistic = RegressionStatistic(truth, pred, weights)
    histogram, sample = residual_plots(truth, pred, random_state)
    report = EvaluationReport(
        task="regression",
        n_samples=n,
        metrics=statistic(weight),
        name=name,
        residuals=summarise_residuals(truth - pred),
        residual_histogram=histogram,
        prediction_sample=sample,
        settings={
            "n_bootstrap": n_bootstrap,
            "confidence_level": confidence_level,
            "random_state": random_state,
            "min_support": min_support,
            "n_bins": n_bins,
            "weighted": weights is not None,
        },
    )
    if np.any(truth == 0):
        report.notes.append(
            f"{int(np.sum(truth == 0))} target value(s) are 0: MAPE divides by machine epsilon there; "
            "read SMAPE instead."
        )
    engine = GroupMetrics(regression=(truth, pred, weight))
    _sections(
        report,
        engine,
        statistic,
        frame=frame,
        slice_columns=slice_columns,
        slice_metric=slice_metric,
        min_support=min_support,
        n_bins=n_bins,
        top_k=top_k,
        n_bootstrap=n_bootstrap,
        confidence_level=confidence_level,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return _finish(report, gates, references)
