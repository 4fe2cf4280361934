"""What the web UI's pages show: experiments, the runs table (filter, sort), a run, and runs
compared side by side. Assertions read the page's structure (tables, rows, embedded data)."""

from __future__ import annotations

import doctest
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.support.web import chart_data, signed_in, tables

import steward.web.assets
import steward.web.charts
import steward.web.runs_table
import steward.web.session
import steward.web.templating
from steward.runtime import Runtime
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service
from steward.tracking.models import DatasetInput, Metric, MetricBatch, Run
from steward.web import charts, runs_table
from steward.web.nav import WORKSPACES


@pytest.fixture
def client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return signed_in(TestClient(app))


def _run(
    runtime: Runtime,
    exp: int,
    name: str,
    params: dict[str, str],
    loss: list[float],
    status: str = "FINISHED",
    tags: dict[str, str] | None = None,
) -> str:
    with runtime.uow() as uow:
        run = service.create_run(uow, exp, name=name, user_id="admin", tags=tags)
        service.log_params(uow, run.id, params)
        n = len(loss)
        service.log_metrics(uow, run.id, MetricBatch(["loss"] * n, loss, list(range(n)), [1000 + i for i in range(n)]))
        service.update_run(uow, run.id, status=status)
        uow.commit()
    return run.id


@pytest.fixture
def experiment(runtime: Runtime) -> dict[str, Any]:
    with runtime.uow() as uow:
        exp = service.create_experiment(uow, "churn")
        uow.commit()
    runs = {
        "a": _run(runtime, exp.id, "alpha", {"lr": "0.1", "depth": "4"}, [0.9, 0.4], tags={"team": "risk"}),
        "b": _run(runtime, exp.id, "beta", {"lr": "0.02", "depth": "4"}, [0.8, 0.2]),
        "c": _run(runtime, exp.id, "gamma", {"lr": "1e-3"}, [0.7, 0.6], status="FAILED"),
    }
    return {"id": exp.id, "runs": runs}


def _names(html: str) -> list[str]:
    return [row[1] for row in tables(html).tables["runs"][2:]]


# experiments ------------------------------------------------------------------------------
def test_experiments_page_lists_experiments(client: TestClient, experiment: dict[str, Any]) -> None:
    rows = tables(client.get("/experiments").text).tables["experiments"]
    assert rows[0][:2] == ["Name", "ID"]
    assert [r[0] for r in rows[1:]] == ["churn"]


def test_experiments_page_has_an_honest_empty_state(client: TestClient) -> None:
    html = client.get("/experiments").text
    assert "No experiments yet." in html and 'id="experiments"' not in html


def test_runs_table_has_a_column_per_field_param_and_metric(client: TestClient, experiment: dict[str, Any]) -> None:
    html = client.get(f"/experiments/{experiment['id']}").text
    header = tables(html).tables["runs"][1]
    assert header == ["", "Name", "Status", "Started", "User", "depth", "lr", "loss"]
    rows = {r[1]: r for r in tables(html).tables["runs"][2:]}
    assert rows["alpha"][2] == "Finished" and rows["gamma"][2] == "Failed"
    assert rows["alpha"][4:] == ["admin", "4", "0.1", "0.4"]
    assert rows["gamma"][5] == "—"  # gamma logged no depth
    assert len(re.findall(r'<input type="checkbox" name="run_id"', html)) == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=name&order=asc", ["alpha", "beta", "gamma"]),
        ("sort=name&order=desc", ["gamma", "beta", "alpha"]),
        ("sort=param:lr&order=asc", ["gamma", "beta", "alpha"]),  # numerically: 1e-3 < 0.02 < 0.1
        ("sort=metric:loss&order=asc", ["beta", "alpha", "gamma"]),
        ("sort=metric:loss&order=desc", ["gamma", "alpha", "beta"]),
    ],
)
def test_runs_sort_by_any_column(
    client: TestClient, experiment: dict[str, Any], query: str, expected: list[str]
) -> None:
    assert _names(client.get(f"/experiments/{experiment['id']}?{query}").text) == expected


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_runs_without_the_sorted_value_come_last(client: TestClient, experiment: dict[str, Any], order: str) -> None:
    names = _names(client.get(f"/experiments/{experiment['id']}?sort=param:depth&order={order}").text)
    assert names[-1] == "gamma"  # gamma logged no depth
    assert _names(client.get(f"/experiments/{experiment['id']}?sort=status&order=asc").text)[0] == "gamma"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=alp", {"alpha"}),
        ("q=LR%3D0.02", {"beta"}),  # key=value over params, any case
        ("q=team%3Drisk", {"alpha"}),  # and over tags
        ("status=FAILED", {"gamma"}),
        ("status=finished&q=depth", {"alpha", "beta"}),
        ("q=nothing-matches", set()),
    ],
)
def test_runs_filter_by_text_and_status(
    client: TestClient, experiment: dict[str, Any], query: str, expected: set[str]
) -> None:
    html = client.get(f"/experiments/{experiment['id']}?{query}").text
    found = set(_names(html)) if "runs" in tables(html).tables else set()
    assert found == expected
    if not expected:
        assert "No runs match this filter." in html


