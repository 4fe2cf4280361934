"""Promotion gates: how a model version earns a protected alias (``production``).

A version is promoted only when

1. its evaluation gates passed: the version's ``evaluation`` JSON (``{"gates": [...],
   "gates_passed": bool}``) or, failing that, what training recorded on its run (the
   ``steward.gates`` tag, the ``gates.passed`` metric, ``evaluation/gates.json``); a version
   with no evaluated gate is refused while the model's policy requires gates (the default); and
2. where the model's policy asks for it, ``min_approvals`` people holding ``models:approve``,
   other than the one promoting (four eyes), approved that version for that alias.

Every step is recorded in ``model_promotion_events`` (who, when, why, and the gate results it
saw): ``approved``, ``promoted``, ``blocked`` and ``policy`` changes. A blocked promotion is
recorded too, so the entry point commits before it reports the refusal. The alias move itself
goes through the registry service, so it also lands in the alias history.

>>> gates_from_evaluation({"gates": [{"gate": "accuracy >= 0.8", "passed": True}], "gates_passed": True}).status
'passed'
>>> decide(Policy(require_approval=True), GateOutcome("passed", "3 of 3 gates passed", []), []).allowed
False
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from steward.artifacts.blobs import BlobStore
from steward.core.clock import now_ms
from steward.core.errors import Conflict, InvalidArgument, NotFound
from steward.core.pagination import Page, check_page_size, encode_token
from steward.registry import service as registry
from steward.registry.models import (
    PROTECTED_ALIAS,
    AliasEvent,
    ModelVersion,
    Stage,
    check_alias,
    check_version,
    is_protected_alias,
    parse_stage,
)
from steward.registry.promotion_repository import PromotionRepository
from steward.registry.promotion_tables import PromotionEventRow
from steward.registry.service import MAX_MODEL_PAGE
from steward.registry.tables import ModelVersionRow, RegisteredModelRow
from steward.store.uow import UnitOfWork

PRODUCTION = PROTECTED_ALIAS
GATES_ARTIFACT = "evaluation/gates.json"


class PromotionBlocked(Conflict):
    """The version did not meet its model's promotion policy; ``reasons`` says why."""

    code = "promotion_blocked"

    def __init__(self, name: str, version: int, alias: str, reasons: Sequence[str]) -> None:
        super().__init__(
            f"Model {name!r} version {version} cannot become {alias!r}: " + "; ".join(reasons) + ".",
            model=name,
            version=version,
            alias=alias,
            reasons="; ".join(reasons),  # a string, so problem+json carries it to SDK callers
        )
        self.reasons = list(reasons)


# ---- domain (pure) ------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    require_gates: bool = True
    require_approval: bool = False
    min_approvals: int = 1
    updated_by: str = ""
    updated_at: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.min_approvals <= 10:
            raise InvalidArgument(
                f"The 'min_approvals' must be an integer in [1, 10]. Got {self.min_approvals} instead.",
                field="min_approvals",
            )


@dataclass(frozen=True)
class GateOutcome:
    status: str  # passed | failed | missing
    summary: str
    gates: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "summary": self.summary, "gates": self.gates, "source": self.source}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: list[str]
    approvers: list[str]


@dataclass(frozen=True)
class PromotionEvent:
    model: str
    version: int | None
    alias: str
    action: str
    actor: str
    reason: str
    at: int
    details: dict[str, Any] = field(default_factory=dict)


def gates_from_list(gates: Sequence[Mapping[str, Any]], source: str) -> GateOutcome:
    rows = [dict(g) for g in gates]
    if not rows:
        return GateOutcome("missing", "no gate was evaluated", [], source)
    failed = [g for g in rows if not g.get("passed")]
    if failed:
        names = ", ".join(str(g.get("gate") or g.get("name") or g.get("metric") or "?") for g in failed)
        return GateOutcome("failed", f"{len(failed)} of {len(rows)} gates failed: {names}", rows, source)
    return GateOutcome("passed", f"{len(rows)} of {len(rows)} gates passed", rows, source)


