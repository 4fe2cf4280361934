"""Deployment use cases: deploy, roll back, promote, the transitions model servers decide, health,
history, A/B outcomes. Each takes a unit of work, raises typed errors and never commits.

Every transition goes through the state machine of :mod:`steward.deployments.models`, bumps the
deployment's ``generation`` and appends one history row (who, when, why, and what the state
became). A transition that names the generation it was decided on (a model server rolling a
canary back) is refused with :class:`~steward.core.errors.Conflict` when the deployment moved
meanwhile, so two deciders can never both apply.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from steward.core.clock import now_ms
from steward.core.errors import Conflict, InvalidArgument, NotFound
from steward.core.ids import new_id
from steward.deployments import models as m
from steward.deployments.models import Action, DeploymentState, RolloutConfig, RolloutStatus, Strategy
from steward.deployments.repository import to_state
from steward.deployments.tables import DeploymentEventRow, DeploymentRow, OutcomeRow, RolloutRow

if TYPE_CHECKING:
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.deployments")
MAX_OUTCOMES = 100_000
MAX_REASON = 2000


@dataclass(frozen=True)
class Rollout:
    id: str
    strategy: Strategy
    stable_version: int
    candidate_version: int
    config: RolloutConfig
    status: RolloutStatus
    started_by: str
    started_at: int
    ended_by: str | None
    ended_at: int | None
    end_reason: str | None

    @classmethod
    def of(cls, row: RolloutRow) -> Rollout:
        return cls(
            row.id,
            Strategy(row.strategy),
            row.stable_version,
            row.candidate_version,
            RolloutConfig.from_dict(row.config),
            RolloutStatus(row.status),
            row.started_by,
            row.started_at,
            row.ended_by,
            row.ended_at,
            row.end_reason,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "strategy": self.strategy.value,
            "stable_version": self.stable_version,
            "candidate_version": self.candidate_version,
            "config": self.config.to_dict(),
            "status": self.status.value,
            "started_by": self.started_by,
            "started_at": self.started_at,
            "ended_by": self.ended_by,
            "ended_at": self.ended_at,
            "end_reason": self.end_reason,
        }


@dataclass(frozen=True)
class Deployment:
    """A deployment as people see it: routing state, current rollout, last reported health."""

    state: DeploymentState
    description: str
    created_by: str
    created_at: int
    updated_at: int
    health: dict[str, Any] | None
    health_at: int | None
    rollout: Rollout | None

    @property
    def name(self) -> str:
        return self.state.name

    def to_dict(self) -> dict[str, Any]:
        s = self.state
        schedule = s.config.schedule if s.config is not None else None
        return {
            "name": s.name,
            "model": s.model,
            "state": s.state.value,
            "strategy": s.strategy.value,
            "stable_version": s.stable_version,
            "previous_version": s.previous_version,
            "candidate_version": s.candidate_version,
            "traffic": s.traffic,
            "split": s.split,
            "stage_index": s.stage_index if schedule is not None else None,
            "stages": list(schedule.stages) if schedule is not None else None,
            "generation": s.generation,
            "stage_started_at": s.stage_started_at,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "health": self.health,
            "health_at": self.health_at,
            "rollout": self.rollout.to_dict() if self.rollout is not None else None,
        }


@dataclass(frozen=True)
class Event:
    id: int
    action: str
    actor: str
    reason: str
    from_state: str | None
    to_state: str
    stable_version: int
    candidate_version: int | None
    stage_index: int
    traffic: float
    generation: int
    rollout_id: str | None
    details: dict[str, Any]
    at: int

    @classmethod
    def of(cls, row: DeploymentEventRow) -> Event:
        return cls(
            row.id,
            row.action,
            row.actor,
            row.reason,
            row.from_state,
            row.to_state,
            row.stable_version,
            row.candidate_version,
            row.stage_index,
            row.traffic,
            row.generation,
            row.rollout_id,
            dict(row.details or {}),
            row.at,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# reading ---------------------------------------------------------------------------------------
def _row(uow: UnitOfWork, name: str, *, for_update: bool = False) -> DeploymentRow:
    row = uow.deployments.row(name, for_update=for_update) if isinstance(name, str) else None
    if row is None:
        raise NotFound("deployment", name, f"No deployment named {name!r}.")
    return row


def _view(uow: UnitOfWork, row: DeploymentRow) -> Deployment:
    rollout = uow.deployments.rollout(row.rollout_id) if row.rollout_id else None
    return Deployment(
        to_state(row, rollout),
        row.description,
        row.created_by,
        row.created_at,
        row.updated_at,
        dict(row.health) if row.health else None,
        row.health_at,
        Rollout.of(rollout) if rollout is not None else None,
    )


def get(uow: UnitOfWork, name: str) -> Deployment:
    return _view(uow, _row(uow, name))


def list_deployments(uow: UnitOfWork) -> list[Deployment]:
    return [_view(uow, r) for r in uow.deployments.rows()]


def serving_states(uow: UnitOfWork, names: Sequence[str]) -> dict[str, DeploymentState]:
    """What model servers need to route ``names`` (missing names are left out)."""
    out = {}
    for row in uow.deployments.rows(list(names)):
        rollout = uow.deployments.rollout(row.rollout_id) if row.rollout_id else None
        out[row.name] = to_state(row, rollout)
    return out


def history(uow: UnitOfWork, name: str, *, limit: int = 200, before_id: int | None = None) -> list[Event]:
    """Transitions, newest first."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidArgument(f"The 'limit' must be an integer in [1, 10000]. Got {limit!r} instead.", field="limit")
    return [Event.of(e) for e in uow.deployments.events(_row(uow, name).id, limit=limit, before_id=before_id)]


