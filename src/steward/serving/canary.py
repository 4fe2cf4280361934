"""The canary's eyes and hands inside the model server.

:class:`HealthWindow` is what a router's ``observe`` feeds on the request path: three counters
and a bounded ring of recent latencies (no allocation beyond the float, no lock: it runs on the
event loop). :class:`CanaryController` runs off the request path, a few times a second: it turns
the windows into :class:`~steward.deployments.health.VariantHealth`, asks the pure evaluator for
a verdict, and acts on it at once in this process (a breach sends every request back to the
stable version before anything is written anywhere), then hands the decision on as a
:class:`Proposal`, to be recorded in the deployment's history with the generation it was decided
on (so that two model servers never both apply one).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steward.deployments.health import Decision, VariantHealth, Verdict, evaluate
from steward.deployments.models import CanarySchedule, HealthPolicy

if TYPE_CHECKING:
    from steward.serving.strategies import CanaryRouter


class HealthWindow:
    """Requests, errors, slow requests and recent latencies of one version, since a reset."""

    __slots__ = ("errors", "latencies", "requests", "slow", "slow_s")

    def __init__(self, slow_ms: float | None = None, size: int = 2048) -> None:
        self.slow_s = math.inf if slow_ms is None else slow_ms / 1000.0
        self.requests = self.errors = self.slow = 0
        self.latencies: deque[float] = deque(maxlen=size)

    def record(self, ok: bool, latency_s: float) -> None:
        self.requests += 1
        if not ok:
            self.errors += 1
        if latency_s > self.slow_s:
            self.slow += 1
        self.latencies.append(latency_s)

    def reset(self) -> None:
        self.requests = self.errors = self.slow = 0
        self.latencies.clear()

    def snapshot(self, labelled: int = 0, correct: int = 0) -> VariantHealth:
        p50 = p95 = None
        if self.latencies:
            ordered = sorted(self.latencies)
            n = len(ordered)
            p50 = ordered[min(n - 1, int(0.50 * n))] * 1000.0
            p95 = ordered[min(n - 1, int(0.95 * n))] * 1000.0
        return VariantHealth(self.requests, self.errors, self.slow, p50, p95, labelled, correct)


@dataclass(frozen=True)
class Proposal:
    """A transition a model server decided, to be recorded at ``expected_generation``."""

    deployment: str
    decision: str
    expected_generation: int
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


class CanaryController:
    """Judges one canary router; acts locally; proposes the transition.

    ``generation`` is the deployment's generation the router was built for; it moves on with
    each advance this controller makes (optimistically: if the record is refused, the model
    server re-reads the deployment and replaces router and controller alike).
    """

    def __init__(
        self,
        deployment: str,
        router: CanaryRouter,
        schedule: CanarySchedule,
        policy: HealthPolicy,
        *,
        stage_index: int,
        generation: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deployment = deployment
        self.router = router
        self.schedule = schedule
        self.policy = policy
        self.stage_index = stage_index
        self.generation = generation
        self.clock = clock
        self.stage_started = clock()
        self.stage_started_ms = time.time_ns() // 1_000_000
        self.done = False
        self.last: Verdict | None = None

    def health(self) -> tuple[VariantHealth, VariantHealth]:
        r = self.router
        c_lab, c_ok = r.labels.get(r.candidate, (0, 0))
        s_lab, s_ok = r.labels.get(r.stable, (0, 0))
        return r.window(r.candidate).snapshot(c_lab, c_ok), r.window(r.stable).snapshot(s_lab, s_ok)

    def tick(self) -> Proposal | None:
        """Evaluate now; on a decision, apply it to the router and return the proposal."""
        if self.done:
            return None
        candidate, stable = self.health()
        elapsed = self.clock() - self.stage_started
        verdict = evaluate(candidate, stable, self.policy, self.schedule, self.stage_index, elapsed)
        self.last = verdict
        if verdict.decision is Decision.HOLD:
            return None
        details = {
            "stage_index": self.stage_index,
            "stage_percent": self.schedule.stages[self.stage_index],
            "stage_seconds": round(elapsed, 3),
            "candidate": candidate.to_dict(),
            "stable": stable.to_dict(),
            "verdict": verdict.to_dict(),
        }
        proposal = Proposal(self.deployment, verdict.decision.value, self.generation, verdict.reason, details)
        if verdict.decision is Decision.ROLLBACK:
            self.router.halt()
            self.done = True
        elif verdict.decision is Decision.PROMOTE:
            self.router.set_traffic(1.0)
            self.done = True
        else:
            self.stage_index += 1
            self.generation += 1
            self.router.set_traffic(self.schedule.traffic(self.stage_index))
            self.stage_started = self.clock()
            self.stage_started_ms = time.time_ns() // 1_000_000
        return proposal

    def status(self) -> dict[str, Any]:
        candidate, stable = self.health()
        return {
            "stage_index": self.stage_index,
            "stage_seconds": round(self.clock() - self.stage_started, 3),
            "verdict": self.last.to_dict() if self.last is not None else None,
            "variants": {self.router.candidate: candidate.to_dict(), self.router.stable: stable.to_dict()},
        }
