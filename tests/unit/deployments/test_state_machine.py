"""The deployment state machine: which transitions are allowed from which state, what each does,
and the configuration people type (stages, splits, thresholds)."""

from __future__ import annotations

import doctest
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import steward.deployments.models
from steward.core.errors import Conflict, InvalidArgument
from steward.deployments import models as m
from steward.deployments.models import (
    ABConfig,
    Action,
    CanarySchedule,
    DeploymentState,
    HealthPolicy,
    RolloutConfig,
    State,
    Strategy,
)

CANARY = RolloutConfig.canary(CanarySchedule((10, 50, 100), min_requests=5, min_minutes=0))


def stable(version: int = 1) -> DeploymentState:
    return m.create("api", "churn", version, now_ms=0)


def in_state(state: State) -> DeploymentState:
    s = stable()
    if state is State.CANARY:
        return m.start_rollout(s, CANARY, 2, rollout_id="r", now_ms=1)
    if state is State.SHADOW:
        return m.start_rollout(s, RolloutConfig.shadow(), 2, rollout_id="r", now_ms=1)
    if state is State.AB:
        return m.start_rollout(s, RolloutConfig.ab_test(), 2, rollout_id="r", now_ms=1)
    return m.deploy(s, 2, now_ms=1)  # stable, with a previous version


def act(s: DeploymentState, action: Action) -> DeploymentState:
    calls: dict[Action, Any] = {
        Action.DEPLOY: lambda: m.deploy(s, 7, now_ms=5),
        Action.REVERT: lambda: m.revert(s, now_ms=5),
        Action.START_CANARY: lambda: m.start_rollout(s, CANARY, 7, rollout_id="x", now_ms=5),
        Action.START_SHADOW: lambda: m.start_rollout(s, RolloutConfig.shadow(), 7, rollout_id="x", now_ms=5),
        Action.START_AB: lambda: m.start_rollout(s, RolloutConfig.ab_test(), 7, rollout_id="x", now_ms=5),
        Action.ADVANCE: lambda: m.advance(s, now_ms=5),
        Action.PROMOTE: lambda: m.promote(s, now_ms=5),
        Action.ROLLBACK: lambda: m.rollback(s, now_ms=5),
    }
    result: DeploymentState = calls[action]()
    return result


def test_the_module_examples_run() -> None:
    assert doctest.testmod(steward.deployments.models).failed == 0


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", [a for a in Action if a is not Action.CREATE])
def test_only_the_allowed_transitions_go_through(state: State, action: Action) -> None:
    s = in_state(state)
    if action in m.allowed(state) or (action is Action.ROLLBACK and state is State.STABLE):
        after = act(s, action)
        assert after.generation == s.generation + 1
    else:
        with pytest.raises(Conflict, match=f"it is {state.value}"):
            act(s, action)


def test_a_new_deployment_can_only_be_created() -> None:
    assert m.allowed(None) == {Action.CREATE}
    s = stable(3)
    assert (s.state, s.stable_version, s.previous_version, s.generation) == (State.STABLE, 3, None, 1)
    with pytest.raises(InvalidArgument, match="deployment 'name'"):
        m.create("no spaces", "churn", 1, now_ms=0)


def test_starting_a_rollout_while_one_runs_says_to_finish_it_first() -> None:
    with pytest.raises(Conflict, match="Roll back or promote the running rollout first"):
        m.start_rollout(in_state(State.SHADOW), CANARY, 3, rollout_id="y", now_ms=2)


def test_deploying_switches_the_stable_version_and_revert_swaps_back_and_forth() -> None:
    s = m.deploy(stable(1), 2, now_ms=1)
    assert (s.stable_version, s.previous_version) == (2, 1)
    back = m.rollback(s, now_ms=2)
    assert (back.stable_version, back.previous_version) == (1, 2)
    assert m.rollback(back, now_ms=3).stable_version == 2


def test_revert_without_a_previous_version_is_refused() -> None:
    with pytest.raises(Conflict, match="no previous version"):
        m.rollback(stable(), now_ms=1)


def test_the_candidate_must_differ_from_the_stable_version() -> None:
    with pytest.raises(InvalidArgument, match="already serves version 1"):
        m.deploy(stable(1), 1, now_ms=1)
    with pytest.raises(InvalidArgument, match="must differ"):
        m.start_rollout(stable(1), CANARY, 1, rollout_id="r", now_ms=1)


