"""Promotion services on SQLite and PostgreSQL: policy, approvals, blocked and granted
promotions, all recorded; the alias move lands in the alias history too."""

from __future__ import annotations

import pytest

from steward.core.errors import Conflict
from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.tracking import service as tracking


def test_promotion_flow_is_recorded_on_both_stores(store_runtime: Runtime) -> None:
    rt = store_runtime
    with rt.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "e")
        good = tracking.create_run(uow, exp.id, tags={"steward.gates": "passed"})
        registry.create_model(uow, "m")
        registry.create_version(uow, "m", source=f"runs:/{good.id}/model", run_id=good.id)
        promotion.set_policy(uow, "m", promotion.Policy(require_approval=True, min_approvals=2), actor="officer")
        uow.commit()
    with rt.uow() as uow:
        blocked = promotion.promote(uow, "m", 1, actor="eng", reason="first try")
        assert not blocked.promoted and "2 approval(s)" in blocked.decision.reasons[0]
        promotion.approve(uow, "m", 1, approver="officer", reason="fair")
        promotion.approve(uow, "m", 1, approver="auditor")
        with pytest.raises(Conflict):
            promotion.approve(uow, "m", 1, approver="auditor")
        uow.commit()
    with rt.uow() as uow:
        granted = promotion.promote(uow, "m", 1, actor="eng", reason="approved")
        uow.commit()
    assert granted.promoted and granted.decision.approvers == ["auditor", "officer"]
    with rt.uow() as uow:
        actions = [(e.action, e.actor, e.version) for e in promotion.history(uow, "m")]
        moves = registry.alias_history(uow, "m", "production")
        policy = promotion.get_policy(uow, "m")
    assert actions == [
        ("policy", "officer", None),
        ("blocked", "eng", 1),
        ("approved", "officer", 1),
        ("approved", "auditor", 1),
        ("promoted", "eng", 1),
    ]
    assert [(e.from_version, e.to_version, e.actor, e.reason) for e in moves] == [(None, 1, "eng", "approved")]
    assert (policy.require_approval, policy.min_approvals, policy.updated_by) == (True, 2, "officer")


def test_gate_outcome_reads_the_version_evaluation_first(store_runtime: Runtime) -> None:
    with store_runtime.uow() as uow:
        registry.create_model(uow, "m")
        registry.create_version(uow, "m", source="s3://bucket/m/1")
        model = uow.registry.model_row("m")
        assert model is not None
        row = uow.registry.version_row(model.id, 1)
        assert row is not None
        row.evaluation = {
            "gates": [{"gate": "accuracy >= 0.8", "passed": True}, {"gate": "dp_difference <= 0.1", "passed": False}],
            "gates_passed": False,
        }
        uow.session.flush()
        outcome = promotion.gate_outcome(uow, "m", 1)
    assert outcome.status == "failed" and "dp_difference" in outcome.summary
