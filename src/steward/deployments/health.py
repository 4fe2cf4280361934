"""The canary's health evaluator, pure: from what the candidate did in this stage to a verdict.

A model server counts, per version and stage, the requests answered, the model errors, the
requests slower than the latency threshold, a sample of latencies and (when ground truth
arrives) labelled and correct predictions, and hands them to :func:`evaluate`:

- **rollback** as soon as a threshold is breached *with confidence*: the one-sided Wilson bound
  at ``policy.confidence`` of the error rate is above ``max_error_rate``; of the share of requests
  slower than ``max_latency_p95_ms`` is above 5% (the p95 is above the threshold); of the
  accuracy is below ``min_accuracy`` (or, against the stable version, the drop beyond
  ``max_accuracy_drop``). A version failing every request is caught after ``min_requests``;
  a few unlucky requests of a healthy one are not a breach.
- **advance** (or **promote** at the last stage) once the stage was held long enough (requests
  and minutes) and every point estimate is within its threshold;
- **hold** otherwise, saying what it waits for.

Accuracy is judged only once ``min_labelled`` labels arrived ("when labels arrive"); without
labels the canary progresses on errors and latency.

>>> from steward.deployments.models import CanarySchedule, HealthPolicy
>>> broken = VariantHealth(requests=12, errors=12)
>>> evaluate(broken, None, HealthPolicy(), CanarySchedule(), 0, 1.0).decision
<Decision.ROLLBACK: 'rollback'>
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

from steward.deployments.models import CanarySchedule, HealthPolicy

P95_SHARE = 0.05  # p95 > T  <=>  more than 5% of requests take longer than T


class Decision(enum.StrEnum):
    HOLD = "hold"
    ADVANCE = "advance"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


class CheckStatus(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"


@dataclass(frozen=True)
class VariantHealth:
    """What one version did during a stage (counts, and latency quantiles of a recent sample)."""

    requests: int = 0
    errors: int = 0
    slow: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    labelled: int = 0
    correct: int = 0

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error_rate": self.error_rate, "accuracy": self.accuracy}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> VariantHealth:
        keys = ("requests", "errors", "slow", "p50_ms", "p95_ms", "labelled", "correct")
        return cls(**{k: doc[k] for k in keys if k in doc})


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    value: float | None
    threshold: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reasons: tuple[str, ...]
    checks: tuple[Check, ...] = field(default=())

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "reasons": list(self.reasons),
            "checks": [c.to_dict() for c in self.checks],
        }


def wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    """One-sided Wilson score bounds ``(low, high)`` of a proportion at ``confidence``.

    >>> low, high = wilson(0, 100, 0.95)
    >>> low, round(high, 4)
    (0.0, 0.0263)
    """
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / denom), min(1.0, (centre + spread) / denom)


def _errors(c: VariantHealth, policy: HealthPolicy) -> Check:
    rate, limit = c.error_rate, policy.max_error_rate
    if c.requests < policy.min_requests:
        return Check("error_rate", CheckStatus.PENDING, rate, limit, f"{c.requests} of {policy.min_requests} requests")
    low, _ = wilson(c.errors, c.requests, policy.confidence)
    if low > limit:
        detail = f"error rate {c.errors}/{c.requests} = {rate:.1%} is above {limit:.2%} (lower bound {low:.2%})"
        return Check("error_rate", CheckStatus.FAIL, rate, limit, detail)
    assert rate is not None
    status = CheckStatus.PASS if rate <= limit else CheckStatus.PENDING
    return Check("error_rate", status, rate, limit, f"error rate {c.errors}/{c.requests} = {rate:.2%}")


def _latency(c: VariantHealth, policy: HealthPolicy) -> Check | None:
    limit = policy.max_latency_p95_ms
    if limit is None:
        return None
    if c.requests < policy.min_requests:
        return Check(
            "latency_p95", CheckStatus.PENDING, c.p95_ms, limit, f"{c.requests} of {policy.min_requests} requests"
        )
    low, _ = wilson(c.slow, c.requests, policy.confidence)
    share = c.slow / c.requests
    if low > P95_SHARE:
        detail = f"p95 latency is above {limit:g} ms: {c.slow}/{c.requests} requests ({share:.0%}) were slower"
        return Check("latency_p95", CheckStatus.FAIL, c.p95_ms, limit, detail)
    status = CheckStatus.PASS if share <= P95_SHARE else CheckStatus.PENDING
    shown = "n/a" if c.p95_ms is None else f"{c.p95_ms:.1f} ms"
    return Check("latency_p95", status, c.p95_ms, limit, f"p95 {shown}; {c.slow}/{c.requests} slower than {limit:g} ms")


def _accuracy(c: VariantHealth, stable: VariantHealth | None, policy: HealthPolicy) -> list[Check]:
    out: list[Check] = []
    if not policy.gates_accuracy:
        return out
    if c.labelled < policy.min_labelled:
        detail = f"{c.labelled} of {policy.min_labelled} labels arrived; accuracy is not judged yet"
        return [Check("accuracy", CheckStatus.PENDING, c.accuracy, policy.min_accuracy, detail)]
    acc = c.accuracy
    assert acc is not None
    if policy.min_accuracy is not None:
        _, high = wilson(c.correct, c.labelled, policy.confidence)
        if high < policy.min_accuracy:
            detail = f"accuracy {c.correct}/{c.labelled} = {acc:.1%} is below {policy.min_accuracy:.1%}"
            out.append(Check("accuracy", CheckStatus.FAIL, acc, policy.min_accuracy, detail))
        else:
            status = CheckStatus.PASS if acc >= policy.min_accuracy else CheckStatus.PENDING
            out.append(
                Check("accuracy", status, acc, policy.min_accuracy, f"accuracy {acc:.1%} on {c.labelled} labels")
            )
    if policy.max_accuracy_drop is not None and stable is not None and stable.labelled >= policy.min_labelled:
        base = stable.accuracy
        assert base is not None
        drop = base - acc
        z = NormalDist().inv_cdf(policy.confidence)
        se = math.sqrt(base * (1 - base) / stable.labelled + acc * (1 - acc) / c.labelled)
        limit = policy.max_accuracy_drop
        if drop - z * se > limit:
            detail = f"accuracy dropped {drop:.1%} below the stable version's {base:.1%} (limit {limit:.1%})"
            out.append(Check("accuracy_drop", CheckStatus.FAIL, drop, limit, detail))
        else:
            status = CheckStatus.PASS if drop <= limit else CheckStatus.PENDING
            out.append(Check("accuracy_drop", status, drop, limit, f"{drop:+.1%} against the stable version"))
    return out


def evaluate(
    candidate: VariantHealth,
    stable: VariantHealth | None,
    policy: HealthPolicy,
    schedule: CanarySchedule,
    stage_index: int,
    stage_elapsed_s: float,
) -> Verdict:
    """The verdict on the candidate after ``stage_elapsed_s`` seconds of stage ``stage_index``."""
    checks = [_errors(candidate, policy)]
    latency = _latency(candidate, policy)
    if latency is not None:
        checks.append(latency)
    checks.extend(_accuracy(candidate, stable, policy))
    failed = [c.detail for c in checks if c.status is CheckStatus.FAIL]
    if failed:
        return Verdict(Decision.ROLLBACK, tuple(failed), tuple(checks))
    no_labels_yet = candidate.labelled < policy.min_labelled  # accuracy is gated only once labels arrive
    waiting = [
        c.detail for c in checks if c.status is CheckStatus.PENDING and not (c.name == "accuracy" and no_labels_yet)
    ]
    if candidate.requests < schedule.min_requests:
        waiting.append(f"stage holds for {schedule.min_requests} requests; {candidate.requests} so far")
    if stage_elapsed_s < schedule.min_minutes * 60.0:
        waiting.append(f"stage holds for {schedule.min_minutes:g} min; {stage_elapsed_s / 60.0:.1f} so far")
    if waiting:
        return Verdict(Decision.HOLD, tuple(waiting), tuple(checks))
    pct = schedule.stages[stage_index]
    if stage_index >= schedule.last:
        return Verdict(Decision.PROMOTE, (f"healthy at {pct:g}% (the last stage)",), tuple(checks))
    nxt = schedule.stages[stage_index + 1]
    return Verdict(Decision.ADVANCE, (f"healthy at {pct:g}%: on to {nxt:g}%",), tuple(checks))