def gates_from_evaluation(evaluation: Mapping[str, Any] | None) -> GateOutcome | None:
    """The gate outcome stored on the version, or None when it stores none."""
    if not evaluation:
        return None
    gates = evaluation.get("gates")
    if isinstance(gates, list):
        outcome = gates_from_list(gates, "version.evaluation")
        if evaluation.get("gates_passed") is False and outcome.status == "passed":
            return GateOutcome("failed", "the evaluation reports failed gates", outcome.gates, outcome.source)
        return outcome
    if isinstance(evaluation.get("gates_passed"), bool):
        ok = evaluation["gates_passed"]
        return GateOutcome(
            "passed" if ok else "failed", f"gates {'passed' if ok else 'failed'}", [], "version.evaluation"
        )
    return None


def decide(policy: Policy, gates: GateOutcome, approvers: Sequence[str]) -> Decision:
    reasons = []
    if policy.require_gates and gates.status != "passed":
        reasons.append(f"evaluation gates {gates.status} ({gates.summary})")
    distinct = sorted(set(approvers))
    if policy.require_approval and len(distinct) < policy.min_approvals:
        reasons.append(
            f"{policy.min_approvals} approval(s) by someone holding 'models:approve' other than the promoter "
            f"required, {len(distinct)} given"
        )
    return Decision(not reasons, reasons, distinct)


# ---- use cases ----------------------------------------------------------------------------
def _model(uow: UnitOfWork, name: str) -> RegisteredModelRow:
    row = uow.registry.model_row(name)
    if row is None:
        raise NotFound("registered_model", name, f"Registered model {name!r} not found.")
    return row


def _version(uow: UnitOfWork, model: RegisteredModelRow, version: object) -> ModelVersionRow:
    number = check_version(version)
    row = uow.registry.version_row(model.id, number)
    if row is None:
        raise NotFound("model_version", f"{model.name}/{number}", f"Model {model.name!r} has no version {number}.")
    return row


def get_policy(uow: UnitOfWork, name: str) -> Policy:
    row = _repo(uow).policy(_model(uow, name).id)
    if row is None:
        return Policy()
    return Policy(row.require_gates, row.require_approval, row.min_approvals, row.updated_by, row.updated_at)


def set_policy(uow: UnitOfWork, name: str, policy: Policy, *, actor: str, reason: str = "") -> Policy:
    model = _model(uow, name)
    t = now_ms()
    _repo(uow).put_policy(
        model.id,
        require_gates=policy.require_gates,
        require_approval=policy.require_approval,
        min_approvals=policy.min_approvals,
        updated_by=actor,
        updated_at=t,
    )
    details: dict[str, Any] = {
        "require_gates": policy.require_gates,
        "require_approval": policy.require_approval,
        "min_approvals": policy.min_approvals,
    }
    _record(uow, model.id, None, "", "policy", actor, reason, details, t)
    return Policy(policy.require_gates, policy.require_approval, policy.min_approvals, actor, t)


def gate_outcome(uow: UnitOfWork, name: str, version: object, blobs: BlobStore | None = None) -> GateOutcome:
    model = _model(uow, name)
    return _gates(uow, _version(uow, model, version), blobs)


def _gates(uow: UnitOfWork, row: ModelVersionRow, blobs: BlobStore | None) -> GateOutcome:
    stored = gates_from_evaluation(row.evaluation)
    if stored is not None:
        return stored
    if not row.run_id:
        return GateOutcome("missing", "the version has no evaluation and no run", [], "")
    run = uow.tracking.run_row(row.run_id)
    if run is None:
        return GateOutcome("missing", f"run {row.run_id} of the version is gone", [], "")
    if blobs is not None:
        entry = uow.artifacts.get(f"{run.experiment_id}/{run.id}/artifacts/{GATES_ARTIFACT}")
        if entry is not None:
            gates = json.loads(blobs.get(entry.sha256))
            if isinstance(gates, list):
                return gates_from_list(gates, f"run {run.id}: {GATES_ARTIFACT}")
    tags = uow.tracking.load_runs([run])[0]
    tag = tags.tags.get("steward.gates")
    metric = tags.metrics.get("gates.passed")
    if tag in ("passed", "failed"):
        return GateOutcome(tag, f"training recorded gates {tag}", [], f"run {run.id}: tag steward.gates")
    if metric is not None:
        ok = metric.value >= 1.0
        return GateOutcome(
            "passed" if ok else "failed",
            f"training recorded gates.passed={metric.value:g}",
            [],
            f"run {run.id}: metric gates.passed",
        )
    return GateOutcome("missing", f"run {run.id} recorded no gate results", [], f"run {run.id}")


