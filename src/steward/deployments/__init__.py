"""Deployments: a name callers use, the model versions behind it, and how traffic moves between
them: single, canary (staged, health-gated, promotes or rolls itself back), shadow (the candidate
answers copies, compared from the prediction log) and A/B (sticky assignment, sound statistics).

- :mod:`~steward.deployments.models`: states, transitions, rollout configuration (pure).
- :mod:`~steward.deployments.health`: the canary's health evaluator (pure).
- :mod:`~steward.deployments.service`: deploy, rollback, promote, history, outcomes.
- :mod:`~steward.deployments.shadow` / :mod:`~steward.deployments.ab`: the comparison report and
  the A/B analysis, read from the prediction log and recorded outcomes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steward.deployments.ab import ab_analysis, assigner
    from steward.deployments.health import Check, CheckStatus, Decision, VariantHealth, Verdict, evaluate, wilson
    from steward.deployments.logs import PredictionLog
    from steward.deployments.models import (
        ABConfig,
        Action,
        CanarySchedule,
        DeploymentState,
        HealthPolicy,
        RolloutConfig,
        RolloutStatus,
        State,
        Strategy,
        parse_split,
        parse_stages,
    )
    from steward.deployments.service import (
        Deployment,
        Event,
        Rollout,
        advance,
        decide,
        deploy,
        get,
        history,
        list_deployments,
        promote,
        record_outcomes,
        report_health,
        rollback,
        rollouts,
        serving_states,
    )
    from steward.deployments.shadow import ShadowComparison, shadow_report

# Loaded on first use: the A/B analysis pulls in pandas and scipy, which the CLI's other
# commands (and the pure state machine) should not pay for.
_HOME = {
    **dict.fromkeys(("ab_analysis", "assigner"), "ab"),
    **dict.fromkeys(("Check", "CheckStatus", "Decision", "VariantHealth", "Verdict", "evaluate", "wilson"), "health"),
    "PredictionLog": "logs",
    **dict.fromkeys(
        (
            "ABConfig", "Action", "CanarySchedule", "DeploymentState", "HealthPolicy", "RolloutConfig",
            "RolloutStatus", "State", "Strategy", "parse_split", "parse_stages",
        ),
        "models",
    ),
    **dict.fromkeys(
        (
            "Deployment", "Event", "Rollout", "advance", "decide", "deploy", "get", "history", "list_deployments",
            "promote", "record_outcomes", "report_health", "rollback", "rollouts", "serving_states",
        ),
        "service",
    ),
    **dict.fromkeys(("ShadowComparison", "shadow_report"), "shadow"),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'steward.deployments' has no attribute {name!r}")
    return getattr(importlib.import_module(f"steward.deployments.{module}"), name)


__all__ = [
    "ABConfig",
    "Action",
    "CanarySchedule",
    "Check",
    "CheckStatus",
    "Decision",
    "Deployment",
    "DeploymentState",
    "Event",
    "HealthPolicy",
    "PredictionLog",
    "Rollout",
    "RolloutConfig",
    "RolloutStatus",
    "ShadowComparison",
    "State",
    "Strategy",
    "VariantHealth",
    "Verdict",
    "ab_analysis",
    "advance",
    "assigner",
    "decide",
    "deploy",
    "evaluate",
    "get",
    "history",
    "list_deployments",
    "parse_split",
    "parse_stages",
    "promote",
    "record_outcomes",
    "report_health",
    "rollback",
    "rollouts",
    "serving_states",
    "shadow_report",
    "wilson",
]
