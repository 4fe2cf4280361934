"""Run search in SQL, on SQLite and PostgreSQL, against the grammar's reference semantics
(:func:`steward.tracking.search.compare`): every generated filter selects exactly the runs the
reference selects, every generated ordering is MLflow's, and pages tile the result."""

from __future__ import annotations

import math
import random
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.api.mlflow import convert
from steward.core.errors import InvalidArgument, NotFound
from steward.runtime import Runtime
from steward.tracking import service
from steward.tracking.models import DatasetInput, Lifecycle, MetricBatch, Run
from steward.tracking.search import RUNS, Comparison, Kind, OrderKey, compare, parse_filter

PARAM_VALUES = ["a", "ab", "abc", "b", "rf", "x_y", "", "b%c"]
METRIC_VALUES = [-1.0, 0.0, 0.5, 0.9, 1.0, math.inf, -math.inf, math.nan]
STATUSES = ["RUNNING", "FINISHED", "FAILED"]
KEYS = {Kind.PARAM: ["p0", "p1"], Kind.TAG: ["t0", "t1"], Kind.METRIC: ["m0", "m1", "m 2"]}
PATTERNS = ["a%", "%b%", "_", "%", "A%", "x_y", "b%c", "%c", "ab"]


def _seed(rt: Runtime) -> tuple[int, list[Run]]:
    rnd = random.Random(7)
    with rt.uow() as uow:
        exp = service.create_experiment(uow, "search")
        other = service.create_experiment(uow, "elsewhere")
        ids = []
        for i in range(40):
            run = service.create_run(
                uow, exp.id, name=f"run-{i % 7}", user_id=rnd.choice(["ann", "bob"]), start_time=1000 + rnd.randrange(5)
            )
            ids.append(run.id)
            params = {k: rnd.choice(PARAM_VALUES) for k in KEYS[Kind.PARAM] if rnd.random() < 0.8}
            tags = {k: rnd.choice(PARAM_VALUES) for k in KEYS[Kind.TAG] if rnd.random() < 0.7}
            metrics = [(k, rnd.choice(METRIC_VALUES)) for k in KEYS[Kind.METRIC] if rnd.random() < 0.8]
            service.log_params(uow, run.id, params)
            if tags:
                service.set_tags(uow, run.id, tags)
            if metrics:
                service.log_metrics(
                    uow,
                    run.id,
                    MetricBatch(
                        [k for k, _ in metrics], [v for _, v in metrics], [1] * len(metrics), [5] * len(metrics)
                    ),
                )
            status = rnd.choice(STATUSES)
            if status != "RUNNING":
                service.update_run(uow, run.id, status=status, end_time=2000 + rnd.randrange(3))
            if i % 5 == 0:
                service.log_inputs(
                    uow,
                    run.id,
                    [
                        DatasetInput(
                            f"ds{i % 2}",
                            f"d{i % 3}",
                            "code",
                            "",
                            None,
                            None,
                            None,
                            {"mlflow.data.context": rnd.choice(["train", "eval"])},
                        )
                    ],
                )
        service.create_run(uow, other.id, name="not-here")
        deleted = service.create_run(uow, exp.id, name="deleted")
        service.set_run_lifecycle(uow, deleted.id, Lifecycle.DELETED)
        uow.commit()
    with rt.uow() as uow:
        runs = [service.get_run(uow, i) for i in ids]
    return exp.id, runs


@pytest.fixture
def seeded(store_runtime: Runtime) -> tuple[Runtime, int, list[Run]]:
    exp_id, runs = _seed(store_runtime)
    return store_runtime, exp_id, runs


def _lhs(run: Run, c: Comparison) -> Any:
    if c.kind is Kind.METRIC:
        return run.metrics[c.key].value if c.key in run.metrics else None
    if c.kind is Kind.PARAM:
        return run.params.get(c.key)
    if c.kind is Kind.TAG:
        return run.tags.get(c.key)
    if c.kind is Kind.DATASET:
        raise AssertionError("datasets are checked separately")
    return {
        "run_id": run.id,
        "run_name": run.name,
        "status": run.status,
        "user_id": run.user_id,
        "start_time": run.start_time,
        "end_time": run.end_time,
    }[c.key]


