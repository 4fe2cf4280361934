"""API shapes for tracking (pydantic). NaN and infinities travel as "NaN", "Infinity" and
"-Infinity" (JSON has no literal for them); both strings and numbers are accepted on input."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from steward.tracking.models import DatasetInput, Experiment, Metric, Run


class Out(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")


class ExperimentOut(Out):
    id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str]

    @classmethod
    def of(cls, e: Experiment) -> ExperimentOut:
        return cls(
            id=str(e.id),
            name=e.name,
            artifact_location=e.artifact_location,
            lifecycle_stage=e.lifecycle_stage,
            creation_time=e.creation_time,
            last_update_time=e.last_update_time,
            tags=e.tags,
        )


class MetricOut(Out):
    key: str
    value: float
    step: int
    timestamp: int

    @classmethod
    def of(cls, m: Metric) -> MetricOut:
        return cls(key=m.key, value=m.value, step=m.step, timestamp=m.timestamp)


class DatasetInputModel(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    digest: str = Field(min_length=1, max_length=64)
    source_type: str = ""
    source: str = ""
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    profile: dict[str, Any] | None = None
    num_rows: int | None = Field(default=None, ge=0)
    tags: dict[str, str] = Field(default_factory=dict)

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    def to_domain(self) -> DatasetInput:
        return DatasetInput(
            self.name,
            self.digest,
            self.source_type,
            self.source,
            self.schema_,
            self.profile,
            self.num_rows,
            self.tags,
        )

    @classmethod
    def of(cls, d: DatasetInput) -> DatasetInputModel:
        return cls(
            name=d.name,
            digest=d.digest,
            source_type=d.source_type,
            source=d.source,
            schema=d.schema,
            profile=d.profile,
            num_rows=d.num_rows,
            tags=d.tags,
        )


class RunOut(Out):
    id: str
    experiment_id: str
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
    params: dict[str, str]
    metrics: list[MetricOut]
    tags: dict[str, str]
    inputs: list[DatasetInputModel]

    @classmethod
    def of(cls, r: Run) -> RunOut:
        return cls(
            id=r.id,
            experiment_id=str(r.experiment_id),
            name=r.name,
            status=r.status,
            start_time=r.start_time,
            end_time=r.end_time,
            user_id=r.user_id,
            source=r.source,
            git_commit=r.git_commit,
            environment=r.environment,
            lifecycle_stage=r.lifecycle_stage,
            artifact_uri=r.artifact_uri,
            params=r.params,
            metrics=[MetricOut.of(m) for m in r.metrics.values()],
            tags=r.tags,
            inputs=[DatasetInputModel.of(d) for d in r.inputs],
        )


class ExperimentPage(Out):
    items: list[ExperimentOut]
    next_page_token: str | None


class RunPage(Out):
    items: list[RunOut]
    next_page_token: str | None


class MetricPage(Out):
    items: list[MetricOut]
    next_page_token: str | None


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=256)
    artifact_location: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class ExperimentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=256)


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experiment_id: str | None = None
    experiment_name: str | None = None
    name: str = ""
    start_time: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    source: str = ""
    git_commit: str | None = None
    environment: dict[str, Any] | None = None


class RunPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = None
    end_time: int | None = None
    name: str | None = None


class ParamsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, str | int | float | bool]


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: dict[str, str]


class MetricsIn(BaseModel):
    """Columnar points: ``key[i]`` had ``value[i]`` at ``step[i]`` (default 0) and
    ``timestamp[i]`` (default now, in ms)."""

    model_config = ConfigDict(extra="forbid")
    key: list[str]
    value: list[float]
    step: list[int] | None = None
    timestamp: list[int] | None = None


class InputsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    datasets: list[DatasetInputModel]


class BatchIn(BaseModel):
    """Params, tags and metric points in one transaction, optionally ending the run: what the
    SDK sends when a run finishes, so the last points and the status land together."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: MetricsIn | None = None
    status: str | None = None


class LoggedCount(Out):
    logged: int
