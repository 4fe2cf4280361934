"""API shapes of deployments (inputs; outputs are the views' ``to_dict``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from steward.deployments.models import RolloutConfig, build_config
from steward.deployments.service import MAX_OUTCOMES


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DeployIn(_In):
    """``steward deploy`` over REST: options that do not apply to the strategy are refused."""

    name: str = Field(description="The deployment's name (created on first deploy).")
    model: str = Field(description="NAME@alias or NAME/VERSION, resolved to a version now.")
    strategy: Literal["single", "canary", "shadow", "ab"] = "single"
    split: str | None = Field(None, description="A/B: STABLE/CANDIDATE ('90/10'); shadow: share copied ('25%').")
    stages: list[float] | str | None = Field(None, description="Canary stages in percent, ending at 100.")
    hold_requests: int | None = None
    hold_minutes: float | None = None
    max_error_rate: float | None = None
    max_latency_p95_ms: float | None = Field(None, description="0 turns the latency gate off.")
    min_accuracy: float | None = None
    max_accuracy_drop: float | None = None
    metric_type: Literal["mean", "proportion"] | None = None
    mde: float | None = None
    planned_n: int | None = None
    alpha: float | None = None
    higher_is_better: bool | None = None
    sequential: bool | None = None
    reason: str = Field("", max_length=2000)
    description: str | None = Field(None, max_length=10_000)

    def config(self) -> RolloutConfig | None:
        return build_config(
            self.strategy,
            split=self.split,
            stages=self.stages,
            hold_requests=self.hold_requests,
            hold_minutes=self.hold_minutes,
            max_error_rate=self.max_error_rate,
            max_latency_p95_ms=self.max_latency_p95_ms,
            min_accuracy=self.min_accuracy,
            max_accuracy_drop=self.max_accuracy_drop,
            metric_type=self.metric_type,
            mde=self.mde,
            planned_n=self.planned_n,
            alpha=self.alpha,
            higher_is_better=self.higher_is_better,
            sequential=self.sequential,
        )


class ActionIn(_In):
    reason: str = Field("", max_length=2000)


class OutcomeIn(_In):
    unit_id: str | int
    value: float
    covariate: float | None = None


class OutcomesIn(_In):
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=MAX_OUTCOMES)
    rollout_id: str | None = Field(None, max_length=32)