def test_a_canary_walks_its_stages_then_promotes() -> None:
    s = in_state(State.CANARY)
    seen = [s.traffic]
    while s.stage_index < 2:
        s = m.advance(s, now_ms=10)
        seen.append(s.traffic)
    assert seen == [0.1, 0.5, 1.0]
    assert s.split == {"1": 0.0, "2": 1.0}
    with pytest.raises(Conflict, match="last stage"):
        m.advance(s, now_ms=11)
    done = m.promote(s, now_ms=12)
    assert (done.state, done.stable_version, done.previous_version) == (State.STABLE, 2, 1)
    assert done.candidate_version is None
    assert done.rollout_id is None and done.config is None and done.traffic == 0.0


def test_rolling_back_a_rollout_keeps_the_stable_version() -> None:
    for state in (State.CANARY, State.SHADOW, State.AB):
        after = m.rollback(in_state(state), now_ms=9)
        assert (after.state, after.stable_version, after.candidate_version, after.previous_version) == (
            State.STABLE,
            1,
            None,
            None,
        )
        assert m.rollback_action(state) is Action.ROLLBACK
    assert m.rollback_action(State.STABLE) is Action.REVERT


def test_split_shows_who_answers() -> None:
    assert in_state(State.SHADOW).split == {"1": 1.0}  # the shadow answers nobody
    assert in_state(State.AB).split == {"1": 0.5, "2": 0.5}
    assert in_state(State.CANARY).split == {"1": 0.9, "2": 0.1}


def test_route_key_changes_with_routing_only() -> None:
    s = in_state(State.CANARY)
    assert s.route_key() != m.advance(s, now_ms=3).route_key()


# configuration -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,5,10,25,50,100", (1.0, 5.0, 10.0, 25.0, 50.0, 100.0)), ("50%,100%", (50.0, 100.0)), ("100", (100.0,))],
)
def test_stages_parse(text: str, expected: tuple[float, ...]) -> None:
    assert m.parse_stages(text) == expected


@pytest.mark.parametrize("text", ["", "5,1,100", "1,5,50", "0,100", "1,x,100", "1,200", "10,10,100"])
def test_bad_stages_name_the_parameter(text: str) -> None:
    with pytest.raises(InvalidArgument, match="stages") as info:
        m.parse_stages(text)
    assert info.value.field == "stages"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90/10", (0.9, 0.1)), ("50/50", (0.5, 0.5)), ("10%", (0.9, 0.1)), ("0.25", (0.75, 0.25)), ("3/1", (0.75, 0.25))],
)
def test_splits_parse(text: str, expected: tuple[float, float]) -> None:
    assert m.parse_split(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["100/0", "0/100", "1.5", "0", "-1/2", "abc", "100%", "nan", "inf/1"])
def test_bad_splits_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match="split"):
        m.parse_split(text)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: CanarySchedule(min_requests=-1), "min_requests"),
        (lambda: CanarySchedule(min_minutes=float("nan")), "min_minutes"),
        (lambda: HealthPolicy(max_error_rate=1.5), "max_error_rate"),
        (lambda: HealthPolicy(max_latency_p95_ms=0), "max_latency_p95_ms"),
        (lambda: HealthPolicy(min_accuracy=True), "min_accuracy"),
        (lambda: HealthPolicy(min_requests=0), "min_requests"),
        (lambda: ABConfig(split=(0.7, 0.7)), "split"),
        (lambda: ABConfig(metric_type="median"), "metric_type"),
        (lambda: ABConfig(alpha=0.0), "alpha"),
        (lambda: RolloutConfig.shadow(0.0), "mirror_fraction"),
    ],
)
def test_bad_configuration_names_the_parameter(build: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        build()
    assert info.value.field == field


def test_a_sequential_ab_test_fixes_its_mixing_distribution_up_front() -> None:
    assert ABConfig().planned_n == 1000
    assert ABConfig(mde=0.1).planned_n is None
    assert ABConfig(sequential=False).planned_n is None


@given(
    strategy=st.sampled_from([Strategy.CANARY, Strategy.SHADOW, Strategy.AB]),
    share=st.floats(0.01, 0.99),
    hold=st.integers(0, 10_000),
)
def test_rollout_configuration_survives_a_round_trip(strategy: Strategy, share: float, hold: int) -> None:
    if strategy is Strategy.CANARY:
        cfg = RolloutConfig.canary(CanarySchedule((share * 100, 100), hold, 1.5), HealthPolicy(min_accuracy=0.8))
    elif strategy is Strategy.SHADOW:
        cfg = RolloutConfig.shadow(share)
    else:
        cfg = RolloutConfig.ab_test(ABConfig((1 - share, share), mde=0.5))
    assert RolloutConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.initial_traffic() == pytest.approx(share)


def test_strategy_parse_names_the_choices() -> None:
    assert Strategy.parse(" Canary ") is Strategy.CANARY
    with pytest.raises(InvalidArgument, match="'strategy' must be one of"):
        Strategy.parse("blue-green")
