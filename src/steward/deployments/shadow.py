"""The shadow comparison report: how the challenger (fed a copy of the traffic, its answers logged
as ``role=mirror`` and never returned) compares with the version that answered.

- coverage: the share of answered rows whose copy the challenger also answered (a mirror that
  raised, or was still queued when the window closed, leaves a gap);
- agreement rate: the share of compared rows where both predicted the same;
- prediction deltas: mean and mean absolute difference of numeric predictions, of the positive
  class's score for a binary classifier, and the most frequent disagreements;
- metric deltas: with ground truth, accuracy (and, for numbers, the mean absolute error) of each
  on the labelled rows; without, the mean prediction and score of each;
- latency overhead: each one's server time per request (p50, p95) and the mean extra time the
  challenger took on the same request.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from steward.core.clock import now_ms
from steward.deployments.logs import PredictionLog
from steward.deployments.models import Strategy
from steward.deployments.service import rollout

if TYPE_CHECKING:
    from steward.store.uow import UnitOfWork


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


@dataclass(frozen=True)
class ShadowComparison:
    deployment: str
    rollout_id: str
    status: str
    primary_version: int
    challenger_version: int
    since_ms: int
    until_ms: int
    primary_rows: int
    compared_rows: int
    coverage: float | None
    agreement: float | None
    prediction: dict[str, Any]
    metrics: dict[str, dict[str, Any]]
    latency: dict[str, Any]
    disagreements: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _metrics(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def put(name: str, a: Any, b: Any, **extra: Any) -> None:
        if a is not None or b is not None:
            out[name] = {"primary": a, "challenger": b, "delta": _delta(a, b), **extra}

    labelled = int(raw.get("labelled") or 0)
    if labelled:
        put("accuracy", raw.get("primary_accuracy"), raw.get("challenger_accuracy"), labelled=labelled)
        put("mae", raw.get("primary_mae"), raw.get("challenger_mae"), labelled=labelled)
    put("mean_prediction", raw.get("primary_mean"), raw.get("challenger_mean"))
    put("mean_score", raw.get("primary_score"), raw.get("challenger_score"))
    return out


def shadow_report(uow: UnitOfWork, name: str, log: PredictionLog, *, rollout_id: str | None = None) -> ShadowComparison:
    """Compare the challenger of ``name``'s shadow (the current one, else the latest) with the
    version that answered, over the rollout's window."""
    r = rollout(uow, name, rollout_id, Strategy.SHADOW)
    until = r.ended_at if r.ended_at is not None else now_ms()
    # a mirror answers after its request: its row may be stamped a little after the rollout ended
    raw = log.shadow(name, str(r.stable_version), str(r.candidate_version), r.started_at, until + 60_000)
    primary_rows, compared = int(raw.get("primary_rows") or 0), int(raw.get("compared_rows") or 0)
    notes = []
    if primary_rows == 0:
        notes.append("No logged predictions in the rollout's window yet (the log is flushed every second or so).")
    elif int(raw.get("labelled") or 0) == 0:
        notes.append("No ground truth has arrived for these predictions: metric deltas compare predictions only.")
    if r.config.mirror_fraction < 1.0:
        notes.append(f"The challenger receives a copy of {r.config.mirror_fraction:.0%} of the requests.")
    prediction = {
        "mean_delta": raw.get("mean_delta"),
        "mean_abs_delta": raw.get("mean_abs_delta"),
        "mean_abs_score_delta": raw.get("mean_abs_score_delta"),
    }
    return ShadowComparison(
        deployment=name,
        rollout_id=r.id,
        status=r.status.value,
        primary_version=r.stable_version,
        challenger_version=r.candidate_version,
        since_ms=r.started_at,
        until_ms=until,
        primary_rows=primary_rows,
        compared_rows=compared,
        coverage=compared / primary_rows if primary_rows else None,
        agreement=raw.get("agreement"),
        prediction=prediction,
        metrics=_metrics(raw),
        latency=dict(raw.get("latency") or {}),
        disagreements=list(raw.get("disagreements") or []),
        notes=notes,
    )
