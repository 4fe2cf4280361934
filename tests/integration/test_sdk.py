"""The SDK logs the same things in-process and against a real server on loopback."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from steward.core.errors import Conflict, InvalidArgument, NotFound
from steward.runtime import Runtime
from steward.sdk.backends import HttpBackend, LocalBackend
from steward.sdk.client import Client
from steward.tracking import service
from steward.tracking.models import DatasetInput, Run


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


def _stored(runtime: Runtime, run_id: str) -> Run:
    with runtime.uow() as uow:
        return service.get_run(uow, run_id)


@pytest.fixture
def http_client(live_url: str, tokens: dict[str, str]) -> Iterator[tuple[Client, list[str]]]:
    """A client against a live server that flushes only when told to, and the requests it sent."""
    sent: list[str] = []
    backend = HttpBackend(live_url, tokens["Engineer"])
    backend.http.event_hooks["request"].append(lambda r: sent.append(f"{r.method} {r.url.path}"))
    yield Client(backend, batch_size=10_000, flush_interval=3600), sent
    backend.close()


def test_a_run_with_params_metrics_and_tags_costs_two_requests(
    http_client: tuple[Client, list[str]], runtime: Runtime
) -> None:
    client, sent = http_client
    with client.start_run(experiment="churn") as run:
        run.log_params({"C": 0.5, "penalty": "l2"})
        run.log_metrics({"auc": 0.91, "loss": 0.2}, step=1)
        run.set_tag("team", "risk")
        assert _stored(runtime, run.id).params == {}  # buffered, not sent yet
    assert [s.split()[0] for s in sent] == ["POST", "POST"] and sent[1].endswith("/batch")
    stored = _stored(runtime, run.id)
    assert stored.status == "FINISHED" and stored.params == {"C": "0.5", "penalty": "l2"}
    assert stored.metrics["auc"].value == 0.91 and stored.metrics["auc"].step == 1
    assert stored.tags["team"] == "risk"


def test_buffered_params_and_tags_are_stored_when_flushed(client: Client, runtime: Runtime) -> None:
    with client.start_run(experiment="churn") as run:
        run.log_param("C", 1)
        run.set_tags({"team": "risk", "stage": "dev"})
        run.flush()
        stored = _stored(runtime, run.id)
        assert stored.params == {"C": "1"} and stored.tags["stage"] == "dev" and stored.status == "RUNNING"
        run.set_tag("stage", "prod")
    assert _stored(runtime, run.id).tags["stage"] == "prod"


def test_the_background_thread_sends_buffered_params_within_the_interval(client: Client, runtime: Runtime) -> None:
    with client.start_run(experiment="churn") as run:
        run.log_param("C", 1)
        deadline = time.monotonic() + 10
        while _stored(runtime, run.id).params != {"C": "1"}:
            assert time.monotonic() < deadline, "the buffered param never reached the store"
            time.sleep(0.02)


def test_a_param_relogged_with_another_value_raises_and_logs_nothing_of_the_call(
    client: Client, runtime: Runtime
) -> None:
    with client.start_run(experiment="churn") as run:
        run.log_params({"C": 1})
        run.log_params({"C": "1"})  # the same value again is fine
        with pytest.raises(Conflict, match=r"Param 'C' of run \w+ was already logged with value '1'") as err:
            run.log_params({"D": 3, "C": 2})
        assert err.value.fields["old_value"] == "1" and err.value.fields["new_value"] == "2"
    assert _stored(runtime, run.id).params == {"C": "1"}


def test_a_bad_param_is_refused_where_it_is_logged(client: Client) -> None:
    with client.start_run(experiment="churn") as run:
        with pytest.raises(InvalidArgument, match="param key"):
            run.log_param("bad..key", 1)
        with pytest.raises(InvalidArgument, match="at most 6000 characters"):
            run.log_param("long", "x" * 6001)


def test_a_conflict_with_another_writer_raises_at_flush(client: Client, runtime: Runtime) -> None:
    with client.start_run(experiment="churn") as run:
        with runtime.uow() as uow:  # another client logs C first
            service.log_params(uow, run.id, {"C": "other"})
            uow.commit()
        run.log_param("C", "mine")
        run.log_metric("auc", 0.9)
        with pytest.raises(Conflict, match="already logged with value 'other'"):
            run.flush()
    stored = _stored(runtime, run.id)
    assert stored.params == {"C": "other"} and stored.status == "FINISHED"


def test_a_conflict_found_when_the_run_ends_ends_it_failed(client: Client, runtime: Runtime) -> None:
    run = client.start_run(experiment="churn")
    with runtime.uow() as uow:
        service.log_params(uow, run.id, {"C": "other"})
        uow.commit()
    run.log_param("C", "mine")
    with pytest.raises(Conflict):
        run.end()
    stored = _stored(runtime, run.id)
    assert stored.status == "FAILED" and stored.params == {"C": "other"}


def test_synchronous_params_and_tags_are_visible_at_once_and_keep_their_order(client: Client, runtime: Runtime) -> None:
    with client.start_run(experiment="churn") as run:
        run.set_tag("stage", "dev")
        run.log_params({"C": 1}, synchronous=True)
        run.set_tag("stage", "prod", synchronous=True)  # the buffered "dev" must not land after it
        stored = _stored(runtime, run.id)
        assert stored.params == {"C": "1"} and stored.tags["stage"] == "prod"
        with pytest.raises(Conflict):
            run.log_param("C", 2, synchronous=True)
    assert _stored(runtime, run.id).tags["stage"] == "prod"


def test_batches_sent_from_the_background_keep_the_order_points_were_logged(client: Client, runtime: Runtime) -> None:
    with client.start_run(experiment="churn") as run:
        for step in range(1_000):  # twenty batches of 50, handed to the sender thread
            run.log_metric("loss", float(step), step=step)
        run.flush()
        with runtime.uow() as uow:
            history = service.metric_history(uow, run.id, "loss").items
        assert [m.step for m in history] == list(range(1_000))
