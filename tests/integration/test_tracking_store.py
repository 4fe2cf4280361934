"""Tracking services against the real store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import math

import pytest

from steward.core.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from steward.runtime import Runtime
from steward.tracking import service
from steward.tracking.models import DatasetInput, Lifecycle, MetricBatch


def _run(rt: Runtime, experiment: str = "churn") -> str:
    with rt.uow() as uow:
        exp = service.get_or_create_experiment(uow, experiment)
        run = service.create_run(uow, exp.id, name="r", user_id="alice")
        uow.commit()
    return run.id


def test_metrics_keep_every_point_and_the_latest_value(store_runtime: Runtime) -> None:
    run_id = _run(store_runtime)
    with store_runtime.uow() as uow:
        service.log_metrics(uow, run_id, MetricBatch(["loss"] * 3, [0.5, 0.3, 0.4], [0, 2, 1], [10, 20, 30]))
        uow.commit()
    with store_runtime.uow() as uow:
        run = service.get_run(uow, run_id)
        history = service.metric_history(uow, run_id, "loss").items
    assert [m.value for m in history] == [0.5, 0.3, 0.4]
    assert run.metrics["loss"].value == 0.3 and run.metrics["loss"].step == 2


def test_nan_and_infinities_round_trip(store_runtime: Runtime) -> None:
    run_id = _run(store_runtime)
    with store_runtime.uow() as uow:
        service.log_metrics(
            uow, run_id, MetricBatch(["a", "b", "c"], [math.nan, math.inf, -math.inf], [0, 0, 0], [1, 1, 1])
        )
        uow.commit()
    with store_runtime.uow() as uow:
        m = service.get_run(uow, run_id).metrics
        hist = service.metric_history(uow, run_id, "a").items
    assert math.isnan(m["a"].value) and math.isnan(hist[0].value)
    assert m["b"].value == math.inf and m["c"].value == -math.inf


def test_relogging_a_param_with_another_value_conflicts_and_changes_nothing(store_runtime: Runtime) -> None:
    run_id = _run(store_runtime)
    with store_runtime.uow() as uow:
        service.log_params(uow, run_id, {"C": "1.0"})
        uow.commit()
    with store_runtime.uow() as uow, pytest.raises(Conflict):
        service.log_params(uow, run_id, {"penalty": "l2", "C": "2.0"})
    with store_runtime.uow() as uow:
        service.log_params(uow, run_id, {"C": "1.0"})  # the same value again is fine
        uow.commit()
        assert service.get_run(uow, run_id).params == {"C": "1.0"}


def test_a_failed_batch_writes_nothing(store_runtime: Runtime) -> None:
    run_id = _run(store_runtime)
    with store_runtime.uow() as uow, pytest.raises(InvalidArgument):
        service.log_metrics(uow, run_id, MetricBatch(["ok", "bad key!"], [1.0, 2.0], [0, 0], [1, 1]))
    with store_runtime.uow() as uow:
        assert service.get_run(uow, run_id).metrics == {}


def test_unknown_ids_name_the_id(store_runtime: Runtime) -> None:
    with store_runtime.uow() as uow:
        with pytest.raises(NotFound, match="nope"):
            service.get_run(uow, "nope")
        with pytest.raises(NotFound, match="999"):
            service.get_experiment(uow, 999)


def test_experiment_names_are_unique(store_runtime: Runtime) -> None:
    with store_runtime.uow() as uow:
        service.create_experiment(uow, "x")
        uow.commit()
    with store_runtime.uow() as uow, pytest.raises(AlreadyExists):
        service.create_experiment(uow, "x")


def test_run_pages_are_stable_and_complete(store_runtime: Runtime) -> None:
    with store_runtime.uow() as uow:
        exp = service.create_experiment(uow, "paged")
        ids = {service.create_run(uow, exp.id, start_time=1000 + i % 3).id for i in range(25)}
        uow.commit()
    seen: list[str] = []
    token = None
    with store_runtime.uow() as uow:
        while True:
            page = service.list_runs(uow, [exp.id], max_results=7, page_token=token)
            seen += [r.id for r in page.items]
            token = page.next_page_token
            if token is None:
                break
    assert len(seen) == 25 and set(seen) == ids


def test_deleted_runs_refuse_writes_until_restored(store_runtime: Runtime) -> None:
    run_id = _run(store_runtime)
    with store_runtime.uow() as uow:
        service.set_run_lifecycle(uow, run_id, Lifecycle.DELETED)
        uow.commit()
    with store_runtime.uow() as uow, pytest.raises(InvalidArgument, match="deleted"):
        service.log_params(uow, run_id, {"a": "1"})
    with store_runtime.uow() as uow:
        service.set_run_lifecycle(uow, run_id, Lifecycle.ACTIVE)
        service.log_params(uow, run_id, {"a": "1"})
        uow.commit()


def test_dataset_inputs_are_versioned_by_digest(store_runtime: Runtime) -> None:
    run_a, run_b = _run(store_runtime), _run(store_runtime)
    d = DatasetInput("adult", "a" * 64, "local", "adult.csv", {"cols": ["age"]}, None, 100, {"context": "train"})
    with store_runtime.uow() as uow:
        service.log_inputs(uow, run_a, [d])
        service.log_inputs(uow, run_b, [d])
        uow.commit()
    with store_runtime.uow() as uow:
        a, b = service.get_run(uow, run_a), service.get_run(uow, run_b)
    assert a.inputs[0].digest == b.inputs[0].digest and a.inputs[0].num_rows == 100
    assert a.inputs[0].tags == {"context": "train"}
