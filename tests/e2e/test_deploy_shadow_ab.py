"""Shadow and A/B deployments end to end, on loopback under concurrent load: the shadow answers
copies off the request path (logged as mirror, never returned) and its comparison report is
read from the prediction log; A/B units stick to their variant exactly as the analysis assigns
them, and the analysis runs on ground truth and on recorded outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from tests.support.deployments import Load, following_server, register_versions, wait_for

from steward.core.config import Settings
from steward.deployments import ab, shadow
from steward.deployments import service as deployments
from steward.deployments.logs import PredictionLog
from steward.deployments.models import ABConfig, RolloutConfig
from steward.experiments import Assigner
from steward.monitoring.ingest import ingest_labels
from steward.monitoring.store import MonitoringStore
from steward.runtime import Runtime
from steward.serving.prediction_log import read_predictions


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(Settings(home=tmp_path / "home", sqlite_synchronous="NORMAL"))
    register_versions(runtime, tmp_path / "models", ["good", "good2"])
    with runtime.uow() as uow:
        deployments.deploy(uow, "api", "m/1", actor="test")
        uow.commit()
    yield runtime
    runtime.close()


def _start(rt: Runtime, config: RolloutConfig) -> str:
    with rt.uow() as uow:
        d = deployments.deploy(uow, "api", "m/2", config=config, actor="test", reason="e2e")
        uow.commit()
    assert d.state.rollout_id is not None
    return d.state.rollout_id


def _log(rt: Runtime) -> PredictionLog:
    return PredictionLog.from_settings(rt.settings)


def _label(rt: Runtime, rids: list[str], seed: int = 3) -> dict[str, int]:
    labels = dict(zip(rids, np.random.default_rng(seed).integers(0, 2, len(rids)).tolist(), strict=True))
    ingest_labels(
        MonitoringStore.from_settings(rt.settings),
        "api",
        pa.table({"request_id": rids, "label": list(labels.values())}),
    )
    return labels


def test_a_shadow_answers_copies_and_its_comparison_is_read_from_the_log(rt: Runtime) -> None:
    home = Path(rt.settings.home)
    with following_server(rt, ["api"], home / "prediction-log") as (url, server):
        _start(rt, RolloutConfig.shadow())
        wait_for(lambda: server.deployments["api"].router.kind == "shadow")
        load = Load(url, "api", threads=6)
        with load.running():
            wait_for(lambda: len(load.answers) > 600)
    answers = load.answers
    assert {a.status for a in answers} == {200} and {a.version for a in answers} == {"1"}  # never the shadow's
    table = wait_for(lambda: (t := read_predictions(home / "prediction-log", deployment="api")).num_rows and t)
    frame = table.to_pandas()
    primary = frame[(frame.role == "primary") & (frame.model_version == "1")].set_index("request_id")
    mirror = frame[(frame.role == "mirror") & (frame.model_version == "2")].set_index("request_id")
    assert len(mirror) > 0 and set(mirror.index) <= set(primary.index)
    labelled = sorted(mirror.index)[:200]
    labels = _label(rt, labelled)
    with rt.uow() as uow:
        report = shadow.shadow_report(uow, "api", _log(rt))
    # the report agrees with the log read plainly
    both = primary.join(mirror, suffixes=("", "_s"), how="inner")
    assert report.primary_rows == len(primary) and report.compared_rows == len(both)
    assert report.agreement == pytest.approx((both.prediction == both.prediction_s).mean())
    assert 0.5 < report.agreement < 1.0  # two different models of the same task
    assert report.prediction["mean_abs_score_delta"] == pytest.approx(
        np.mean([abs(a[1] - b[1]) for a, b in zip(both.probabilities, both.probabilities_s, strict=True)])
    )
    acc = report.metrics["accuracy"]
    expected_primary = np.mean([int(primary.loc[r, "prediction"]) == labels[r] for r in labelled])
    assert acc["labelled"] == 200 and acc["primary"] == pytest.approx(expected_primary)
    assert acc["delta"] == pytest.approx(acc["challenger"] - acc["primary"])
    lat = report.latency
    assert lat["requests"] == report.compared_rows and lat["primary_p50_ms"] > 0 and lat["challenger_p95_ms"] > 0
    assert report.to_dict()["status"] == "running"


def test_ab_units_stick_to_the_variant_the_analysis_assigns_them(rt: Runtime) -> None:
    home = Path(rt.settings.home)
    with following_server(rt, ["api"], home / "prediction-log") as (url, server):
        rollout_id = _start(rt, RolloutConfig.ab_test(ABConfig((0.5, 0.5), metric_type="mean", mde=0.3)))
        wait_for(lambda: server.deployments["api"].router.kind == "ab")
        load = Load(url, "api", threads=6, units=300)
        with load.running():
            wait_for(lambda: len(load.answers) > 1500)
    seen: dict[str, set[str | None]] = {}
    for a in load.answers:
        assert a.status == 200 and a.unit is not None
        seen.setdefault(a.unit, set()).add(a.version)
    assert all(len(v) == 1 for v in seen.values()), "a unit changed variant"
    assigner = Assigner(salt=f"api:{rollout_id}", variants=("control", "treatment"), weights=(0.5, 0.5))
    routed = {u: ("treatment" if v == {"2"} else "control") for u, v in seen.items()}
    assert routed == dict(zip(routed, assigner.assign_many(list(routed)), strict=True))

    # ground truth first: every request labelled, analysed per request
    rids = [a.request_id for a in load.answers if a.request_id]
    wait_for(lambda: read_predictions(home / "prediction-log", deployment="api").num_rows >= len(rids))
    _label(rt, [r for r in rids if r is not None])
    with rt.uow() as uow:
        truth = ab.ab_analysis(uow, "api", _log(rt))
    assert truth["source"] == "ground_truth" and truth["unit"] == "request"
    assert sum(truth["counts"].values()) == len(rids)
    assert truth["analysis"]["design"]["metric_type"] == "proportion"

    # then per-unit outcomes: a real lift in the treatment arm. The arms depend on the rollout's
    # random salt, so the lift is 1.5 standard deviations: with ~150 units per arm that is ~13
    # standard errors, significant under the sequential test whichever units land where.
    rng = np.random.default_rng(9)
    outcomes = [
        {"unit_id": u, "value": float(rng.normal(11.5 if arm == "treatment" else 10.0, 1.0))}
        for u, arm in routed.items()
    ]
    with rt.uow() as uow:
        recorded = deployments.record_outcomes(uow, "api", outcomes)
        uow.commit()
    assert recorded["by_variant"] == {
        "control": sum(a == "control" for a in routed.values()),
        "treatment": sum(a == "treatment" for a in routed.values()),
    }
    with rt.uow() as uow:
        doc = ab.ab_analysis(uow, "api", _log(rt))
    assert doc["source"] == "outcomes" and doc["unit"] == "unit"
    assert doc["recommendation"]["decision"] == "ship", doc["recommendation"]
    assert doc["analysis"]["srm"]["mismatch"] is False
    assert any("improved significantly" in r for r in doc["recommendation"]["reasons"])