def _reference_order(runs: list[Run], order: list[OrderKey]) -> list[str]:
    out = sorted(runs, key=lambda r: (-r.start_time, r.id))  # MLflow's tie-breakers
    for o in reversed(order):  # stable sorts, last key first

        def key(r: Run, o: OrderKey = o) -> tuple[int, Any]:
            v = _lhs(r, Comparison(o.kind, o.key, "=", None))
            if v is None:
                return (2, 0)
            if isinstance(v, float) and math.isnan(v):
                return (1, 0)
            return (0, v)

        present = sorted([r for r in out if key(r)[0] == 0], key=lambda r: key(r)[1], reverse=not o.ascending)
        nans = [r for r in out if key(r)[0] == 1]
        missing = [r for r in out if key(r)[0] == 2]
        out = present + nans + missing
    return [r.id for r in out]


def _search(rt: Runtime, exp_id: int, **kw: Any) -> list[str]:
    with rt.uow() as uow:
        return [r.id for r in service.search_runs(uow, [exp_id], max_results=1000, **kw).items]


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    kind = draw(st.sampled_from([Kind.METRIC, Kind.PARAM, Kind.TAG, Kind.ATTRIBUTE]))
    if kind is Kind.METRIC:
        finite = [v for v in METRIC_VALUES if math.isfinite(v)] + [0.7, -5.0]
        return Comparison(
            kind,
            draw(st.sampled_from(KEYS[kind])),
            draw(st.sampled_from(sorted(RUNS.ops[kind]))),
            draw(st.sampled_from(finite)),
        )
    if kind is Kind.ATTRIBUTE:
        key = draw(st.sampled_from(["status", "run_name", "user_id", "start_time", "end_time"]))
        if key in ("start_time", "end_time"):
            return Comparison(
                kind, key, draw(st.sampled_from(["=", "!=", "<", ">=", ">"])), draw(st.integers(999, 2003))
            )
        op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]))
        pool = {"status": STATUSES, "run_name": [f"run-{i}" for i in range(8)], "user_id": ["ann", "bob", "Ann"]}[key]
        if op in ("IN", "NOT IN"):  # only run_id takes lists; it is checked on its own below
            return Comparison(kind, key, "=", draw(st.sampled_from(pool)))
        value = draw(st.sampled_from(pool + (["run%", "%1", "RUN-_", "a%"] if "LIKE" in op else [])))
        return Comparison(kind, key, op, value)
    op = draw(st.sampled_from(sorted(RUNS.ops[kind])))
    if op in ("IS NULL", "IS NOT NULL"):
        value: Any = None
    elif "LIKE" in op:
        value = draw(st.sampled_from(PATTERNS))
    else:
        value = draw(st.sampled_from([*PARAM_VALUES, "A", "zz"]))
    return Comparison(kind, draw(st.sampled_from(KEYS[kind])), op, value)


def _render(c: Comparison) -> str:
    ident = f"attributes.{c.key}" if c.kind is Kind.ATTRIBUTE else f"{c.kind.value}s.`{c.key}`"
    if c.value is None:
        return f"{ident} {c.op}"
    if isinstance(c.value, str):
        return f"{ident} {c.op} '{c.value}'"
    return f"{ident} {c.op} {c.value!r}"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None)
@given(filters=st.lists(comparisons(), min_size=1, max_size=3))
def test_sql_search_selects_what_the_reference_selects(
    seeded: tuple[Runtime, int, list[Run]], filters: list[Comparison]
) -> None:
    rt, exp_id, runs = seeded
    text = " and ".join(_render(c) for c in filters)
    assert parse_filter(text, RUNS) == filters
    expected = {r.id for r in runs if all(compare(c.op, _lhs(r, c), c.value) for c in filters)}
    assert set(_search(rt, exp_id, filter_string=text)) == expected, text


