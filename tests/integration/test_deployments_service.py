"""Deployment services on SQLite and PostgreSQL: transitions and their history, refusals that
change nothing, compare-and-set decisions, health reports, A/B outcomes and their analysis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from steward.core.errors import Conflict, InvalidArgument, NotFound
from steward.deployments import ab, service
from steward.deployments.models import ABConfig, CanarySchedule, RolloutConfig, State
from steward.experiments import Assigner
from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.store.base import load_all_tables

CANARY = RolloutConfig.canary(CanarySchedule((10, 50, 100), min_requests=5, min_minutes=0))


@pytest.fixture
def rt(store_runtime: Runtime) -> Runtime:
    with store_runtime.uow() as uow:
        registry.create_model(uow, "churn")
        registry.create_model(uow, "other")
        for _ in range(4):
            registry.create_version(uow, "churn", source="file:///nowhere", run_id=None)
        registry.create_version(uow, "other", source="file:///nowhere")
        registry.set_alias(uow, "churn", "production", 1, actor="t")
        uow.commit()
    return store_runtime


def deploy(rt: Runtime, model: str, config: RolloutConfig | None = None, **kw: Any) -> service.Deployment:
    with rt.uow() as uow:
        d = service.deploy(uow, "api", model, config=config, actor=kw.pop("actor", "ana"), **kw)
        uow.commit()
    return d


def snapshot(rt: Runtime) -> tuple[Any, ...]:
    with rt.uow() as uow:
        try:
            d = service.get(uow, "api")
        except NotFound:
            return ()
        return d.state, len(service.history(uow, "api")), len(service.rollouts(uow, "api"))


def test_migration_creates_exactly_the_deployment_tables(store_runtime: Runtime) -> None:
    with store_runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_all_tables())
    assert [d for d in diff if "deployment" in repr(d)] == []


def test_a_deployment_is_created_switched_and_reverted_with_its_history(rt: Runtime) -> None:
    first = deploy(rt, "churn@production", reason="launch", description="churn scores for the CRM")
    assert (first.state.state, first.state.stable_version, first.description) == (
        State.STABLE,
        1,
        "churn scores for the CRM",
    )
    deploy(rt, "churn/2", reason="retrained")
    with rt.uow() as uow:
        back = service.rollback(uow, "api", actor="bob", reason="complaints")
        uow.commit()
    assert (back.state.stable_version, back.state.previous_version) == (1, 2)
    with rt.uow() as uow:
        events = service.history(uow, "api")
    assert [(e.action, e.actor, e.reason, e.stable_version) for e in events] == [
        ("revert", "bob", "complaints", 1),
        ("deploy", "ana", "retrained", 2),
        ("create", "ana", "launch", 1),
    ]
    assert events[-1].details == {"model": "churn@production", "resolved": "churn/1"}
    assert [e.generation for e in events] == [3, 2, 1]


def test_a_canary_rollout_is_recorded_from_start_to_promotion(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    started = deploy(rt, "churn/3", CANARY, reason="new features")
    assert started.rollout is not None and started.rollout.status.value == "running"
    assert started.to_dict()["split"] == {"1": 0.9, "3": 0.1}
    with rt.uow() as uow:
        service.advance(uow, "api", actor="srv", reason="healthy")
        done = service.promote(uow, "api", actor="srv", reason="healthy at 100%")
        uow.commit()
    assert (done.state.stable_version, done.state.previous_version, done.rollout) == (3, 1, None)
    with rt.uow() as uow:
        (rollout,) = service.rollouts(uow, "api")
        events = service.history(uow, "api")
    assert (rollout.status.value, rollout.ended_by, rollout.end_reason) == ("promoted", "srv", "healthy at 100%")
    assert [e.action for e in events] == ["promote", "advance", "start_canary", "create"]
    assert {e.rollout_id for e in events[:3]} == {rollout.id}
    assert events[2].details["config"]["schedule"]["stages"] == [10.0, 50.0, 100.0]


REFUSED_DEPLOYS = [
    ("nope/1", None, NotFound, "nope"),
    ("churn/99", None, NotFound, "99"),
    ("churn@staging", None, NotFound, "staging"),
    ("path:/tmp/model", None, InvalidArgument, "register"),
    ("other/1", None, InvalidArgument, "serves versions of model 'churn'"),
    ("churn/1", None, InvalidArgument, "already serves version 1"),
    ("churn/1", CANARY, InvalidArgument, "must differ"),
]


def test_refused_deploys_change_nothing(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    before = snapshot(rt)
    for model, config, error, match in REFUSED_DEPLOYS:
        with pytest.raises(error, match=match):
            deploy(rt, model, config)
        assert snapshot(rt) == before, model


def test_a_rollout_needs_a_stable_version_and_no_other_rollout(rt: Runtime) -> None:
    with pytest.raises(InvalidArgument, match="does not exist yet"):
        deploy(rt, "churn/2", CANARY)
    assert snapshot(rt) == ()
    deploy(rt, "churn/1")
    deploy(rt, "churn/2", RolloutConfig.shadow())
    before = snapshot(rt)
    with pytest.raises(Conflict, match="Roll back or promote the running rollout first"):
        deploy(rt, "churn/3", CANARY)
    with pytest.raises(Conflict, match="it is shadow"):
        deploy(rt, "churn/3")
    assert snapshot(rt) == before


def test_a_decision_taken_on_an_old_generation_is_refused(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    gen = deploy(rt, "churn/2", CANARY).state.generation
    with rt.uow() as uow:
        service.decide(uow, "api", "advance", expected_generation=gen, actor="srv-a", reason="healthy")
        uow.commit()
    before = snapshot(rt)
    with rt.uow() as uow, pytest.raises(Conflict, match="changed since the decision"):
        service.decide(uow, "api", "rollback", expected_generation=gen, actor="srv-b", reason="late")
    assert snapshot(rt) == before
    with rt.uow() as uow, pytest.raises(InvalidArgument, match="decision must be one of"):
        service.decide(uow, "api", "explode", expected_generation=gen + 1, actor="x", reason="")


def test_health_reports_are_kept_unless_stale(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    gen = deploy(rt, "churn/2", CANARY).state.generation
    with rt.uow() as uow:
        assert service.report_health(uow, "api", {"variants": {"2": {"requests": 5}}}, generation=gen)
        assert not service.report_health(uow, "api", {"variants": {}}, generation=gen - 1)
        uow.commit()
    with rt.uow() as uow:
        d = service.get(uow, "api")
    assert d.health == {"variants": {"2": {"requests": 5}}, "generation": gen} and d.health_at is not None


def test_serving_states_carry_the_rollout_configuration(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    deploy(rt, "churn/2", RolloutConfig.ab_test(ABConfig((0.7, 0.3))))
    with rt.uow() as uow:
        states = service.serving_states(uow, ["api", "missing"])
    (state,) = states.values()
    assert state.config is not None and state.config.ab is not None and state.config.ab.split == (0.7, 0.3)
    assert (state.state, state.traffic, state.versions) == (State.AB, 0.3, (1, 2))


def test_outcomes_are_assigned_like_the_router_and_analysed(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    deploy(rt, "churn/2", RolloutConfig.ab_test(ABConfig((0.5, 0.5), mde=0.2)))
    units = [f"user-{i}" for i in range(4000)]
    with rt.uow() as uow:
        rollout = service.rollout(uow, "api")
    assigner = Assigner(salt=f"api:{rollout.id}", variants=("control", "treatment"), weights=(0.5, 0.5))
    arms = assigner.assign_many(units)
    rng = np.random.default_rng(5)
    values = [float(rng.normal(10.5 if a == "treatment" else 10.0, 2.0)) for a in arms]
    outcomes = [{"unit_id": u, "value": v} for u, v in zip(units, values, strict=True)]
    with rt.uow() as uow:
        result = service.record_outcomes(uow, "api", outcomes)
        uow.commit()
    assert result["recorded"] == 4000 and result["by_variant"]["treatment"] == arms.count("treatment")
    with rt.uow() as uow:
        doc = ab.ab_analysis(uow, "api")
    assert doc["source"] == "outcomes" and doc["counts"] == {
        "control": arms.count("control"),
        "treatment": arms.count("treatment"),
    }
    assert doc["versions"] == {"control": 1, "treatment": 2}
    assert doc["recommendation"]["decision"] == "ship"
    assert doc["analysis"]["sequential"]["test"] == "msprt"
    assert doc["analysis"]["primary"]["difference"] == pytest.approx(
        np.mean([v for v, a in zip(values, arms, strict=True) if a == "treatment"])
        - np.mean([v for v, a in zip(values, arms, strict=True) if a == "control"])
    )
    with rt.uow() as uow:  # recording a unit again replaces its outcome
        service.record_outcomes(uow, "api", [{"unit_id": "user-0", "value": 99.0}])
        uow.commit()
        assert uow.deployments.outcome_count(rollout.id) == 4000


BAD_OUTCOMES = [
    ([], "1 to 100000"),
    ([{"unit_id": "", "value": 1.0}], "unit_id"),
    ([{"unit_id": "u", "value": "high"}], "finite number"),
    ([{"unit_id": "u", "value": float("nan")}], "finite number"),
    ([{"unit_id": "u", "value": 1.0, "covariate": True}], "covariate"),
    (["u1"], "object"),
]


def test_bad_outcomes_are_refused_and_nothing_is_recorded(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    deploy(rt, "churn/2", RolloutConfig.ab_test())
    for outcomes, match in BAD_OUTCOMES:
        with rt.uow() as uow, pytest.raises(InvalidArgument, match=match):
            service.record_outcomes(uow, "api", [{"unit_id": "ok", "value": 1.0}, *outcomes] if outcomes else [])
        with rt.uow() as uow:
            assert uow.deployments.outcome_count(service.rollout(uow, "api").id) == 0


def test_outcomes_need_an_ab_test_and_analysis_needs_data(rt: Runtime) -> None:
    deploy(rt, "churn/1")
    with rt.uow() as uow, pytest.raises(NotFound, match="no ab rollout"):
        service.record_outcomes(uow, "api", [{"unit_id": "u", "value": 1.0}])
    deploy(rt, "churn/2", RolloutConfig.ab_test())
    with rt.uow() as uow, pytest.raises(InvalidArgument, match="no data yet"):
        ab.ab_analysis(uow, "api")


def test_promotion_gates_stay_the_registrys_business(rt: Runtime) -> None:
    # A deployment serves versions; the production alias moves only through the registry's gates.
    deploy(rt, "churn@production")
    deploy(rt, "churn/2")
    with rt.uow() as uow:
        assert registry.version_by_alias(uow, "churn", promotion.PRODUCTION).version == 1
