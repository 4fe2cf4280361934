"""The SDK logs the same things in-process and against a real server on loopback."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from steward.core.errors import Conflict, NotFound
from steward.runtime import Runtime
from steward.sdk.backends import HttpBackend, LocalBackend
from steward.sdk.client import Client
from steward.tracking import service
from steward.tracking.models import DatasetInput


@pytest.fixture(params=["local", "http"])
def client(request: pytest.FixtureRequest, runtime: Runtime) -> Iterator[Client]:
    if request.param == "local":
        yield Client(LocalBackend(runtime), batch_size=50, flush_interval=0.05)
        return
    url = request.getfixturevalue("live_url")
    token = request.getfixturevalue("tokens")["Engineer"]
    backend = HttpBackend(url, token)
    yield Client(backend, batch_size=50, flush_interval=0.05)
    backend.close()


def test_a_run_logs_params_metrics_tags_artifacts_and_inputs(client: Client, runtime: Runtime) -> None:
    with client.start_run(experiment="churn", name="lr") as run:
        run.log_params({"C": 0.5, "penalty": "l2"})
        for step in range(120):  # more than one batch, so batching and the final flush both happen
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metric("weird", math.nan)
        run.set_tag("team", "risk")
        run.log_dict({"threshold": 0.5}, "config/threshold.json")
        run.log_input(DatasetInput("adult", "f" * 64, "local", "adult.csv", None, None, 1000, {"context": "train"}))
    with runtime.uow() as uow:
        stored = service.get_run(uow, run.id)
        history = service.metric_history(uow, run.id, "loss").items
    assert stored.status == "FINISHED" and stored.end_time is not None
    assert stored.params == {"C": "0.5", "penalty": "l2"}
    assert len(history) == 120 and history[-1].value == pytest.approx(1 / 120)
    assert math.isnan(stored.metrics["weird"].value)
    assert stored.tags["team"] == "risk" and stored.tags["mlflow.runName"] == "lr"
    assert stored.inputs[0].num_rows == 1000
    assert stored.environment is not None and "python" in stored.environment


def test_an_exception_marks_the_run_failed(client: Client, runtime: Runtime) -> None:
    with pytest.raises(RuntimeError), client.start_run(experiment="churn") as run:
        raise RuntimeError("training blew up")
    with runtime.uow() as uow:
        assert service.get_run(uow, run.id).status == "FAILED"


def test_errors_arrive_as_stewards_own(client: Client) -> None:
    with client.start_run(experiment="churn") as run:
        run.log_param("C", 1)
        with pytest.raises(Conflict):
            run.log_param("C", 2)
    with pytest.raises(NotFound):
        client.get_run("0" * 32)


def test_synchronous_log_metric_is_visible_at_once(client: Client) -> None:
    with client.start_run(experiment="churn") as run:
        run.log_metric("auc", 0.91, step=3, synchronous=True)
        metrics = {m["key"]: m for m in client.get_run(run.id)["metrics"]}
        assert metrics["auc"]["value"] == 0.91 and metrics["auc"]["step"] == 3