def test_sort_links_toggle_order_and_keep_the_filter(client: TestClient, experiment: dict[str, Any]) -> None:
    html = client.get(f"/experiments/{experiment['id']}?q=a&sort=name&order=asc").text
    link = re.search(r'<a href="([^"]+)" class="sort sorted-asc"', html)
    assert link and "order=desc" in link.group(1) and "q=a" in link.group(1).replace("&amp;", "&")


def test_bad_sort_and_page_values_fall_back(client: TestClient, experiment: dict[str, Any]) -> None:
    resp = client.get(f"/experiments/{experiment['id']}?sort=%3Cx%3E&order=sideways&page=abc&status=nope")
    assert resp.status_code == 200 and len(_names(resp.text)) == 3


def test_runs_table_pages_long_lists(client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("steward.web.tracking.PER_PAGE", 2)
    with runtime.uow() as uow:
        exp = service.create_experiment(uow, "many")
        uow.commit()
    for i in range(5):
        _run(runtime, exp.id, f"r{i}", {}, [1.0])
    first = client.get(f"/experiments/{exp.id}?sort=name&order=asc").text
    assert _names(first) == ["r0", "r1"] and "page 1 of 3" in first
    last = client.get(f"/experiments/{exp.id}?sort=name&order=asc&page=3").text
    assert _names(last) == ["r4"]


# run page ----------------------------------------------------------------------------------
def test_run_page_shows_info_params_metrics_artifacts_tags_and_inputs(
    client: TestClient, runtime: Runtime, experiment: dict[str, Any]
) -> None:
    run_id = experiment["runs"]["a"]
    with runtime.uow() as uow:
        run_artifacts.log_artifact(uow, runtime.blobs, run_id, "model/weights.bin", b"\x00" * 2048)
        run_artifacts.log_artifact(uow, runtime.blobs, run_id, "report.json", b'{"ok": true}')
        service.log_inputs(
            uow,
            run_id,
            [DatasetInput("train", "d1g3st" * 4, "parquet", "s3://bucket/train", None, None, 1200, {"split": "train"})],
        )
        uow.commit()
    html = client.get(f"/runs/{run_id}").text
    t = tables(html)
    assert 'id="params"' in html
    assert re.search(r"<th scope=\"row\">depth</th><td class=\"value\">4</td>", html)
    assert re.search(r"<th scope=\"row\">lr</th><td class=\"value\">0.1</td>", html)
    assert re.search(r'<th scope="row">loss</th><td class="num">0.4</td><td class="num">1</td>', html)
    assert "team" in html and "risk" in html
    assert "train" in html and "s3://bucket/train" in html and "1200" in html and "split=train" in html
    links = re.findall(rf'href="(/api/v1/runs/{run_id}/artifacts/[^"]+)"', html)
    assert links == [
        f"/api/v1/runs/{run_id}/artifacts/model/weights.bin",
        f"/api/v1/runs/{run_id}/artifacts/report.json",
    ]
    assert client.get(links[1]).content == b'{"ok": true}'  # the session cookie may read the API
    assert "2.0 kB" in html
    assert not t.tables  # the run page's tables carry no ids; structure is checked above

    [loss] = chart_data(html)
    assert loss["key"] == "loss" and loss["x_title"] == "step"
    assert loss["traces"] == [{"name": "alpha", "x": [0, 1], "y": [0.9, 0.4]}]
    assert "/static/vendor/plotly.min.js" in html and "/static/charts.js" in html


def test_run_page_charts_nan_as_gaps(client: TestClient, runtime: Runtime, experiment: dict[str, Any]) -> None:
    run_id = _run(runtime, experiment["id"], "nan", {}, [1.0, float("nan"), float("inf"), 0.5])
    [loss] = chart_data(client.get(f"/runs/{run_id}").text)
    assert loss["traces"][0]["y"] == [1.0, None, None, 0.5]


def test_run_without_metrics_loads_no_plotly(client: TestClient, runtime: Runtime, experiment: dict[str, Any]) -> None:
    with runtime.uow() as uow:
        run = service.create_run(uow, experiment["id"], name="bare")
        uow.commit()
    html = client.get(f"/runs/{run.id}").text
    assert "No metrics logged." in html and "plotly" not in html
    assert "No artifacts logged." in html and "No dataset inputs logged." in html


# compare -----------------------------------------------------------------------------------
def test_compare_puts_runs_side_by_side_and_highlights_differences(
    client: TestClient, experiment: dict[str, Any]
) -> None:
    a, b, c = (experiment["runs"][k] for k in "abc")
    html = client.get(f"/compare?run_id={a}&run_id={b}&run_id={c}").text
    t = tables(html)
    params, classes = t.tables["params-table"], t.row_classes["params-table"]
    assert params[0] == ["Param", "alpha", "beta", "gamma"]
    assert params[1:] == [["depth", "4", "4", "—"], ["lr", "0.1", "0.02", "1e-3"]]
    assert classes[1:] == ["differs", "differs"]
    assert t.tables["metrics-table"][1] == ["loss", "0.4", "0.2", "0.6"]

    [loss] = chart_data(html)
    assert [tr["name"] for tr in loss["traces"]] == ["alpha", "beta", "gamma"]
    assert loss["traces"][1] == {"name": "beta", "x": [0, 1], "y": [0.8, 0.2]}


def test_compare_marks_equal_params_as_same(client: TestClient, experiment: dict[str, Any]) -> None:
    a, b = experiment["runs"]["a"], experiment["runs"]["b"]
    t = tables(client.get(f"/compare?run_id={a}&run_id={b}").text)
    rows = dict(zip([r[0] for r in t.tables["params-table"]], t.row_classes["params-table"], strict=True))
    assert rows == {"Param": "", "depth": "same", "lr": "differs"}


def test_compare_labels_runs_with_the_same_name_apart(
    client: TestClient, runtime: Runtime, experiment: dict[str, Any]
) -> None:
    one = _run(runtime, experiment["id"], "twin", {}, [1.0])
    two = _run(runtime, experiment["id"], "twin", {}, [2.0])
    html = client.get(f"/compare?run_id={one}&run_id={two}").text
    assert [tr["name"] for tr in chart_data(html)[0]["traces"]] == [f"twin ({one[:8]})", f"twin ({two[:8]})"]


@pytest.mark.parametrize("count", [0, 1, 11])
def test_compare_needs_two_to_ten_runs(
    client: TestClient, runtime: Runtime, experiment: dict[str, Any], count: int
) -> None:
    ids = [_run(runtime, experiment["id"], f"x{i}", {}, [1.0]) for i in range(count)]
    resp = client.get("/compare?" + "&".join(f"run_id={i}" for i in ids))
    assert resp.status_code == 400 and resp.headers["content-type"].startswith("text/html")


# escaping, workspaces ----------------------------------------------------------------------
def test_user_content_is_always_escaped(client: TestClient, runtime: Runtime) -> None:
    evil = '<script>alert("x")</script>'
    with runtime.uow() as uow:
        exp = service.create_experiment(uow, evil)
        uow.commit()
    run_id = _run(runtime, exp.id, "</script><img src=x onerror=alert(1)>", {"p": evil}, [1.0], tags={"note": evil})
    for url in (
        "/experiments",
        f"/experiments/{exp.id}",
        f"/runs/{run_id}",
        f"/compare?run_id={run_id}&run_id={_run(runtime, exp.id, 'ok', {}, [1.0])}",
    ):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html or "&lt;img src=x" in html, url
    # The embedded chart JSON cannot close its <script> element either.
    html = client.get(f"/runs/{run_id}").text
    assert chart_data(html)[0]["traces"][0]["name"] == "</script><img src=x onerror=alert(1)>"


@pytest.mark.parametrize("workspace", [w for w in WORKSPACES if w.slug != "experiments"], ids=lambda w: w.slug)
def test_unbuilt_workspaces_show_an_honest_empty_state(client: TestClient, workspace: Any) -> None:
    html = client.get(f"/{workspace.slug}").text
    assert f"<h1>{workspace.title}</h1>" in html
    assert f'<p class="empty-title">{workspace.empty}</p>' in html
    assert 'aria-current="page"' in html and "<table" not in html


def test_root_goes_to_experiments(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/experiments"


# the pure helpers --------------------------------------------------------------------------
def _bare(name: str, **params: str) -> Run:
    return Run(name, 1, name, "FINISHED", 0, None, "", "", None, None, "active", "", params=params)


def test_sort_puts_runs_without_a_value_last_in_both_orders() -> None:
    runs = [_bare("none"), _bare("text", lr="auto"), _bare("small", lr="0.01"), _bare("big", lr="10")]
    assert [r.name for r in runs_table.sort_runs(runs, "param:lr", "asc")] == ["small", "big", "text", "none"]
    assert [r.name for r in runs_table.sort_runs(runs, "param:lr", "desc")] == ["text", "big", "small", "none"]


def test_chart_uses_time_when_no_steps_were_logged() -> None:
    points = [Metric("m", v, 0, 1000 + 500 * i) for i, v in enumerate([3.0, 2.0, 1.0])]
    spec = charts.chart("m", [("r", points, False)])
    assert spec["x_title"] == "seconds since first point"
    assert spec["traces"][0]["x"] == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    "module",
    [steward.web.assets, steward.web.charts, steward.web.runs_table, steward.web.session, steward.web.templating],
    ids=lambda m: m.__name__,
)
def test_docstring_examples_run(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0
