"""API shapes for promotion, lineage and version details (``/api/v1/models``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from steward.registry.promotion import PRODUCTION, GateOutcome, Policy, PromotionEvent, PromotionResult
from steward.registry.schemas import ModelVersionOut


class GatesOut(BaseModel):
    status: str
    summary: str
    gates: list[dict[str, Any]]
    source: str

    @classmethod
    def of(cls, g: GateOutcome) -> GatesOut:
        return cls(**g.to_dict())


class VersionDetailOut(ModelVersionOut):
    signature: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    gates: GatesOut


class PolicyIn(BaseModel):
    require_gates: bool = True
    require_approval: bool = False
    min_approvals: int = Field(default=1, ge=1, le=10)
    reason: str = ""


class PolicyOut(BaseModel):
    require_gates: bool
    require_approval: bool
    min_approvals: int
    updated_by: str
    updated_at: int

    @classmethod
    def of(cls, p: Policy) -> PolicyOut:
        return cls(
            require_gates=p.require_gates,
            require_approval=p.require_approval,
            min_approvals=p.min_approvals,
            updated_by=p.updated_by,
            updated_at=p.updated_at,
        )


class RegisterIn(BaseModel):
    run_id: str = Field(min_length=1, max_length=64)
    path: str = Field(default="model", min_length=1, max_length=1024)
    description: str = Field(default="", max_length=10_000)


class PromoteIn(BaseModel):
    alias: str = PRODUCTION
    reason: str = Field(default="", max_length=10_000)


class PromotionEventOut(BaseModel):
    model: str
    version: int | None
    alias: str
    action: str
    actor: str
    reason: str
    at: int
    details: dict[str, Any]

    @classmethod
    def of(cls, e: PromotionEvent) -> PromotionEventOut:
        return cls(
            model=e.model,
            version=e.version,
            alias=e.alias,
            action=e.action,
            actor=e.actor,
            reason=e.reason,
            at=e.at,
            details=e.details,
        )


class PromotionOut(BaseModel):
    promoted: bool
    event: PromotionEventOut
    gates: GatesOut
    approvers: list[str]
    reasons: list[str]
    previous_version: int | None

    @classmethod
    def of(cls, r: PromotionResult) -> PromotionOut:
        return cls(
            promoted=r.promoted,
            event=PromotionEventOut.of(r.event),
            gates=GatesOut.of(r.gates),
            approvers=r.decision.approvers,
            reasons=r.decision.reasons,
            previous_version=r.previous_version,
        )


class PromotionHistoryOut(BaseModel):
    model: str
    events: list[PromotionEventOut]
    next_page_token: str | None = None
