"""Experiment tracking: experiments, runs, params, metrics, tags, artifacts, dataset inputs."""

from steward.tracking.models import DatasetInput, Experiment, Lifecycle, Metric, MetricBatch, Run, RunStatus

__all__ = ["DatasetInput", "Experiment", "Lifecycle", "Metric", "MetricBatch", "Run", "RunStatus"]
