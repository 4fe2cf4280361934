"""Alert rules as configuration, their evaluation, and the alert state machine (pure).

A rule names a monitored metric, a threshold, the window the metric is computed over and a
severity; written in YAML or JSON::

    rules:
      data_drift:       {threshold: 0.1,   window: 7d,  severity: warning}
      prediction_drift: {threshold: 0.15,  window: 3d,  severity: critical}
      latency_p95:      {threshold: 150ms, window: 1h,  severity: critical}
      error_rate:       {threshold: 0.01,  window: 30m, severity: critical}
      accuracy_drop:    {metric: estimated_accuracy, threshold: 0.8, window: 1d, retrain: true}

A rule whose name is a metric needs no ``metric``. Each metric knows its direction (drift,
latency and error rates alarm *at or above* the threshold; accuracy, ROC AUC and p-values *at
or below*). Thresholds take units where the metric has one (``150ms``, ``0.2s``, ``1%``).

State. One alert per (deployment, rule) at a time: a breach with no firing alert *fires* one
(and notifies); further breaches keep it firing without a new notification (deduplicated),
except every ``repeat_every`` if set; ``resolve_after`` consecutive evaluations within the
threshold *resolve* it (and notify); a window without enough data changes nothing.

Example:
    >>> rules = RuleSet.parse("rules: {latency_p95: {threshold: 150ms, window: 1h, severity: critical}}")
    >>> rule = rules.rules[0]
    >>> rule.metric, rule.threshold, rule.window
    ('latency_p95', 150.0, '1h')
    >>> ev = evaluate(rule, {"latency_p95_ms": 180.0, "requests": 500})
    >>> ev.breached, transition(None, ev, rule, now_ms=0).action
    (True, 'fire')
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from steward.core.errors import InvalidArgument
from steward.monitoring.windows import WindowSpec, parse_duration

Direction = Literal["above", "below"]
Action = Literal["fire", "renotify", "resolve", "keep", "none"]


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class MetricInfo:
    key: str
    direction: Direction
    unit: str
    min_rows: int
    description: str
    rows_key: str = "rows"


METRICS: dict[str, MetricInfo] = {
    "data_drift": MetricInfo("data_drift_share", "above", "share", 100, "share of drifted feature columns"),
    "prediction_drift": MetricInfo("prediction_drift", "above", "score", 100, "drift score of the prediction"),
    "score_drift": MetricInfo("score_drift", "above", "score", 100, "drift score of the positive-class score"),
    "multivariate_drift": MetricInfo("multivariate_drift", "above", "ratio", 200, "reconstruction error / reference"),
    "domain_classifier": MetricInfo("domain_classifier_auc", "above", "auc", 200, "AUC telling window from reference"),
    "latency_p50": MetricInfo("latency_p50_ms", "above", "ms", 1, "median request latency", "requests"),
    "latency_p95": MetricInfo("latency_p95_ms", "above", "ms", 1, "95th percentile of request latency", "requests"),
    "latency_p99": MetricInfo("latency_p99_ms", "above", "ms", 1, "99th percentile of request latency", "requests"),
    "error_rate": MetricInfo("error_rate", "above", "share", 1, "failed requests / requests", "requests_total"),
    "estimated_accuracy": MetricInfo("estimated_accuracy", "below", "share", 100, "CBPE accuracy"),
    "estimated_roc_auc": MetricInfo("estimated_roc_auc", "below", "share", 100, "CBPE ROC AUC"),
    "accuracy": MetricInfo("accuracy", "below", "share", 30, "realised accuracy", "labelled_rows"),
    "roc_auc": MetricInfo("roc_auc", "below", "share", 30, "realised ROC AUC", "labelled_rows"),
    "concept_drift": MetricInfo(
        "concept_drift_p_value", "below", "p", 30, "p-value of the error-rate shift", "labelled_rows"
    ),
    "rows": MetricInfo("rows", "below", "rows", 0, "predictions in the window (silence)"),
}
_MS_UNITS = ("ms", "s", "m", "h")


def _threshold(value: object, unit: str, rule: str) -> float:
    if isinstance(value, bool):
        raise InvalidArgument(f"The threshold of rule {rule!r} must be a number. Got {value!r}.", field="threshold")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100.0
        if unit == "ms" and text.lower().endswith(_MS_UNITS):
            return float(parse_duration(text, field="threshold")) if text[-2:].lower() == "ms" else _seconds(text)
        return float(text)
    except (ValueError, InvalidArgument):
        raise InvalidArgument(
            f"The threshold of rule {rule!r} must be a number{' or a duration such as 150ms' if unit == 'ms' else ''}."
            f" Got {value!r} instead.",
            field="threshold",
        ) from None


def _seconds(text: str) -> float:
    # Sub-millisecond precision survives: "0.25s" is 250.0, "1.5m" is 90000.0.
    factor = {"s": 1e3, "m": 6e4, "h": 3.6e6}[text[-1].lower()]
    return float(text[:-1]) * factor


class AlertRule(BaseModel):
    """One rule (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    metric: str
    threshold: float
    window: str = "1d"
    severity: Severity = Severity.WARNING
    direction: Direction | None = None
    min_rows: int | None = Field(default=None, ge=0)
    channels: list[str] | None = None
    retrain: bool = False
    repeat_every: str | None = None
    resolve_after: int = Field(default=1, ge=1, le=100)
    description: str = Field(default="", max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        doc = dict(data)
        doc.setdefault("metric", doc.get("name"))
        metric = doc.get("metric")
        if metric in METRICS and "threshold" in doc:
            doc["threshold"] = _threshold(doc["threshold"], METRICS[metric].unit, str(doc.get("name")))
        return doc

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"must be one of {sorted(METRICS)}, got {value!r}")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        return WindowSpec.parse(value).text

    @field_validator("repeat_every")
    @classmethod
    def _repeat(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value, field="repeat_every")
        return value

    @property
    def info(self) -> MetricInfo:
        return METRICS[self.metric]

    @property
    def effective_direction(self) -> Direction:
        return self.direction or self.info.direction

    @property
    def effective_min_rows(self) -> int:
        return self.info.min_rows if self.min_rows is None else self.min_rows

    @property
    def window_spec(self) -> WindowSpec:
        return WindowSpec.parse(self.window)


class RuleSet(BaseModel):
    """The rules of one deployment, and the pipeline a ``retrain`` rule launches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[AlertRule] = Field(default_factory=list)
    retrain_pipeline: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("rules"), Mapping):
            rules = []
            for name, spec in data["rules"].items():
                if not isinstance(spec, Mapping):
                    raise ValueError(f"rule {name!r} must be a mapping, got {spec!r}")
                rules.append({"name": name, **spec})
            return {**data, "rules": rules}
        return data

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; {dupes} repeat")
        return self

    @classmethod
    def parse(cls, source: str | Mapping[str, Any]) -> RuleSet:
        """Rules from YAML or JSON text, or from a mapping; errors name the rule and field."""
        doc: Any = source
        if isinstance(source, str):
            try:
                doc = yaml.safe_load(source) if source.strip() else {}
            except yaml.YAMLError as exc:
                raise InvalidArgument(f"The alert rules are not valid YAML/JSON: {exc}", field="rules") from None
        if doc is None:
            doc = {}
        if isinstance(doc, Mapping) and "rules" not in doc and "retrain_pipeline" not in doc:
            doc = {"rules": doc}
        try:
            return cls.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidArgument(
                f"Invalid alert rules at {where or 'top level'}: {first['msg']}", field="rules"
            ) from None
        except InvalidArgument:
            raise

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

    def windows(self) -> list[str]:
        """The distinct windows the rules need, in order of first use."""
        return list(dict.fromkeys(r.window for r in self.rules))


@dataclass(frozen=True)
class Evaluation:
    """A rule applied to one window's metrics. ``breached`` is None when the window lacks the
    metric or the rows the rule needs (no verdict, no state change)."""

    rule: str
    metric: str
    value: float | None
    threshold: float
    direction: Direction
    breached: bool | None
    severity: Severity
    window: str
    reason: str = ""


def _evaluation(rule: AlertRule, value: float | None, breached: bool | None, reason: str = "") -> Evaluation:
    return Evaluation(
        rule.name,
        rule.metric,
        value,
        rule.threshold,
        rule.effective_direction,
        breached,
        rule.severity,
        rule.window,
        reason,
    )


def evaluate(rule: AlertRule, metrics: Mapping[str, float | int | None]) -> Evaluation:
    """Apply ``rule`` to a window's metrics (keys as in :data:`METRICS`); a breach is a value at
    or beyond the threshold in the rule's direction."""
    key = rule.info.key
    raw = metrics.get(key)
    if raw is None or raw != raw:  # missing or NaN
        return _evaluation(rule, None, None, f"no {key} in this window")
    value = float(raw)
    rows = int(metrics.get(rule.info.rows_key) or 0)
    if rows < rule.effective_min_rows:
        return _evaluation(rule, value, None, f"{rule.info.rows_key} {rows} < min_rows {rule.effective_min_rows}")
    breached = value >= rule.threshold if rule.effective_direction == "above" else value <= rule.threshold
    return _evaluation(rule, value, breached)


@dataclass(frozen=True)
class AlertStatus:
    """What is remembered of one (deployment, rule) alert between evaluations."""

    state: AlertState
    fired_at: int
    last_notified_at: int | None = None
    ok_streak: int = 0
    resolved_at: int | None = None
    value: float | None = None


@dataclass(frozen=True)
class Transition:
    action: Action
    status: AlertStatus | None

    @property
    def notify(self) -> bool:
        return self.action in ("fire", "renotify", "resolve")


def transition(current: AlertStatus | None, ev: Evaluation, rule: AlertRule, *, now_ms: int) -> Transition:
    """The next state of an alert after evaluation ``ev`` (see the module docstring)."""
    firing = current is not None and current.state is AlertState.FIRING
    if ev.breached is None:
        return Transition("keep" if firing else "none", current)
    if not firing:
        if ev.breached:
            return Transition("fire", AlertStatus(AlertState.FIRING, now_ms, now_ms, 0, None, ev.value))
        return Transition("none", current)
    assert current is not None
    if ev.breached:
        status = replace(current, ok_streak=0, value=ev.value)
        last = current.last_notified_at or current.fired_at
        if rule.repeat_every is not None and now_ms - last >= parse_duration(rule.repeat_every):
            return Transition("renotify", replace(status, last_notified_at=now_ms))
        return Transition("keep", status)
    streak = current.ok_streak + 1
    if streak >= rule.resolve_after:
        return Transition(
            "resolve", replace(current, state=AlertState.RESOLVED, ok_streak=streak, resolved_at=now_ms, value=ev.value)
        )
    return Transition("keep", replace(current, ok_streak=streak, value=ev.value))


def dedup_key(deployment: str, rule: str) -> str:
    """The identity of "the same alert": one per deployment and rule."""
    return f"monitoring:{deployment}:{rule}"
