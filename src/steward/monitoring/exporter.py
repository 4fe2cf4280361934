"""Prometheus exposition of monitoring: a custom collector, registered on one
``CollectorRegistry`` per application (never the global registry).

Per deployment, at every scrape:

* from the prediction log (cached segment summaries): ``steward_monitoring_predictions_total``
  by model version, and the request latency histogram
  ``steward_monitoring_request_latency_seconds`` on the model server's buckets (a value equal
  to a bucket bound counts in the next bucket: the summaries bin ``[a, b)``);
* from the model server's counters, as last scraped by a monitoring run:
  ``steward_monitoring_requests_total`` by outcome and ``steward_monitoring_errors_total``;
* from the latest monitoring run of each window: the drift score, p-value and verdict per
  feature, the share of drifted features, the prediction's drift score, realised and estimated
  accuracy / ROC AUC, p95 latency and the error rate;
* from the alerts: ``steward_monitoring_alerts_firing`` per rule and severity.

Example:
    >>> registry = monitoring_registry(runtime.uow, store)  # doctest: +SKIP
    >>> prometheus_client.generate_latest(registry)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from steward.monitoring.store import MonitoringStore, SegmentTotals
from steward.serving.metrics import LATENCY_BUCKETS

if TYPE_CHECKING:
    from steward.store.uow import UnitOfWork

P = "steward_monitoring_"
_RUN_GAUGES = {
    "data_drift_share": ("dataset_drift_share", "Share of drifted features in the latest window."),
    "prediction_drift": ("prediction_drift_score", "Drift score of the prediction in the latest window."),
    "score_drift": ("score_drift_score", "Drift score of the positive-class score in the latest window."),
    "accuracy": ("accuracy", "Realised accuracy over the labelled rows of the latest window."),
    "estimated_accuracy": ("estimated_accuracy", "Accuracy estimated without labels (CBPE), latest window."),
    "roc_auc": ("roc_auc", "Realised ROC AUC over the labelled rows of the latest window."),
    "estimated_roc_auc": ("estimated_roc_auc", "ROC AUC estimated without labels (CBPE), latest window."),
    "latency_p95_ms": ("latency_p95_seconds", "95th percentile of request latency in the latest window."),
    "error_rate": ("error_rate", "Failed requests / requests in the latest window."),
    "rows": ("window_rows", "Predictions in the latest window."),
    "labelled_rows": ("window_labelled_rows", "Predictions with ground truth in the latest window."),
}


class MonitoringCollector:
    """Reads the latest persisted results on each scrape (see the module docstring)."""

    def __init__(self, uow: Callable[[], UnitOfWork], store: MonitoringStore) -> None:
        self.uow = uow
        self.store = store
        self._segments: dict[str, SegmentTotals] = {}
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # no fixed set: families appear with the deployments

    def collect(self) -> Iterator[Metric]:
        yield from self._log_families()
        with self.uow() as uow:
            runs = uow.monitoring.latest_runs()
            features = uow.monitoring.feature_drift([r.id for r in runs])
            counters = uow.monitoring.latest_counters()
            firing = uow.monitoring.alerts(state="firing", limit=10_000)
            run_rows = [(r.id, r.deployment, r.window, r.created_at, dict(r.metrics)) for r in runs]
            feature_rows = [(f.run_id, f.column, f.method, f.statistic, f.p_value, f.drifted) for f in features]
            counter_rows = [(c.deployment, c.ok, c.invalid, c.error) for c in counters]
            alert_rows = [(a.deployment, a.rule, a.severity) for a in firing]
        yield from _counter_families(counter_rows)
        yield from _run_families(run_rows, feature_rows)
        alerts = GaugeMetricFamily(
            P + "alerts_firing", "Alerts firing, per rule.", labels=["deployment", "rule", "severity"]
        )
        for dep, rule, severity in alert_rows:
            alerts.add_metric([dep, rule, severity], 1.0)
        yield alerts

    def _log_families(self) -> Iterator[Metric]:
        preds = CounterMetricFamily(
            P + "predictions", "Predictions logged, by model version.", labels=["deployment", "model_version"]
        )
        latency = HistogramMetricFamily(
            P + "request_latency_seconds", "Server time of logged requests.", labels=["deployment"]
        )
        with self._lock:
            seen: set[str] = set()
            for dep in self.store.deployments():
                totals = self.store.totals(dep, self._segments, seen)
                for version, n in totals.versions:
                    preds.add_metric([dep, version], float(n))
                if totals.latency_bins:
                    latency.add_metric([dep], _buckets(totals.latency_bins), totals.latency_sum_ms / 1000.0)
            # Compacted segments are gone: forget them.
            self._segments = {k: v for k, v in self._segments.items() if k in seen}
        yield preds
        yield latency


def _buckets(bins: tuple[int, ...]) -> list[tuple[str, float]]:
    # bins: below the first bound, one per [bound_i, bound_i+1), from the last bound up.
    out, running = [], 0
    for bound, count in zip(LATENCY_BUCKETS, bins, strict=False):
        running += count
        out.append((repr(float(bound)), float(running)))
    out.append(("+Inf", float(sum(bins))))
    return out


def _counter_families(rows: list[tuple[str, float, float, float]]) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        P + "requests", "Model server requests by outcome (as last scraped).", labels=["deployment", "outcome"]
    )
    errors = CounterMetricFamily(
        P + "errors", "Model server requests that failed (as last scraped).", labels=["deployment"]
    )
    for dep, ok, invalid, error in rows:
        for outcome, value in (("ok", ok), ("invalid", invalid), ("error", error)):
            requests.add_metric([dep, outcome], value)
        errors.add_metric([dep], error)
    yield requests
    yield errors


def _run_families(
    runs: list[tuple[str, str, str, int, dict[str, Any]]],
    features: list[tuple[str, str, str, float | None, float | None, bool]],
) -> Iterator[Metric]:
    labels = ["deployment", "window"]
    gauges = {key: GaugeMetricFamily(P + name, doc, labels=labels) for key, (name, doc) in _RUN_GAUGES.items()}
    last = GaugeMetricFamily(P + "last_run_timestamp_seconds", "When the latest run of a window ran.", labels=labels)
    by_run: dict[str, tuple[str, str]] = {}
    for run_id, dep, window, created_at, metrics in runs:
        by_run[run_id] = (dep, window)
        last.add_metric([dep, window], created_at / 1000.0)
        for key, family in gauges.items():
            value = metrics.get(key)
            if isinstance(value, int | float):
                family.add_metric([dep, window], value / 1000.0 if key.endswith("_ms") else float(value))
    flabels = ["deployment", "window", "feature", "method"]
    score = GaugeMetricFamily(P + "feature_drift_score", "Drift statistic per feature, latest window.", labels=flabels)
    pval = GaugeMetricFamily(P + "feature_drift_p_value", "P-value per feature (tests only).", labels=flabels)
    drifted = GaugeMetricFamily(P + "feature_drifted", "1 when the feature drifted, latest window.", labels=flabels)
    for run_id, column, method, statistic, p_value, is_drifted in features:
        if run_id not in by_run or column.startswith("__"):
            continue
        names = [*by_run[run_id], column, method]
        if statistic is not None:
            score.add_metric(names, statistic)
        if p_value is not None:
            pval.add_metric(names, p_value)
        drifted.add_metric(names, 1.0 if is_drifted else 0.0)
    yield last
    yield from gauges.values()
    yield score
    yield pval
    yield drifted


def monitoring_registry(uow: Callable[[], UnitOfWork], store: MonitoringStore) -> CollectorRegistry:
    """A fresh registry holding only the monitoring collector (one per application)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitoringCollector(uow, store))
    return registry
