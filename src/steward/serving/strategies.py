"""Routers for the deployment strategies: canary (a weighted split that moves in stages), shadow
(the candidate gets a copy, its answers are logged and never returned) and A/B (sticky
assignment of units). Each implements :class:`~steward.serving.router.Router`.

``route`` runs on the event loop for every request: one SHA-256 of a short key (about a
microsecond) and a comparison, no I/O, no allocation (the two possible routes are built once).
The split hashes the caller's unit id (``X-Steward-Unit``) when there is one, so a user stays
on one version, or else the request id. A unit's position is the same number
:func:`steward.experiments.bucket` gives, and a canary sends the positions below its traffic
share to the candidate, so a unit in the 5% stage stays in the candidate at 10%.

>>> router = CanaryRouter("3", "4", 0.1, salt="churn-api:r1")
>>> routes = [router.route(RouteContext(f"req-{i}")).primary for i in range(10_000)]
>>> round(routes.count("4") / len(routes), 2)
0.1
"""

from __future__ import annotations

import hashlib
from typing import Any

from steward.deployments.models import DeploymentState, State
from steward.experiments import Assigner
from steward.serving.canary import HealthWindow
from steward.serving.router import Route, RouteContext, Router, SingleVersionRouter

_SCALE = float(2**53)


def salt_prefix(salt: str) -> bytes:
    raw = salt.encode("utf-8")
    return f"{len(raw)}:".encode() + raw + b":"


def position(key: str, prefix: bytes) -> float:
    """The key's place in [0, 1): equal to ``steward.experiments.bucket(key, salt)``."""
    digest = hashlib.sha256(prefix + key.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / _SCALE


class _Watched:
    """Per-version health windows that ``observe`` feeds (unknown versions are ignored: a request
    still in flight when the router was replaced may report on a version it no longer has)."""

    stable: str
    candidate: str
    _windows: dict[str, HealthWindow]

    def _watch(self, slow_ms: float | None) -> None:
        self._windows = {self.stable: HealthWindow(slow_ms), self.candidate: HealthWindow(slow_ms)}
        self.labels: dict[str, tuple[int, int]] = {}

    def variants(self) -> tuple[str, ...]:
        return (self.stable, self.candidate)

    def observe(self, variant: str, ok: bool, latency_s: float) -> None:
        w = self._windows.get(variant)
        if w is not None:
            w.record(ok, latency_s)

    def window(self, variant: str) -> HealthWindow:
        return self._windows[variant]

    def reset(self) -> None:
        for w in self._windows.values():
            w.reset()
        self.labels = {}

    def health(self) -> dict[str, dict[str, Any]]:
        return {v: w.snapshot(*self.labels.get(v, (0, 0))).to_dict() for v, w in self._windows.items()}


class CanaryRouter(_Watched):
    """``traffic`` of the requests to the candidate, the rest to the stable version."""

    kind = "canary"

    def __init__(self, stable: str, candidate: str, traffic: float, *, salt: str, slow_ms: float | None = None) -> None:
        self.stable, self.candidate = stable, candidate
        self._prefix = salt_prefix(salt)
        self._to_stable, self._to_candidate = Route(stable), Route(candidate)
        self.traffic = traffic
        self._watch(slow_ms)

    def route(self, ctx: RouteContext) -> Route:
        t = self.traffic
        if t <= 0.0:
            return self._to_stable
        if t >= 1.0:
            return self._to_candidate
        if position(ctx.unit_id or ctx.request_id, self._prefix) < t:
            return self._to_candidate
        return self._to_stable

    def set_traffic(self, traffic: float) -> None:
        """Move to a new stage: a new share, and fresh health windows."""
        self.traffic = traffic
        self.reset()

    def halt(self) -> None:
        """Every request to the stable version, now (the candidate breached its health gates)."""
        self.traffic = 0.0


class ShadowRouter(_Watched):
    """The stable version answers; the candidate gets a copy of ``fraction`` of the requests."""

    kind = "shadow"

    def __init__(self, stable: str, candidate: str, fraction: float = 1.0, *, salt: str) -> None:
        self.stable, self.candidate = stable, candidate
        self.fraction = fraction
        self._prefix = salt_prefix(salt)
        self._plain, self._mirrored = Route(stable), Route(stable, (candidate,))
        self._watch(None)

    def route(self, ctx: RouteContext) -> Route:
        if self.fraction >= 1.0 or position(ctx.request_id, self._prefix) < self.fraction:
            return self._mirrored
        return self._plain


class ABRouter(_Watched):
    """Units to control (stable) or treatment (candidate) by :class:`~steward.experiments.Assigner`."""

    kind = "ab"

    def __init__(self, stable: str, candidate: str, split: tuple[float, float], *, salt: str) -> None:
        self.stable, self.candidate = stable, candidate
        self.assigner = Assigner(salt=salt, variants=("control", "treatment"), weights=split)
        assert self.assigner.weights is not None
        self._edge = float(self.assigner.weights[0])
        self._prefix = salt_prefix(salt)
        self._control, self._treatment = Route(stable), Route(candidate)
        self._watch(None)

    def route(self, ctx: RouteContext) -> Route:
        # Assigner.assign(key) == "treatment" exactly when the bucket is at or past the first edge;
        # computed here without numpy (a test holds the two to agreement).
        if position(ctx.unit_id or ctx.request_id, self._prefix) >= self._edge:
            return self._treatment
        return self._control


def router_for(state: DeploymentState) -> Router:
    """The router a deployment's persisted state asks for."""
    stable = str(state.stable_version)
    if state.state is State.STABLE or state.candidate_version is None:
        return SingleVersionRouter(stable)
    candidate, cfg = str(state.candidate_version), state.config
    salt = f"{state.name}:{state.rollout_id}"
    if state.state is State.CANARY:
        slow = cfg.health.max_latency_p95_ms if cfg is not None and cfg.health is not None else None
        return CanaryRouter(stable, candidate, state.traffic, salt=salt, slow_ms=slow)
    if state.state is State.SHADOW:
        return ShadowRouter(stable, candidate, state.traffic, salt=salt)
    assert cfg is not None and cfg.ab is not None
    return ABRouter(stable, candidate, cfg.ab.split, salt=salt)