def rollouts(uow: UnitOfWork, name: str, *, limit: int = 100) -> list[Rollout]:
    """Rollouts, newest first."""
    return [Rollout.of(r) for r in uow.deployments.rollouts(_row(uow, name).id, limit)]


def rollout(uow: UnitOfWork, name: str, rollout_id: str | None = None, strategy: Strategy | None = None) -> Rollout:
    """A rollout of ``name``: the one named, else the current one, else the latest (of ``strategy``)."""
    row = _row(uow, name)
    if rollout_id is not None:
        found = uow.deployments.rollout(rollout_id)
        if found is None or found.deployment_id != row.id:
            raise NotFound("rollout", rollout_id, f"Deployment {name!r} has no rollout {rollout_id!r}.")
        return Rollout.of(found)
    if row.rollout_id is not None:
        current = uow.deployments.rollout(row.rollout_id)
        if current is not None and (strategy is None or current.strategy == strategy.value):
            return Rollout.of(current)
    for r in uow.deployments.rollouts(row.id, 1000):
        if strategy is None or r.strategy == strategy.value:
            return Rollout.of(r)
    what = f"{strategy.value} rollout" if strategy else "rollout"
    raise NotFound("rollout", name, f"Deployment {name!r} has had no {what} yet.")


# changing --------------------------------------------------------------------------------------
def _text(value: object, field: str, limit: int = MAX_REASON) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidArgument(f"The {field!r} must be text of at most {limit} characters.", field=field)
    return value


def _actor(actor: object) -> str:
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 256:
        raise InvalidArgument(f"The 'actor' must be 1-256 characters. Got {actor!r} instead.", field="actor")
    return actor


def resolve_version(uow: UnitOfWork, model: str) -> tuple[str, int]:
    """``NAME@alias`` or ``NAME/VERSION`` to (model name, version) through the registry, now."""
    from steward.serving.loader import registry_version
    from steward.serving.models import ModelRef

    if not isinstance(model, str):
        raise InvalidArgument(f"The 'model' must be NAME@alias or NAME/VERSION. Got {model!r} instead.", field="model")
    ref = ModelRef.parse(model)
    if ref.path is not None:
        raise InvalidArgument(
            f"A deployment serves registered model versions; register {model!r} first (got a folder).", field="model"
        )
    name, version, _ = registry_version(uow, ref)
    return name, version


def _record(
    uow: UnitOfWork,
    row: DeploymentRow,
    before: DeploymentState | None,
    after: DeploymentState,
    action: Action,
    actor: str,
    reason: str,
    details: Mapping[str, Any] | None,
    at: int,
    rollout_id: str | None,
) -> None:
    uow.deployments.add_event(
        DeploymentEventRow(
            deployment_id=row.id,
            rollout_id=rollout_id,
            action=action.value,
            actor=actor,
            reason=reason,
            from_state=before.state.value if before is not None else None,
            to_state=after.state.value,
            stable_version=after.stable_version,
            candidate_version=after.candidate_version,
            stage_index=after.stage_index,
            traffic=after.traffic,
            generation=after.generation,
            details=dict(details) if details else None,
            at=at,
        )
    )
    log.info(
        "deployment %s: %s",
        after.name,
        action.value,
        extra={"ctx_deployment": after.name, "ctx_action": action.value, "ctx_actor": actor, "ctx_reason": reason},
    )