def approvals(uow: UnitOfWork, model_id: int, version: int, alias: str) -> list[PromotionEventRow]:
    return _repo(uow).events(model_id, version=version, alias=alias, action="approved")


def approve(
    uow: UnitOfWork, name: str, version: object, *, approver: str, reason: str = "", alias: str = PRODUCTION
) -> PromotionEvent:
    """Record ``approver``'s sign-off for ``version`` to take ``alias``. The entry point checks
    that the approver holds ``models:approve``."""
    alias = check_alias(alias, for_write=True)
    model = _model(uow, name)
    row = _version(uow, model, version)
    if any(a.actor == approver for a in approvals(uow, model.id, row.version, alias)):
        raise Conflict(f"{approver!r} already approved {name!r} version {row.version} for {alias!r}.")
    t = now_ms()
    _record(uow, model.id, row.version, alias, "approved", approver, reason, None, t)
    return PromotionEvent(name, row.version, alias, "approved", approver, reason, t)


@dataclass(frozen=True)
class PromotionResult:
    promoted: bool
    event: PromotionEvent
    gates: GateOutcome
    decision: Decision
    previous_version: int | None = None

    def raise_if_blocked(self) -> None:
        if not self.promoted:
            raise PromotionBlocked(self.event.model, self.event.version or 0, self.event.alias, self.decision.reasons)


def _evaluate(
    uow: UnitOfWork, model: RegisteredModelRow, row: ModelVersionRow, alias: str, actor: str, blobs: BlobStore | None
) -> tuple[GateOutcome, Decision, dict[str, Any]]:
    gates = _gates(uow, row, blobs)
    policy = get_policy(uow, model.name)
    approvers = [a.actor for a in approvals(uow, model.id, row.version, alias) if a.actor != actor]
    decision = decide(policy, gates, approvers)
    details: dict[str, Any] = {"gates": gates.to_dict(), "approvers": decision.approvers, "reasons": decision.reasons}
    return gates, decision, details


def promote(
    uow: UnitOfWork,
    name: str,
    version: object,
    *,
    actor: str,
    reason: str = "",
    alias: str = PRODUCTION,
    blobs: BlobStore | None = None,
) -> PromotionResult:
    """Move ``alias`` to ``version`` if its gates and approvals allow; record the outcome either
    way. The caller commits, then calls ``result.raise_if_blocked()``."""
    alias = check_alias(alias, for_write=True)
    model = _model(uow, name)
    row = _version(uow, model, version)
    gates, decision, details = _evaluate(uow, model, row, alias, actor, blobs)
    t = now_ms()
    if not decision.allowed:
        _record(uow, model.id, row.version, alias, "blocked", actor, reason, details, t)
        event = PromotionEvent(name, row.version, alias, "blocked", actor, reason, t, details)
        return PromotionResult(False, event, gates, decision)
    moved = registry.set_alias(uow, name, alias, row.version, actor=actor, reason=reason or f"promoted to {alias}")
    previous = moved.from_version if moved is not None else row.version
    details["from_version"] = previous
    _record(uow, model.id, row.version, alias, "promoted", actor, reason, details, t)
    return PromotionResult(
        True, PromotionEvent(name, row.version, alias, "promoted", actor, reason, t, details), gates, decision, previous
    )


@dataclass(frozen=True)
class AliasOutcome:
    """What setting an alias did: ``moved`` (None: it already pointed there, or was refused) and,
    for the protected alias, the promotion through the gates."""

    moved: AliasEvent | None
    promotion: PromotionResult | None = None

    def raise_if_blocked(self) -> None:
        if self.promotion is not None:
            self.promotion.raise_if_blocked()