order_keys = st.sampled_from(
    [OrderKey(Kind.METRIC, k, a) for k in KEYS[Kind.METRIC] for a in (True, False)]
    + [OrderKey(Kind.PARAM, k, a) for k in KEYS[Kind.PARAM] for a in (True, False)]
    + [OrderKey(Kind.TAG, "t0", a) for a in (True, False)]
    + [OrderKey(Kind.ATTRIBUTE, k, a) for k in ("start_time", "end_time", "status", "run_name") for a in (True, False)]
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40, deadline=None)
@given(order=st.lists(order_keys, min_size=0, max_size=2, unique_by=lambda o: (o.kind, o.key)))
def test_sql_order_is_mlflows_order_with_ties_broken_the_same_way(
    seeded: tuple[Runtime, int, list[Run]], order: list[OrderKey]
) -> None:
    rt, exp_id, runs = seeded
    clauses = [
        (f"attributes.{o.key}" if o.kind is Kind.ATTRIBUTE else f"{o.kind.value}s.`{o.key}`")
        + (" ASC" if o.ascending else " DESC")
        for o in order
    ]
    assert _search(rt, exp_id, order_by=clauses) == _reference_order(runs, order), clauses


def test_pages_tile_the_result_in_order(seeded: tuple[Runtime, int, list[Run]]) -> None:
    rt, exp_id, runs = seeded
    order = ["metrics.m0 DESC", "params.p0"]
    everything = _search(rt, exp_id, order_by=order)
    got, token = [], None
    with rt.uow() as uow:
        while True:
            page = service.search_runs(uow, [exp_id], order_by=order, max_results=7, page_token=token)
            got += [r.id for r in page.items]
            token = page.next_page_token
            if token is None:
                break
    assert got == everything and len(got) == len(runs)