def _apply(
    uow: UnitOfWork,
    row: DeploymentRow,
    before: DeploymentState,
    after: DeploymentState,
    action: Action,
    *,
    actor: str,
    reason: str,
    details: Mapping[str, Any] | None,
    at: int,
) -> Deployment:
    if not uow.deployments.write_state(row, after, before.generation, at):
        raise Conflict(
            f"Deployment {before.name!r} changed while {action.value} was applied; read it again and retry.",
            state=before.state.value,
            action=action.value,
        )
    rollout_id = before.rollout_id or after.rollout_id
    if before.rollout_id is not None and after.rollout_id is None:
        ended = uow.deployments.rollout(before.rollout_id)
        if ended is not None:
            promoted = action is Action.PROMOTE
            ended.status = (RolloutStatus.PROMOTED if promoted else RolloutStatus.ROLLED_BACK).value
            ended.ended_by, ended.ended_at, ended.end_reason = actor, at, reason
    _record(uow, row, before, after, action, actor, reason, details, at, rollout_id)
    return _view(uow, row)


def _current(uow: UnitOfWork, name: str, expected_generation: int | None) -> tuple[DeploymentRow, DeploymentState]:
    row = _row(uow, name, for_update=True)
    rollout = uow.deployments.rollout(row.rollout_id) if row.rollout_id else None
    state = to_state(row, rollout)
    if expected_generation is not None and state.generation != expected_generation:
        raise Conflict(
            f"Deployment {name!r} is at generation {state.generation}, not {expected_generation}: it changed "
            "since the decision was taken.",
            state=state.state.value,
        )
    return row, state


def deploy(
    uow: UnitOfWork,
    name: str,
    model: str,
    *,
    config: RolloutConfig | None = None,
    actor: str,
    reason: str = "",
    description: str | None = None,
) -> Deployment:
    """Serve ``model`` under ``name``: create the deployment, switch its version (``config``
    None), or start a canary / shadow / A/B rollout of it next to the stable version.

    >>> deploy(uow, "churn-api", "churn@champion", actor="ana")  # doctest: +SKIP
    >>> deploy(uow, "churn-api", "churn/4", config=RolloutConfig.canary(), actor="ana")  # doctest: +SKIP
    """
    m.check_deployment_name(name)
    actor, reason = _actor(actor), _text(reason, "reason")
    description = _text(description, "description", 10_000) if description is not None else None
    model_name, version = resolve_version(uow, model)
    at = now_ms()
    details: dict[str, Any] = {"model": model, "resolved": f"{model_name}/{version}"}
    row = uow.deployments.row(name, for_update=True)
    if row is None:
        if config is not None and config.strategy is not Strategy.SINGLE:
            raise InvalidArgument(
                f"Deployment {name!r} does not exist yet: deploy its first version with the 'single' strategy; "
                f"a {config.strategy.value} rollout needs a stable version to compare with and fall back to.",
                field="strategy",
            )
        state = m.create(name, model_name, version, now_ms=at)
        row = uow.deployments.add(
            DeploymentRow(
                name=name,
                model_name=model_name,
                state=state.state.value,
                stable_version=version,
                previous_version=None,
                candidate_version=None,
                rollout_id=None,
                stage_index=-1,
                traffic=0.0,
                generation=state.generation,
                stage_started_at=at,
                health=None,
                health_at=None,
                description=description or "",
                created_by=actor,
                created_at=at,
                updated_at=at,
            )
        )
        _record(uow, row, None, state, Action.CREATE, actor, reason, details, at, None)
        return _view(uow, row)
    before = to_state(row, uow.deployments.rollout(row.rollout_id) if row.rollout_id else None)
    if model_name != before.model:
        raise InvalidArgument(
            f"Deployment {name!r} serves versions of model {before.model!r}; {model!r} is model {model_name!r}. "
            "Use another deployment name for another model.",
            field="model",
        )
    if description is not None:
        row.description = description
    if config is None or config.strategy is Strategy.SINGLE:
        after = m.deploy(before, version, now_ms=at)
        return _apply(uow, row, before, after, Action.DEPLOY, actor=actor, reason=reason, details=details, at=at)
    rollout_id = new_id()
    after = m.start_rollout(before, config, version, rollout_id=rollout_id, now_ms=at)
    uow.deployments.add_rollout(
        RolloutRow(
            id=rollout_id,
            deployment_id=row.id,
            strategy=config.strategy.value,
            stable_version=before.stable_version,
            candidate_version=version,
            config=config.to_dict(),
            status=RolloutStatus.RUNNING.value,
            started_by=actor,
            started_at=at,
        )
    )
    action = {Strategy.CANARY: Action.START_CANARY, Strategy.SHADOW: Action.START_SHADOW}.get(
        config.strategy, Action.START_AB
    )
    details = {**details, "config": config.to_dict()}
    return _apply(uow, row, before, after, action, actor=actor, reason=reason, details=details, at=at)


