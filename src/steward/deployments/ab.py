"""A/B tests on a deployment: the assignment both the router and the analysis use, and the
analysis itself (:func:`steward.experiments.analyze_ab`) with its recommendation.

Units (the ``X-Steward-Unit`` header: a user id, say) are hashed with
:class:`steward.experiments.Assigner` salted with the deployment and the rollout, so that a
unit keeps its variant for the whole test and a new test re-randomises. Control is the stable
version, treatment the candidate.

The data analysed, in order of preference:

1. per-unit outcomes recorded for the test (``POST /api/v1/deployments/{name}/outcomes``): one
   value per unit (and optionally a pre-period covariate, which turns CUPED on);
2. else ground truth, when it arrived for the test's predictions: whether each labelled
   prediction was correct, per request (a proportion metric; units are requests then, since the
   prediction log does not keep unit ids, which makes the intervals optimistic when a unit sends
   many requests; record outcomes to analyse by unit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from steward.core.errors import InvalidArgument
from steward.deployments.logs import PredictionLog
from steward.deployments.models import Strategy
from steward.deployments.service import Rollout, rollout
from steward.experiments import ABDesign, Assigner, analyze_ab

if TYPE_CHECKING:
    from steward.store.uow import UnitOfWork

VARIANTS = ("control", "treatment")


def salt(deployment: str, rollout_id: str) -> str:
    return f"{deployment}:{rollout_id}"


def assigner(deployment: str, ab: Rollout) -> Assigner:
    """The assignment of ``deployment``'s A/B rollout ``ab`` (what its router routes by)."""
    assert ab.config.ab is not None
    return Assigner(salt=salt(deployment, ab.id), variants=VARIANTS, weights=ab.config.ab.split)


def _design(ab: Rollout, metric_type: str) -> ABDesign:
    cfg = ab.config.ab
    assert cfg is not None
    return ABDesign(
        control="control",
        treatment="treatment",
        weights=cfg.split,
        metric_type=metric_type,
        alpha=cfg.alpha,
        mde=cfg.mde,
        planned_n=cfg.planned_n,
        higher_is_better=cfg.higher_is_better,
        sequential=cfg.sequential,
    )


def ab_analysis(
    uow: UnitOfWork, name: str, log: PredictionLog | None = None, *, rollout_id: str | None = None
) -> dict[str, Any]:
    """The analysis of ``name``'s A/B test (the current one, else the latest), JSON-safe."""
    ab = rollout(uow, name, rollout_id, Strategy.AB)
    assert ab.config.ab is not None
    outcomes = uow.deployments.outcomes(ab.id)
    versions = {"control": ab.stable_version, "treatment": ab.candidate_version}
    base = {
        "deployment": name,
        "rollout_id": ab.id,
        "status": ab.status.value,
        "split": dict(zip(VARIANTS, ab.config.ab.split, strict=True)),
        "versions": versions,
    }
    if outcomes:
        variant = [o[1] for o in outcomes]
        data: dict[str, Any] = {"variant": variant, "metric": np.array([o[2] for o in outcomes], dtype=np.float64)}
        covariate = None
        if all(o[3] is not None for o in outcomes):
            data["covariate"] = np.array([o[3] for o in outcomes], dtype=np.float64)
            covariate = "covariate"
        design = _design(ab, ab.config.ab.metric_type)
        source, unit = "outcomes", "unit"
    else:
        table = None
        if log is not None:
            until = ab.ended_at if ab.ended_at is not None else 2**62
            table = log.labelled_requests(name, [str(v) for v in versions.values()], ab.started_at, until)
        if table is None or table.num_rows == 0:
            raise InvalidArgument(
                f"The A/B test of {name!r} has no data yet: record per-unit outcomes "
                f"(POST /api/v1/deployments/{name}/outcomes) or ingest ground truth for its predictions.",
                field="outcomes",
            )
        by_version = {str(v): k for k, v in versions.items()}
        variant = [by_version[v] for v in table.column("model_version").to_pylist()]
        data = {"variant": variant, "metric": table.column("correct").to_numpy().astype(np.float64)}
        covariate, design = None, _design(ab, "proportion")
        source, unit = "ground_truth", "request"
    counts = {v: variant.count(v) for v in VARIANTS}
    if min(counts.values()) < 2:
        raise InvalidArgument(
            f"The A/B test of {name!r} needs at least 2 {unit}s per variant; it has {counts}.", field="outcomes"
        )
    analysis = analyze_ab(data, design, covariate_column=covariate)
    return {
        **base,
        "source": source,
        "unit": unit,
        "counts": counts,
        "analysis": analysis.to_dict(),
        "recommendation": analysis.recommendation.to_dict(),
    }