def _sorted_values(rendered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rendered:
        data = {k: sorted(v, key=lambda x: x["key"]) for k, v in r["data"].items()}
        out.append({**r, "data": data})
    return out


def test_search_page_renders_from_rows_exactly_as_from_runs(seeded: tuple[Runtime, int, list[Run]]) -> None:
    """The MLflow search page is rendered straight from driver rows (its fast path); it must
    say exactly what the reference rendering of the runs read through the ORM says: NaN and
    infinities, end times, inputs with their tags, model outputs, the order asked for."""
    rt, _, runs = seeded
    ids = [r.id for r in reversed(runs)] + ["no-such-run"]
    outputs = {ids[0]: ["m-1", "m-2"], ids[3]: ["m-3"]}
    with rt.uow() as uow:
        fast = convert.runs_from_rows(uow.tracking.load_run_rows(ids), outputs)
        loaded = uow.tracking.load_runs_by_id(ids)
    reference = [convert.run(r, outputs.get(r.id)) for r in loaded]
    assert orjson.dumps(fast) == orjson.dumps(reference)  # byte for byte, NaN as "NaN"
    # and the same runs as read one by one through the ORM (PostgreSQL returns a run's
    # values in no fixed order, as MLflow's server does)
    by_key = [convert.run(r, outputs.get(r.id)) for r in reversed(runs)]
    assert _sorted_values(fast) == _sorted_values(by_key)
    values = {m["value"] for r in fast for m in r["data"]["metrics"]}
    assert {"NaN", "Infinity", "-Infinity"} <= values
    assert any(r["inputs"]["dataset_inputs"] for r in fast) and any("end_time" in r["info"] for r in fast)


def test_scope_views_and_datasets(seeded: tuple[Runtime, int, list[Run]]) -> None:
    rt, exp_id, runs = seeded
    assert len(_search(rt, exp_id)) == 40
    with rt.uow() as uow:
        deleted = service.search_runs(uow, [exp_id], view="deleted").items
        assert [r.name for r in deleted] == ["deleted"]
        assert len(service.search_runs(uow, [exp_id], view="all").items) == 41
    with_inputs = {r.id: r.inputs for r in runs if r.inputs}
    assert set(_search(rt, exp_id, filter_string="datasets.name = 'ds0'")) == {
        i for i, ins in with_inputs.items() if ins[0].name == "ds0"
    }
    assert set(_search(rt, exp_id, filter_string="datasets.digest IN ('d0', 'd1')")) == {
        i for i, ins in with_inputs.items() if ins[0].digest in ("d0", "d1")
    }
    assert set(_search(rt, exp_id, filter_string="datasets.context = 'train'")) == {
        i for i, ins in with_inputs.items() if ins[0].tags["mlflow.data.context"] == "train"
    }


def test_like_is_case_sensitive_and_ilike_is_not(store_runtime: Runtime) -> None:
    with store_runtime.uow() as uow:
        exp = service.create_experiment(uow, "case")
        upper = service.create_run(uow, exp.id, name="upper")
        lower = service.create_run(uow, exp.id, name="lower")
        service.log_params(uow, upper.id, {"model": "RandomForest"})
        service.log_params(uow, lower.id, {"model": "randomforest"})
        uow.commit()
    assert _search(store_runtime, exp.id, filter_string="params.model LIKE 'Random%'") == [upper.id]
    assert set(_search(store_runtime, exp.id, filter_string="params.model ILIKE 'random%'")) == {upper.id, lower.id}
    assert _search(store_runtime, exp.id, filter_string="params.model = 'randomforest'") == [lower.id]
    assert _search(store_runtime, exp.id, filter_string=f"attributes.run_id IN ('{upper.id}')") == [upper.id]


def test_a_bad_filter_or_token_is_invalid_argument(seeded: tuple[Runtime, int, list[Run]]) -> None:
    rt, exp_id, _ = seeded
    with rt.uow() as uow:
        with pytest.raises(InvalidArgument, match="'or'"):
            service.search_runs(uow, [exp_id], filter_string="metrics.m0 > 1 or metrics.m1 > 1")
        with pytest.raises(InvalidArgument, match="page_token"):
            service.search_runs(uow, [exp_id], page_token="bm90IGpzb24")
        with pytest.raises(InvalidArgument, match="max_results"):
            service.search_runs(uow, [exp_id], max_results=0)
        with pytest.raises(NotFound):
            service.search_runs(uow, [9999])


def test_experiment_search_filters_orders_and_pages(store_runtime: Runtime) -> None:
    with store_runtime.uow() as uow:
        for i, name in enumerate(["churn-a", "churn-b", "fraud", "Churn-c"]):
            exp = service.create_experiment(uow, name, tags={"team": "risk" if i % 2 else "growth"})
        service.delete_experiment(uow, exp.id)
        uow.commit()

    def names(**kw: Any) -> list[str]:
        with store_runtime.uow() as uow:
            return [e.name for e in service.search_experiments(uow, **kw).items]

    assert names(filter_string="name LIKE 'churn%'", order_by=["name"]) == ["churn-a", "churn-b"]
    assert names(filter_string="name ILIKE 'churn%'", view="all", order_by=["name DESC"]) == [
        "churn-b",
        "churn-a",
        "Churn-c",
    ]
    assert names(filter_string="tags.team = 'risk'", view="all", order_by=["name"]) == ["Churn-c", "churn-b"]
    assert names(filter_string="tags.team IS NULL") == []
    assert names(view="deleted") == ["Churn-c"]
    assert names(order_by=["experiment_id DESC"], max_results=2) == ["fraud", "churn-b"]
    with store_runtime.uow() as uow:
        first = service.search_experiments(uow, max_results=2, order_by=["name"])
        rest = service.search_experiments(uow, max_results=2, order_by=["name"], page_token=first.next_page_token)
    assert [e.name for e in first.items + rest.items] == ["churn-a", "churn-b", "fraud"]
    assert rest.next_page_token is None
    with store_runtime.uow() as uow, pytest.raises(InvalidArgument):
        service.search_experiments(uow, filter_string="experiment_id > '1'")


def _two_experiments(rt: Runtime) -> tuple[int, int, dict[str, dict[str, str]]]:
    """A big experiment where every run has model=rf and a few have seed=7, a small one
    where two of three runs have model=rf: the data where the place a search starts decides its cost."""
    params: dict[str, dict[str, str]] = {}
    with rt.uow() as uow:
        big = service.create_experiment(uow, "big")
        small = service.create_experiment(uow, "small")
        for i in range(60):
            run = service.create_run(uow, big.id, name=f"big-{i}", start_time=i)
            params[run.id] = {"model": "rf", **({"seed": "7"} if i % 20 == 0 else {})}
        for i in range(3):
            run = service.create_run(uow, small.id, name=f"small-{i}", start_time=i)
            params[run.id] = {"model": "rf" if i else "gbm"}
        for run_id, p in params.items():
            service.log_params(uow, run_id, p)
            service.log_metrics(uow, run_id, MetricBatch(["acc"], [len(p) / 2], [0], [0]))
        uow.commit()
    return big.id, small.id, params


def test_search_starts_from_the_filter_naming_fewest_runs_unless_the_experiment_is_smaller(
    store_runtime: Runtime,
) -> None:
    from steward.tracking.search_repository import SearchRepository

    big, small, params = _two_experiments(store_runtime)
    rare_and_common = parse_filter("params.model = 'rf' and metrics.acc > 0 and params.seed = '7'", RUNS)
    with store_runtime.uow() as uow:
        repo = SearchRepository(uow.session)
        assert repo.seed_for([big], rare_and_common) == 2  # 3 runs have seed=7, 62 have model=rf
        assert repo.seed_for([small], parse_filter("params.model = 'rf'", RUNS)) is None  # 3 runs < 62
        assert repo.seed_for([big], parse_filter("params.model != 'rf'", RUNS)) is None  # no index answers !=
        run_ids = list(params)[:2]
        by_id = parse_filter(f"params.model = 'rf' and attributes.run_id IN ('{run_ids[0]}', '{run_ids[1]}')", RUNS)
        assert repo.seed_for([big], by_id) == 1
    # Whichever way a search starts, it finds the same runs.
    expected_big = {i for i, p in params.items() if p.get("seed") == "7"}
    assert set(_search(store_runtime, big, filter_string="params.model = 'rf' and params.seed = '7'")) == expected_big
    assert len(_search(store_runtime, small, filter_string="params.model = 'rf'")) == 2
    assert _search(store_runtime, small, filter_string="params.model = 'gbm' and metrics.acc >= 0.5") == [
        i for i, p in params.items() if p["model"] == "gbm"
    ]
    assert set(_search(store_runtime, big, filter_string=f"attributes.run_id = '{run_ids[1]}'")) == {run_ids[1]}


def test_sqlite_search_reads_the_param_index_not_every_run(runtime: Runtime) -> None:
    """The plan behind issue 3's search goal: start from params(key, value, run_id), probe the
    rest by primary key, and never walk the experiment's runs."""
    from sqlalchemy import event

    big, _, _ = _two_experiments(runtime)
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(runtime.engine, "before_cursor_execute", capture)
    try:
        with runtime.uow() as uow:
            service.search_runs(
                uow, [big], filter_string="metrics.acc > 0.5 and params.seed = '7'", order_by=["metrics.acc DESC"]
            )
    finally:
        event.remove(runtime.engine, "before_cursor_execute", capture)
    search_sql, args = next((s, p) for s, p in statements if s.lstrip().startswith("SELECT runs.id"))
    with runtime.engine.connect() as conn:
        plan = " | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + search_sql, args))
    assert "COVERING INDEX ix_params_key_value_run_id" in plan, plan
    assert "ix_runs_experiment_id" not in plan and "SCAN runs" not in plan, plan


def test_migrations_create_the_tracking_search_indexes(store_runtime: Runtime) -> None:
    from sqlalchemy import inspect

    with store_runtime.engine.connect() as conn:
        indexes = {
            table: {i["name"]: i["column_names"] for i in inspect(conn).get_indexes(table)}
            for table in ("runs", "params", "run_tags", "latest_metrics")
        }
    sqlite = store_runtime.engine.dialect.name == "sqlite"
    assert indexes["runs"] == {"ix_runs_experiment_id_start_time": ["experiment_id", "start_time"]}
    assert indexes["latest_metrics"] == {"ix_latest_metrics_key_value_run_id": ["key", "value", "is_nan", "run_id"]}
    assert indexes["params"] == ({"ix_params_key_value_run_id": ["key", "value", "run_id"]} if sqlite else {})
    assert indexes["run_tags"] == ({"ix_run_tags_key_value_run_id": ["key", "value", "run_id"]} if sqlite else {})