def rollback(
    uow: UnitOfWork,
    name: str,
    *,
    actor: str,
    reason: str = "",
    expected_generation: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> Deployment:
    """Back to the previous version: drop the running rollout's candidate, or else revert the
    stable version to the one before it."""
    actor, reason = _actor(actor), _text(reason, "reason")
    row, before = _current(uow, name, expected_generation)
    at = now_ms()
    after = m.rollback(before, now_ms=at)
    action = m.rollback_action(before.state)
    return _apply(uow, row, before, after, action, actor=actor, reason=reason, details=details, at=at)


def promote(
    uow: UnitOfWork,
    name: str,
    *,
    actor: str,
    reason: str = "",
    expected_generation: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> Deployment:
    """The running rollout's candidate becomes the stable version (a canary skips its last stages)."""
    actor, reason = _actor(actor), _text(reason, "reason")
    row, before = _current(uow, name, expected_generation)
    at = now_ms()
    after = m.promote(before, now_ms=at)
    return _apply(uow, row, before, after, Action.PROMOTE, actor=actor, reason=reason, details=details, at=at)


def advance(
    uow: UnitOfWork,
    name: str,
    *,
    actor: str,
    reason: str = "",
    expected_generation: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> Deployment:
    """The canary's next stage."""
    actor, reason = _actor(actor), _text(reason, "reason")
    row, before = _current(uow, name, expected_generation)
    at = now_ms()
    after = m.advance(before, now_ms=at)
    return _apply(uow, row, before, after, Action.ADVANCE, actor=actor, reason=reason, details=details, at=at)


DECISIONS = {"advance": advance, "promote": promote, "rollback": rollback}


def decide(
    uow: UnitOfWork,
    name: str,
    decision: str,
    *,
    expected_generation: int,
    actor: str,
    reason: str,
    details: Mapping[str, Any] | None = None,
) -> Deployment:
    """Apply what a model server's health evaluator decided at ``expected_generation``."""
    fn = DECISIONS.get(decision)
    if fn is None:
        raise InvalidArgument(f"The decision must be one of {sorted(DECISIONS)}. Got {decision!r}.", field="decision")
    return fn(uow, name, actor=actor, reason=reason, expected_generation=expected_generation, details=details)


def report_health(uow: UnitOfWork, name: str, health: Mapping[str, Any], *, generation: int) -> bool:
    """Keep the latest health a model server measured (False, and ignored, if it is stale)."""
    row = _row(uow, name)
    if row.generation != generation:
        return False
    uow.deployments.set_health(row, {**health, "generation": generation}, now_ms())
    return True


# A/B outcomes ----------------------------------------------------------------------------------
def _outcome(raw: Mapping[str, Any], index: int) -> tuple[str, float, float | None]:
    if not isinstance(raw, Mapping):
        raise InvalidArgument(f"outcomes[{index}] must be an object with 'unit_id' and 'value'.", field="outcomes")
    unit, value, cov = raw.get("unit_id"), raw.get("value"), raw.get("covariate")
    if isinstance(unit, int) and not isinstance(unit, bool):
        unit = str(unit)
    if not isinstance(unit, str) or not unit or len(unit) > 256:
        raise InvalidArgument(f"outcomes[{index}].unit_id must be 1-256 characters. Got {unit!r}.", field="unit_id")
    for label, v in (("value", value), ("covariate", cov)):
        if v is None and label == "covariate":
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidArgument(f"outcomes[{index}].{label} must be a finite number. Got {v!r}.", field=label)
    return unit, float(value), None if cov is None else float(cov)  # type: ignore[arg-type]


def record_outcomes(
    uow: UnitOfWork, name: str, outcomes: Sequence[Mapping[str, Any]], *, rollout_id: str | None = None
) -> dict[str, Any]:
    """Record per-unit outcomes of an A/B test (the current one unless ``rollout_id`` names one).

    Each unit's variant is computed with the same :class:`~steward.experiments.Assigner` the
    router uses, so routing and analysis agree. Recording a unit again replaces its outcome.
    """
    from steward.deployments.ab import assigner

    if not isinstance(outcomes, Sequence) or not outcomes or len(outcomes) > MAX_OUTCOMES:
        raise InvalidArgument(f"Send 1 to {MAX_OUTCOMES} outcomes at a time.", field="outcomes")
    parsed = {u: (v, c) for u, v, c in (_outcome(o, i) for i, o in enumerate(outcomes))}
    ab = rollout(uow, name, rollout_id, Strategy.AB)
    assign = assigner(name, ab)
    at = now_ms()
    variants = assign.assign_many(list(parsed))
    rows = [
        OutcomeRow(rollout_id=ab.id, unit_id=u, variant=var, value=v, covariate=c, recorded_at=at)
        for (u, (v, c)), var in zip(parsed.items(), variants, strict=True)
    ]
    uow.deployments.put_outcomes(ab.id, rows)
    counts = {"control": variants.count("control"), "treatment": variants.count("treatment")}
    return {"rollout_id": ab.id, "recorded": len(rows), "by_variant": counts}
