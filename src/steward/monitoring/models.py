"""Monitoring domain types: what to monitor for one deployment (pure, pydantic-validated).

A monitor's configuration, as YAML::

    reference: {model: churn@production}       # or {dataset: churn@1a2b3c4d}, {window: {first: 1d}},
                                               # {window: {start: 2024-05-01T00:00Z, end: ...}}, {file: ref.parquet}
    schedule: 1h                               # the server's scheduler runs it every hour
    metrics_url: http://127.0.0.1:8080/metrics # the model server's counters (error rate)
    channels: [ops]                            # notification channels (default: all)
    options: {multivariate: true, methods: {age: psi}}   # multivariate: domain classifier + PCA error;
                                               # prediction_method / score_method override the chooser
    rules:
      data_drift: {threshold: 0.1, window: 7d, severity: warning}
      error_rate: {threshold: 0.01, window: 30m, severity: critical}
    retrain_pipeline: pipelines/churn.yaml     # what a rule with ``retrain: true`` launches

Example:
    >>> cfg = MonitorConfig.parse("reference: {window: {first: 1d}}\\nrules: {data_drift: {threshold: 0.1}}")
    >>> cfg.reference.describe(), cfg.rules.rules[0].window, cfg.windows()
    ('first 1d of the log', '1d', ['1d'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from steward.core.errors import InvalidArgument
from steward.monitoring.alerts import RuleSet
from steward.monitoring.analysis import DriftOptions
from steward.monitoring.windows import WindowSpec, parse_duration, parse_iso

DEFAULT_WINDOW = "1d"


class WindowRef(BaseModel):
    """A window of the log used as reference: ``first`` (a duration from the first prediction)
    or ``start`` / ``end`` (ISO 8601 times)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first: str | None = None
    start: str | None = None
    end: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> WindowRef:
        if (self.first is None) == (self.start is None or self.end is None):
            raise ValueError("give either 'first' (a duration) or both 'start' and 'end'")
        if self.first is not None:
            parse_duration(self.first, field="reference.window.first")
        else:
            assert self.start is not None and self.end is not None
            if parse_iso(self.end) <= parse_iso(self.start):
                raise ValueError("'end' must come after 'start'")
        return self


class ReferenceSpec(BaseModel):
    """Exactly one source of the reference (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    dataset: str | None = None
    window: WindowRef | None = None
    file: str | None = None
    target: str | None = None
    prediction: str | None = None
    score: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ReferenceSpec:
        given = [k for k in ("model", "dataset", "window", "file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"name exactly one of model, dataset, window, file; got {given or 'none'}")
        return self

    def describe(self) -> str:
        if self.model:
            return f"model {self.model} (validation set)"
        if self.dataset:
            return f"dataset {self.dataset}"
        if self.file:
            return f"file {self.file}"
        assert self.window is not None
        if self.window.first:
            return f"first {self.window.first} of the log"
        return f"window {self.window.start}/{self.window.end}"


class MonitorConfig(BaseModel):
    """Everything that says how one deployment is monitored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: ReferenceSpec = Field(default_factory=lambda: ReferenceSpec(window=WindowRef(first=DEFAULT_WINDOW)))
    rules: RuleSet = Field(default_factory=RuleSet)
    options: DriftOptions = Field(default_factory=DriftOptions)
    metrics_url: str | None = Field(default=None, max_length=2048)
    schedule: str | None = None
    channels: list[str] | None = None
    enabled: bool = True
    windows_extra: list[str] = Field(default_factory=list, alias="windows")

    @model_validator(mode="before")
    @classmethod
    def _rules(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and ("rules" in data or "retrain_pipeline" in data):
            if isinstance(data.get("rules"), RuleSet):
                return data
            doc = dict(data)
            rules = RuleSet.parse(
                {"rules": doc.pop("rules", {}) or {}, "retrain_pipeline": doc.pop("retrain_pipeline", None)}
            )
            doc["rules"] = rules
            return doc
        return data

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value, field="schedule")
        return value

    @field_validator("windows_extra")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        return [WindowSpec.parse(w).text for w in value]

    @field_validator("metrics_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value

    @classmethod
    def parse(cls, source: str | Mapping[str, Any]) -> MonitorConfig:
        """From YAML / JSON text or a mapping; errors name the field."""
        doc: Any = source
        if isinstance(source, str):
            try:
                doc = yaml.safe_load(source) if source.strip() else {}
            except yaml.YAMLError as exc:
                raise InvalidArgument(
                    f"The monitor configuration is not valid YAML/JSON: {exc}", field="config"
                ) from None
        try:
            return cls.model_validate(doc or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidArgument(
                f"Invalid monitor configuration at {where or 'top level'}: {first['msg']}", field="config"
            ) from None

    def windows(self) -> list[str]:
        """The windows a run computes: those of the rules, then any extra, else the default."""
        found = list(dict.fromkeys([*self.rules.windows(), *self.windows_extra]))
        return found or [DEFAULT_WINDOW]

    def document(self) -> dict[str, Any]:
        """JSON-safe, in the shape :meth:`parse` reads back."""
        doc = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        rules = doc.pop("rules")
        doc["rules"] = {r.pop("name"): r for r in rules["rules"]}
        if rules.get("retrain_pipeline"):
            doc["retrain_pipeline"] = rules["retrain_pipeline"]
        return doc


@dataclass(frozen=True)
class AlertChange:
    """What a monitoring run did to one rule's alert."""

    rule: str
    action: str
    alert_id: str | None
    value: float | None
    severity: str


@dataclass(frozen=True)
class AlertView:
    """An alert as shown (API, CLI, web)."""

    id: str
    deployment: str
    rule: str
    state: str
    severity: str
    metric: str
    window: str
    threshold: float
    value: float | None
    fired_at: int
    resolved_at: int | None
    last_evaluated_at: int
    run_id: str | None
    evidence_sha256: str | None
    retrain: dict[str, Any] | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RunView:
    """A monitoring run as shown: one window of one deployment."""

    id: str
    deployment: str
    window: str
    window_start: int
    window_end: int
    created_at: int
    rows: int
    labelled_rows: int
    drift_detected: bool | None
    metrics: dict[str, Any]
    notes: list[str]
    reference: str
    report_sha256: str | None
    report_html_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
