"""Tracking domain types and the rules that keep logged data sane (pure, no I/O).

The shapes and limits follow MLflow's, so that runs logged through either API look the same.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from steward.core.errors import InvalidArgument

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_BATCH_POINTS = 1_000_000
_KEY = re.compile(r"^[\w\-. /:]+$")


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class Lifecycle(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True)
class Experiment:
    id: int
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True)
class DatasetInput:
    name: str
    digest: str
    source_type: str
    source: str
    schema: dict[str, Any] | None
    profile: dict[str, Any] | None
    num_rows: int | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    id: str
    experiment_id: int
    name: str
    status: str
    start_time: int
    end_time: int | None
    user_id: str
    source: str
    git_commit: str | None
    environment: dict[str, Any] | None
    lifecycle_stage: str
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    inputs: list[DatasetInput] = field(default_factory=list)


@dataclass(frozen=True)
class MetricBatch:
    """Columnar metric points for one run: the fast path for many points."""

    keys: list[str]
    values: list[float]
    steps: list[int]
    timestamps: list[int]

    def __len__(self) -> int:
        return len(self.keys)

    def points(self) -> list[Metric]:
        return [
            Metric(k, v, s, t) for k, v, s, t in zip(self.keys, self.values, self.steps, self.timestamps, strict=True)
        ]


def check_key(kind: str, key: str) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or not _KEY.match(key) or ".." in key:
        raise InvalidArgument(
            f"The {kind} key must be 1-{MAX_KEY} characters of letters, digits, '_-. /:' and no '..'. "
            f"Got {key!r} instead.",
            field=f"{kind}.key",
        )
    return key


def check_param(key: str, value: str) -> tuple[str, str]:
    check_key("param", key)
    if len(value) > MAX_PARAM_VALUE:
        raise InvalidArgument(
            f"The value of param {key!r} must be at most {MAX_PARAM_VALUE} characters. Got {len(value)}.",
            field="param.value",
        )
    return key, value


def check_tag(key: str, value: str) -> tuple[str, str]:
    check_key("tag", key)
    if len(value) > MAX_TAG_VALUE:
        raise InvalidArgument(
            f"The value of tag {key!r} must be at most {MAX_TAG_VALUE} characters. Got {len(value)}.",
            field="tag.value",
        )
    return key, value


def check_metric_batch(batch: MetricBatch) -> MetricBatch:
    n = len(batch.keys)
    if not (len(batch.values) == len(batch.steps) == len(batch.timestamps) == n):
        raise InvalidArgument(
            "The metric batch columns key, value, step and timestamp must have equal lengths. "
            f"Got {n}, {len(batch.values)}, {len(batch.steps)}, {len(batch.timestamps)} instead.",
            field="metrics",
        )
    if n > MAX_BATCH_POINTS:
        raise InvalidArgument(f"A metric batch holds at most {MAX_BATCH_POINTS} points. Got {n}.", field="metrics")
    for key in set(batch.keys):
        check_key("metric", key)
    return batch


def newer(a: Metric, b: Metric | None) -> bool:
    """True when ``a`` should replace ``b`` as a run's latest value of a key: greater step, then
    later timestamp, then larger value (MLflow's order; NaN counts as the smallest value)."""
    if b is None:
        return True
    av = -math.inf if math.isnan(a.value) else a.value
    bv = -math.inf if math.isnan(b.value) else b.value
    return (a.step, a.timestamp, av) > (b.step, b.timestamp, bv)
