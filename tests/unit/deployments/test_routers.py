"""The strategy routers: split proportions, stickiness, agreement with the experiments'
assignment, mirrors; the canary controller acting on its health windows."""

from __future__ import annotations

import doctest
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import steward.serving.strategies
from steward.deployments import models as m
from steward.deployments.models import ABConfig, CanarySchedule, HealthPolicy, RolloutConfig
from steward.experiments import Assigner, bucket
from steward.serving.canary import CanaryController, HealthWindow
from steward.serving.router import Route, RouteContext, Router, SingleVersionRouter
from steward.serving.strategies import (
    ABRouter,
    CanaryRouter,
    ShadowRouter,
    position,
    router_for,
    salt_prefix,
)

N = 20_000


def _share(router: Router, *, units: bool = False) -> float:
    hits = 0
    for i in range(N):
        ctx = RouteContext(f"req-{i}", f"user-{i}" if units else None)
        hits += router.route(ctx).primary == "4"
    return hits / N


def _within(share: float, p: float) -> bool:
    return abs(share - p) <= 4 * math.sqrt(p * (1 - p) / N)


def test_the_module_examples_run() -> None:
    assert doctest.testmod(steward.serving.strategies).failed == 0


@given(key=st.text(max_size=60), salt=st.text(min_size=1, max_size=30))
def test_position_is_the_experiments_bucket(key: str, salt: str) -> None:
    assert position(key, salt_prefix(salt)) == bucket(key, salt)


@pytest.mark.parametrize("traffic", [0.01, 0.05, 0.1, 0.25, 0.5])
@pytest.mark.parametrize("units", [False, True])
def test_canary_split_matches_its_stage(traffic: float, units: bool) -> None:
    assert _within(_share(CanaryRouter("3", "4", traffic, salt="api:r1"), units=units), traffic)


def test_canary_at_the_ends_routes_everything_one_way() -> None:
    router = CanaryRouter("3", "4", 0.0, salt="s")
    assert _share(router) == 0.0
    router.set_traffic(1.0)
    assert _share(router) == 1.0


def test_canary_is_sticky_per_unit_and_keeps_units_in_the_candidate_as_it_grows() -> None:
    router = CanaryRouter("3", "4", 0.05, salt="api:r1")
    users = [f"user-{i}" for i in range(5000)]
    first = {u for u in users if router.route(RouteContext("any", u)).primary == "4"}
    again = {u for u in users if router.route(RouteContext("other", u)).primary == "4"}
    assert first == again  # the request id does not matter when a unit id is given
    router.set_traffic(0.10)
    later = {u for u in users if router.route(RouteContext("x", u)).primary == "4"}
    assert first < later


def test_canary_halt_sends_everything_to_the_stable_version() -> None:
    router = CanaryRouter("3", "4", 0.5, salt="s")
    router.halt()
    assert {router.route(RouteContext(str(i))) for i in range(100)} == {Route("3")}


@given(
    share=st.floats(0.01, 0.99),
    units=st.lists(st.one_of(st.text(min_size=1, max_size=30), st.integers(0, 10**9).map(str)), max_size=40),
)
def test_ab_routing_agrees_with_the_assigner_the_analysis_uses(share: float, units: list[str]) -> None:
    router = ABRouter("3", "4", (1 - share, share), salt="api:r7")
    assigner = Assigner(salt="api:r7", variants=("control", "treatment"), weights=(1 - share, share))
    routed = ["treatment" if router.route(RouteContext("r", u)).primary == "4" else "control" for u in units]
    assert routed == assigner.assign_many(units)


def test_ab_split_proportions() -> None:
    assert _within(_share(ABRouter("3", "4", (0.8, 0.2), salt="api:r"), units=True), 0.2)


