"""Evaluation beyond aggregate metrics: intervals, calibration, slices, fairness, gates, reports.

Everything here is pure: arrays in, numbers and reports out, no database or network. Metrics
equal scikit-learn's and fairlearn's; they are vectorised so that a million predictions with
200 bootstrap resamples take seconds.

>>> from steward.evaluation import evaluate_classifier, render_html
>>> report = evaluate_classifier([0, 1, 1, 0, 1], [0.2, 0.7, 0.4, 0.1, 0.9], random_state=0,
...                              n_bootstrap=20)
>>> sorted(report.confidence_intervals)[:3]
['accuracy', 'average_precision', 'balanced_accuracy']
"""

from steward.evaluation.bootstrap import (
    BootstrapResult,
    ConfidenceInterval,
    bootstrap,
    bootstrap_classification,
    bootstrap_regression,
    resample_indices,
)
from steward.evaluation.calibration import (
    LearningCurve,
    ReliabilityCurve,
    brier_score,
    expected_calibration_error,
    learning_curve,
    reliability_curve,
)
from steward.evaluation.fairness import (
    FairnessCheck,
    FairnessResult,
    FairnessThresholds,
    GroupRates,
    fairness_metrics,
    fairness_report,
)
from steward.evaluation.gates import GateResult, MetricGate, RelativeGate, evaluate_gates, parse_gates
from steward.evaluation.importance import (
    FeatureImportance,
    permutation_importance,
    shap_available,
    shap_importance,
)
from steward.evaluation.metrics import (
    ConfusionMatrix,
    PrecisionRecallF1,
    accuracy,
    average_precision,
    balanced_accuracy,
    confusion_matrix,
    log_loss,
    precision_recall_curve,
    precision_recall_f1,
    roc_auc,
    roc_curve,
    threshold_table,
)
from steward.evaluation.model_card import model_card
from steward.evaluation.regression import (
    ResidualSummary,
    mae,
    mape,
    mse,
    r2,
    regression_metrics,
    residual_summary,
    rmse,
    smape,
)
from steward.evaluation.rendering import render_html
from steward.evaluation.report import EvaluationReport, evaluate_classifier, evaluate_regressor
from steward.evaluation.slices import SliceMetrics, WorstSlice, find_worst_slices, slice_metrics

__all__ = [
    "BootstrapResult",
    "ConfidenceInterval",
    "ConfusionMatrix",
    "EvaluationReport",
    "FairnessCheck",
    "FairnessResult",
    "FairnessThresholds",
    "FeatureImportance",
    "GateResult",
    "GroupRates",
    "LearningCurve",
    "MetricGate",
    "PrecisionRecallF1",
    "RelativeGate",
    "ReliabilityCurve",
    "ResidualSummary",
    "SliceMetrics",
    "WorstSlice",
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "bootstrap",
    "bootstrap_classification",
    "bootstrap_regression",
    "brier_score",
    "confusion_matrix",
    "evaluate_classifier",
    "evaluate_gates",
    "evaluate_regressor",
    "expected_calibration_error",
    "fairness_metrics",
    "fairness_report",
    "find_worst_slices",
    "learning_curve",
    "log_loss",
    "mae",
    "mape",
    "model_card",
    "mse",
    "parse_gates",
    "permutation_importance",
    "precision_recall_curve",
    "precision_recall_f1",
    "r2",
    "regression_metrics",
    "reliability_curve",
    "render_html",
    "resample_indices",
    "residual_summary",
    "rmse",
    "roc_auc",
    "roc_curve",
    "shap_available",
    "shap_importance",
    "slice_metrics",
    "smape",
    "threshold_table",
]
