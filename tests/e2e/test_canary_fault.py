"""Canaries under load, on loopback: a broken version (one that raises, one that sleeps past the
latency threshold) is rolled back by itself while the stable version keeps serving, with failures
inside the canary's share during the detection window; one whose ground truth shows it wrong is
rolled back once enough labels arrive; a healthy version promotes itself through every stage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from scipy import stats
from tests.support.deployments import Answer, Load, following_server, register_versions, wait_for

from steward.core.config import Settings
from steward.deployments import CanarySchedule, HealthPolicy, RolloutConfig
from steward.deployments import service as deployments
from steward.monitoring.ingest import ingest_labels
from steward.monitoring.store import MonitoringStore
from steward.runtime import Runtime
from steward.serving.prediction_log import read_predictions

SHARE = 0.10  # the canary's first stage


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(Settings(home=tmp_path / "home", sqlite_synchronous="NORMAL"))
    yield runtime
    runtime.close()


def _deploy(rt: Runtime, model: str, config: RolloutConfig | None = None) -> None:
    with rt.uow() as uow:
        deployments.deploy(uow, "api", model, config=config, actor="test", reason="e2e")
        uow.commit()


def _history(rt: Runtime) -> list[deployments.Event]:
    with rt.uow() as uow:
        return deployments.history(uow, "api")


def _rolled_back(rt: Runtime) -> deployments.Event | None:
    return next((e for e in _history(rt) if e.action == "rollback"), None)


def _check_failures_within_share(answers: list[Answer], failed: list[Answer], recorded_ms: int) -> None:
    """Failures only between the canary's first answer and the recorded rollback (the server
    stops routing to the candidate before it records the decision), no more than its share."""
    late = [a for a in failed if a.wall_ms > recorded_ms]
    assert not late, f"{len(late)} requests failed after the rollback was recorded"
    first = min(a.wall_ms for a in failed)
    window = [a for a in answers if first <= a.wall_ms <= recorded_ms]
    # the canary's share of the requests sent meanwhile is a binomial count: bound it at 1 - 1e-4
    bound = stats.binom.ppf(1 - 1e-4, len(window), SHARE)
    print(f"detection window: {len(failed)} failed of {len(window)} requests, {recorded_ms - first:.0f} ms")
    assert len(failed) <= bound, f"{len(failed)} failures among {len(window)} requests in the detection window"


@pytest.mark.parametrize("broken", ["raise", "sleep:0.25"])
def test_a_broken_canary_is_rolled_back_by_itself_while_the_stable_version_serves(
    rt: Runtime, tmp_path: Path, broken: str
) -> None:
    versions = register_versions(rt, tmp_path / "models", ["good", broken])
    _deploy(rt, "m/1")
    canary = RolloutConfig.canary(
        CanarySchedule((SHARE * 100, 50, 100), min_requests=10_000, min_minutes=0),
        HealthPolicy(max_error_rate=0.01, max_latency_p95_ms=100, min_requests=10),
    )
    with following_server(rt, ["api"], tmp_path / "log") as (url, _server):
        load = Load(url, "api", threads=8)
        with load.running():
            wait_for(lambda: len(load.answers) > 100)
            _deploy(rt, f"m/{versions[broken]}", canary)
            event = wait_for(lambda: _rolled_back(rt), timeout=20)
            done = len(load.answers)
            wait_for(lambda: len(load.answers) > done + 200)  # the stable version keeps serving
    answers = sorted(load.answers, key=lambda a: a.sent)
    bad = str(versions[broken])
    assert {a.status for a in answers} <= {200, 500}, "no connection errors, no 4xx"
    assert all(a.version == "1" for a in answers if a.status == 200 and a.version != bad)
    failed = [a for a in answers if a.version == bad]
    assert failed, "the canary received traffic before it was rolled back"
    if broken == "raise":
        assert all(a.status == 500 for a in failed)
        assert "error rate" in event.reason
    else:
        assert all(a.status == 200 and a.took > 0.1 for a in failed)
        assert "p95 latency is above 100 ms" in event.reason
    assert [a.status for a in answers if a.version == "1"].count(200) == sum(a.version == "1" for a in answers)
    # the rollback is recorded by the model server, with its evidence
    assert event.actor.startswith("steward-serve@")
    assert event.details["candidate"]["requests"] >= 10 and event.details["verdict"]["decision"] == "rollback"
    assert (event.from_state, event.to_state, event.stable_version, event.candidate_version) == (
        "canary",
        "stable",
        1,
        None,
    )
    _check_failures_within_share(answers, failed, event.at)
    with rt.uow() as uow:
        dep = deployments.get(uow, "api")
        assert dep.state.state.value == "stable" and dep.state.stable_version == 1
        (rollout,) = deployments.rollouts(uow, "api")
        assert rollout.status.value == "rolled_back" and rollout.ended_by == event.actor


def test_a_healthy_canary_promotes_itself_through_every_stage(rt: Runtime, tmp_path: Path) -> None:
    register_versions(rt, tmp_path / "models", ["good", "good2"])
    _deploy(rt, "m/1")
    canary = RolloutConfig.canary(
        CanarySchedule((5, 25, 50, 100), min_requests=20, min_minutes=0),
        HealthPolicy(max_error_rate=0.01, max_latency_p95_ms=250, min_requests=10),
    )
    with following_server(rt, ["api"], tmp_path / "log") as (url, server):
        load = Load(url, "api", threads=6)
        with load.running():
            wait_for(lambda: len(load.answers) > 50)
            _deploy(rt, "m/2", canary)
            promoted = wait_for(lambda: next((e for e in _history(rt) if e.action == "promote"), None), timeout=30)
            wait_for(lambda: server.deployments["api"].router.kind == "single")
            mark = len(load.answers)
            wait_for(lambda: len(load.answers) > mark + 100)
    after = load.answers[mark + 20 :]
    assert {a.version for a in after} == {"2"} and {a.status for a in load.answers} == {200}
    actions = [e.action for e in reversed(_history(rt))]
    assert actions == ["create", "start_canary", "advance", "advance", "advance", "promote"]
    advances = [e for e in reversed(_history(rt)) if e.action in ("advance", "promote")]
    assert [e.traffic for e in advances] == [0.25, 0.5, 1.0, 0.0]
    assert all(e.actor.startswith("steward-serve@") and e.details["candidate"]["requests"] >= 20 for e in advances)
    assert promoted.reason == "healthy at 100% (the last stage)"
    with rt.uow() as uow:
        dep = deployments.get(uow, "api")
    assert (dep.state.stable_version, dep.state.previous_version, dep.state.state.value) == (2, 1, "stable")


def test_a_canary_whose_labels_show_it_wrong_is_rolled_back_on_accuracy(rt: Runtime, tmp_path: Path) -> None:
    """Ground truth arrives while the canary runs; once enough of it has, accuracy gates it."""
    register_versions(rt, tmp_path / "models", ["good", "good2"])
    _deploy(rt, "m/1")
    canary = RolloutConfig.canary(
        CanarySchedule((20, 100), min_requests=10_000, min_minutes=0),
        HealthPolicy(max_latency_p95_ms=None, min_accuracy=0.8, min_labelled=30),
    )
    home = Path(rt.settings.home)
    labelled: set[str] = set()

    def label_the_candidate_wrong() -> None:
        log = read_predictions(home / "prediction-log", deployment="api")
        if not log.num_rows:
            return
        frame = log.to_pandas()
        fresh = frame[(frame.model_version == "2") & ~frame.request_id.isin(labelled)]
        if len(fresh):
            wrong = (1 - fresh.prediction.astype(int)).tolist()
            ingest_labels(
                MonitoringStore.from_settings(rt.settings),
                "api",
                pa.table({"request_id": fresh.request_id.tolist(), "label": wrong}),
            )
            labelled.update(fresh.request_id)

    with following_server(rt, ["api"], home / "prediction-log") as (url, _server):
        load = Load(url, "api", threads=6)
        with load.running():
            wait_for(lambda: len(load.answers) > 50)
            _deploy(rt, "m/2", canary)

            def rolled_back() -> deployments.Event | None:
                label_the_candidate_wrong()
                return _rolled_back(rt)

            event = wait_for(rolled_back, timeout=30, interval=0.2)
    assert "accuracy" in event.reason and "below 80.0%" in event.reason
    assert event.details["candidate"]["labelled"] >= 30 and event.details["candidate"]["correct"] == 0
    assert {a.status for a in load.answers} == {200}  # a wrong model is still a working one