def set_alias(
    uow: UnitOfWork,
    name: str,
    alias: str,
    version: object,
    *,
    actor: str,
    reason: str = "",
    blobs: BlobStore | None = None,
) -> AliasOutcome:
    """Point ``alias`` at ``version``: every entry point sets aliases here, so the protected alias
    (``production`` in any case) moves only through :func:`promote`. The caller commits (a
    refusal is recorded), then calls ``outcome.raise_if_blocked()``."""
    if not is_protected_alias(alias):
        return AliasOutcome(registry.set_alias(uow, name, alias, version, actor=actor, reason=reason))
    result = promote(uow, name, version, actor=actor, reason=reason, alias=PRODUCTION, blobs=blobs)
    moved = None
    if result.promoted and result.previous_version != result.event.version:
        moved = AliasEvent(PRODUCTION, result.previous_version, result.event.version, actor, reason, result.event.at)
    return AliasOutcome(moved, result)


@dataclass(frozen=True)
class StageOutcome:
    version: ModelVersion
    promotion: PromotionResult | None = None

    def raise_if_blocked(self) -> None:
        if self.promotion is not None:
            self.promotion.raise_if_blocked()


def transition_stage(
    uow: UnitOfWork,
    name: str,
    version: object,
    stage: str,
    *,
    actor: str,
    archive_existing: bool = False,
    blobs: BlobStore | None = None,
) -> StageOutcome:
    """MLflow's stage transition. ``Production`` is the protected alias under its old name: it
    takes the same gates and approvals as ``production``, and is recorded the same way."""
    if parse_stage(stage) is not Stage.PRODUCTION:
        return StageOutcome(registry.transition_stage(uow, name, version, stage, archive_existing=archive_existing))
    model = _model(uow, name)
    row = _version(uow, model, version)
    gates, decision, details = _evaluate(uow, model, row, PRODUCTION, actor, blobs)
    details["stage"] = Stage.PRODUCTION.value
    reason = f"stage transition to {Stage.PRODUCTION.value}"
    t = now_ms()
    action = "promoted" if decision.allowed else "blocked"
    _record(uow, model.id, row.version, PRODUCTION, action, actor, reason, details, t)
    event = PromotionEvent(name, row.version, PRODUCTION, action, actor, reason, t, details)
    result = PromotionResult(decision.allowed, event, gates, decision)
    if not decision.allowed:
        return StageOutcome(registry.get_version(uow, name, row.version), result)
    moved = registry.transition_stage(uow, name, row.version, stage, archive_existing=archive_existing)
    return StageOutcome(moved, result)


def _event(name: str, r: PromotionEventRow) -> PromotionEvent:
    return PromotionEvent(name, r.version, r.alias, r.action, r.actor, r.reason, r.at, r.details or {})


def history(uow: UnitOfWork, name: str, *, version: int | None = None) -> list[PromotionEvent]:
    return [_event(name, r) for r in _repo(uow).events(_model(uow, name).id, version=version)]


def history_page(
    uow: UnitOfWork, name: str, *, version: int | None = None, max_results: int = 100, page_token: str | None = None
) -> Page[PromotionEvent]:
    """:func:`history`, oldest first, with keyset pagination on (at, id)."""
    check_page_size(max_results, MAX_MODEL_PAGE)
    model = _model(uow, name)
    after = registry.page_cursor(page_token, t=int, id=int)
    rows = _repo(uow).events(
        model.id, version=version, after=(after[0], after[1]) if after else None, limit=max_results + 1
    )
    more = len(rows) > max_results
    rows = rows[:max_results]
    token = encode_token({"t": rows[-1].at, "id": rows[-1].id}) if more else None
    return Page([_event(name, r) for r in rows], token)


def _record(
    uow: UnitOfWork,
    model_id: int,
    version: int | None,
    alias: str,
    action: str,
    actor: str,
    reason: str,
    details: dict[str, Any] | None,
    at: int,
) -> None:
    row = PromotionEventRow(
        model_id=model_id,
        version=version,
        alias=alias,
        action=action,
        actor=actor,
        reason=reason or "",
        details=details,
        at=at,
    )
    _repo(uow).add_event(row)


def _repo(uow: UnitOfWork) -> PromotionRepository:
    return PromotionRepository(uow.session)