def test_shadow_answers_with_the_stable_version_and_mirrors_a_fraction() -> None:
    every = ShadowRouter("3", "4", 1.0, salt="s")
    assert {every.route(RouteContext(str(i))) for i in range(100)} == {Route("3", ("4",))}
    some = ShadowRouter("3", "4", 0.3, salt="s")
    routes = [some.route(RouteContext(f"r{i}")) for i in range(N)]
    assert {r.primary for r in routes} == {"3"}
    assert _within(sum(bool(r.mirrors) for r in routes) / N, 0.3)


def test_routers_follow_the_persisted_state() -> None:
    s = m.create("api", "churn", 3, now_ms=0)
    assert isinstance(router_for(s), SingleVersionRouter)
    canary = m.start_rollout(s, RolloutConfig.canary(), 4, rollout_id="r", now_ms=0)
    router = router_for(canary)
    assert isinstance(router, CanaryRouter) and router.traffic == 0.01 and router.variants() == ("3", "4")
    shadow = router_for(m.start_rollout(s, RolloutConfig.shadow(0.5), 4, rollout_id="r", now_ms=0))
    assert isinstance(shadow, ShadowRouter)
    ab = router_for(m.start_rollout(s, RolloutConfig.ab_test(ABConfig((0.9, 0.1))), 4, rollout_id="r", now_ms=0))
    assert isinstance(ab, ABRouter) and ab.assigner.split == {"control": 0.9, "treatment": 0.1}
    for r in (router, ab):
        assert isinstance(r, Router)


def test_observe_feeds_windows_and_ignores_versions_it_does_not_route() -> None:
    router = CanaryRouter("3", "4", 0.5, salt="s", slow_ms=100)
    router.observe("4", False, 0.2)
    router.observe("4", True, 0.01)
    router.observe("9", False, 1.0)
    h = router.window("4").snapshot()
    assert (h.requests, h.errors, h.slow) == (2, 1, 1)
    assert router.health()["3"]["requests"] == 0


def test_window_quantiles_and_reset() -> None:
    w = HealthWindow(slow_ms=50, size=100)
    for i in range(1, 201):
        w.record(True, i / 1000)
    h = w.snapshot(labelled=4, correct=3)
    assert (h.requests, h.slow, h.labelled, h.accuracy) == (200, 150, 4, 0.75)
    assert h.p50_ms == pytest.approx(151.0) and h.p95_ms == pytest.approx(196.0)  # the last 100 kept
    w.reset()
    assert w.snapshot().requests == 0 and w.snapshot().p95_ms is None


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _controller(clock: Clock, generation: int = 5) -> CanaryController:
    schedule = CanarySchedule((10, 50, 100), min_requests=20, min_minutes=0.5)
    policy = HealthPolicy(max_error_rate=0.01, max_latency_p95_ms=100, min_requests=10)
    router = CanaryRouter("1", "2", 0.1, salt="s", slow_ms=100)
    return CanaryController("api", router, schedule, policy, stage_index=0, generation=generation, clock=clock)


def test_controller_advances_through_stages_and_promotes_with_generations() -> None:
    clock = Clock()
    ctl = _controller(clock)
    proposals = []
    for _stage in range(3):
        for _ in range(25):
            ctl.router.observe("2", True, 0.002)
        assert ctl.tick() is None  # held: 30 s not over
        clock.t += 31
        proposal = ctl.tick()
        assert proposal is not None
        proposals.append(proposal)
    assert [p.decision for p in proposals] == ["advance", "advance", "promote"]
    assert [p.expected_generation for p in proposals] == [5, 6, 7]
    assert ctl.router.traffic == 1.0 and ctl.done and ctl.tick() is None
    assert proposals[0].details["candidate"]["requests"] == 25


def test_controller_rolls_back_at_once_on_a_breach() -> None:
    clock = Clock()
    ctl = _controller(clock)
    for _ in range(10):
        ctl.router.observe("2", False, 0.001)
    proposal = ctl.tick()
    assert proposal is not None and proposal.decision == "rollback" and proposal.expected_generation == 5
    assert "error rate 10/10" in proposal.reason
    assert ctl.router.traffic == 0.0
    assert ctl.status()["verdict"]["decision"] == "rollback"
