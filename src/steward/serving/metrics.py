"""Prometheus metrics of one model server, on its own ``CollectorRegistry`` (never the global
one: two servers in one process, as in tests, must not share counters).

Label children are bound once per deployment and version, so the request path only does
``inc()`` / ``observe()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass
class VariantMetrics:
    """The bound children for one deployment and model version."""

    ok: Any
    invalid: Any
    failed: Any
    rows: Any
    model_errors: Any
    latency: Any
    batch_rows: Any


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("deployment", "model_version")
        self.requests = Counter(
            "steward_serving_requests",
            "Prediction requests, by outcome (ok, invalid, error).",
            (*labels, "outcome"),
            registry=self.registry,
        )
        self.rows = Counter("steward_serving_rows", "Rows predicted.", labels, registry=self.registry)
        self.errors = Counter(
            "steward_serving_errors",
            "Errors, by kind (invalid_input, model_error).",
            (*labels, "kind"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "steward_serving_request_latency_seconds",
            "Server time of a prediction request.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "steward_serving_batch_rows",
            "Rows per model call after micro-batching.",
            labels,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.log_buffered = Gauge(
            "steward_prediction_log_buffered_rows",
            "Rows waiting to be written to the prediction log.",
            registry=self.registry,
        )
        self.log_dropped = Gauge(
            "steward_prediction_log_dropped_rows",
            "Rows dropped since start (buffer full or write failed).",
            registry=self.registry,
        )
        self.log_written = Gauge(
            "steward_prediction_log_written_rows",
            "Rows written to the prediction log since start.",
            registry=self.registry,
        )

    def bind(self, deployment: str, version: str) -> VariantMetrics:
        return VariantMetrics(
            ok=self.requests.labels(deployment, version, "ok"),
            invalid=self.requests.labels(deployment, version, "invalid"),
            failed=self.requests.labels(deployment, version, "error"),
            rows=self.rows.labels(deployment, version),
            model_errors=self.errors.labels(deployment, version, "model_error"),
            latency=self.latency.labels(deployment, version),
            batch_rows=self.batch_rows.labels(deployment, version),
        )

    def invalid_input(self, deployment: str, version: str) -> None:
        self.errors.labels(deployment, version, "invalid_input").inc()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))
