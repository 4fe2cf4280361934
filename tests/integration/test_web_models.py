"""The Models workspace and the evaluation parts of a run page, through the real app.

Models and versions are registered with the registry service; their runs carry what
``steward train`` logs (metrics with bootstrap intervals, gates, validation and leakage
reports, model card, evaluation report, signature), written here through the tracking
service, and once by the real training runner so the artifact names cannot drift apart.
Assertions read the pages' structure: tables by id, lineage hops, the embedded chart JSON.
"""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from tests.support.web import signed_in, tables

import steward.web.evaluation
import steward.web.models
from steward.auth.models import ROLES, Role
from steward.pipelines import parse_spec
from steward.pipelines.runner import train
from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service as tracking
from steward.tracking.models import DatasetInput, MetricBatch

EVIL = '<script>alert("x")</script>'
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SPEC_HASH = "ab" * 32


@pytest.fixture
def viewer(app: Any, tokens: dict[str, str]) -> TestClient:
    return signed_in(TestClient(app), "viewer", "viewer-password")


CARD = """# Model card: churn

## Metrics

| metric | value |
|---|---|
| roc_auc | 0.91 |

Notes: <script>alert("card")</script> and [a link](javascript:alert(1)) and ![img](http://example.com/x.png)
"""

GATES = [
    {"gate": "roc_auc > 0.8", "metric": "roc_auc", "passed": True, "observed": 0.91, "threshold": 0.8, "reason": "ok"},
    {
        "gate": "accuracy > 0.99",
        "metric": "accuracy",
        "passed": False,
        "observed": 0.85,
        "threshold": 0.99,
        "reason": "accuracy = 0.85 not > 0.99",
    },
]
VALIDATION = {
    "passed": True,
    "num_rows": 1000,
    "errors": 0,
    "warnings": 1,
    "results": [
        {"name": "range:age", "rule": "range", "severity": "error", "passed": True, "message": "in range"},
        {
            "name": "missing:occupation",
            "rule": "missing",
            "severity": "warning",
            "passed": False,
            "message": "57 missing (7.1%); allowed at most 1.0%",
            "failure_count": 57,
        },
    ],
}
LEAKAGE = {
    "checks": [{"check": "identical_rows", "passed": False}, {"check": "target_leakage", "passed": True}],
    "findings": [
        {
            "check": "identical_rows",
            "fold": "holdout",
            "severity": "warning",
            "message": "1 test row(s) (0.42%) also appear in train",
        }
    ],
    "blocking": 0,
}
SIGNATURE = {
    "task": "classification",
    "classes": ["no", "yes"],
    "inputs": [
        {"name": "age", "type": "long", "categories": None, "nullable": False},
        {"name": "plan", "type": "string", "categories": ["basic", "pro"], "nullable": True},
    ],
}
REPORT_HTML = "<!doctype html><html><body><h1>report</h1><script>document.title='ran'</script></body></html>"


def log_training_run(runtime: Runtime, exp_id: int, name: str, auc: float, *, gates: list[dict[str, Any]]) -> str:
    """A run shaped like the ones ``steward train`` logs."""
    with runtime.uow() as uow:
        run = tracking.create_run(
            uow,
            exp_id,
            name=name,
            user_id="engineer",
            git_commit=COMMIT,
            source="train.py",
            environment={"python": "3.11.7"},
            tags={
                "steward.pipeline": "churn",
                "steward.spec_sha256": SPEC_HASH,
                "steward.dataset_version": "dv-1",
                "steward.dataset_ref": "churn@abc123",
                "steward.seed": "7",
                "steward.gates": "passed" if all(g["passed"] for g in gates) else "failed",
            },
        )
        tracking.log_params(uow, run.id, {"evaluation.metrics": '["roc_auc", "accuracy"]'})
        values = {
            "roc_auc": auc,
            "roc_auc.ci_lower": auc - 0.03,
            "roc_auc.ci_upper": auc + 0.02,
            "accuracy": auc - 0.05,
            "accuracy.ci_lower": auc - 0.08,
            "accuracy.ci_upper": auc - 0.03,
            "baseline.roc_auc": 0.5,
            "log_loss": 0.4,
            "gates.passed": 1.0 if all(g["passed"] for g in gates) else 0.0,
        }
        tracking.log_metrics(
            uow, run.id, MetricBatch(list(values), list(values.values()), [0] * len(values), [1000] * len(values))
        )
        tracking.log_inputs(
            uow, run.id, [DatasetInput("churn", "abc123def456", "file", "churn.csv", None, None, 1000, {})]
        )
        files = {
            "evaluation/gates.json": json.dumps(gates),
            "validation/report.json": json.dumps(VALIDATION),
            "leakage/report.json": json.dumps(LEAKAGE),
            "evaluation/model_card.md": CARD.replace("churn", name),
            "evaluation/report.html": REPORT_HTML,
            "evaluation/report.json": json.dumps(
                {
                    "model": {
                        "n_samples": 300,
                        "notes": ["A note."],
                        "confidence_intervals": {"roc_auc": {"confidence_level": 0.95}},
                    }
                }
            ),
            "model/signature.json": json.dumps(SIGNATURE),
            "pipeline/spec.yaml": "name: churn\n",
        }
        for path, text in files.items():
            run_artifacts.log_artifact(uow, runtime.blobs, run.id, path, text.encode())
        tracking.update_run(uow, run.id, status="FINISHED")
        uow.commit()
    return run.id


@pytest.fixture
def churn(runtime: Runtime) -> dict[str, Any]:
    """Model ``churn``: v1 (gates failed), v2 (gates passed, champion then production)."""
    with runtime.uow() as uow:
        exp = tracking.create_experiment(uow, "churn-training")
        uow.commit()
    first = log_training_run(runtime, exp.id, "churn-logreg", 0.86, gates=GATES)
    second = log_training_run(runtime, exp.id, "churn-gbm", 0.91, gates=GATES[:1])
    with runtime.uow() as uow:
        registry.create_model(uow, "churn", description="Who will cancel next month.", tags={"team": "retention"})
        for run_id in (first, second):
            registry.create_version(uow, "churn", source=f"runs:/{run_id}/model", run_id=run_id, user_id="engineer")
        registry.set_alias(uow, "churn", "champion", 1, actor="engineer", reason="first one")
        registry.set_alias(uow, "churn", "champion", 2, actor="admin", reason="better AUC")
        registry.set_alias(uow, "churn", "shadow", 1, actor="engineer")
        registry.delete_alias(uow, "churn", "shadow", actor="engineer", reason="done")
        uow.commit()
    for version in (1, 2):
        with runtime.uow() as uow:
            promotion.promote(uow, "churn", version, actor="engineer", reason=f"ship v{version}", blobs=runtime.blobs)
            uow.commit()
    return {"runs": [first, second], "experiment": exp.id}


def chart_json(html: str) -> list[dict[str, Any]]:
    found = re.search(r'<script type="application/json" id="version-chart-data">(.*?)</script>', html, re.S)
    assert found, "no embedded version chart data"
    data: list[dict[str, Any]] = json.loads(found.group(1))
    return data


def hops(html: str) -> dict[str, str]:
    """The text of each lineage hop, by its data-hop name."""
    found = re.findall(r'<li class="hop" data-hop="(\w+)">(.*?)</li>', html, re.S)
    return {name: " ".join(re.sub(r"<[^>]+>", " ", body).split()) for name, body in found}


# the list ----------------------------------------------------------------------------------------
def test_models_page_lists_models_with_latest_version_aliases_and_update_time(
    viewer: TestClient, churn: dict[str, Any], runtime: Runtime
) -> None:
    with runtime.uow() as uow:
        registry.create_model(uow, "no-versions-yet")
        uow.commit()
    rows = tables(viewer.get("/models").text).tables["models"]
    assert rows[0] == ["Name", "Latest version", "Versions", "Aliases", "Last updated", "Description"]
    by_name = {r[0]: r for r in rows[1:]}
    assert list(by_name) == ["churn", "no-versions-yet"]
    assert by_name["churn"][1:4] == ["v2", "2", "champion → v2 production → v2"]
    assert by_name["churn"][4].endswith("UTC") and by_name["churn"][5] == "Who will cancel next month."
    assert by_name["no-versions-yet"][1:4] == ["—", "0", "—"]


def test_models_page_has_an_honest_empty_state(viewer: TestClient) -> None:
    html = viewer.get("/models").text
    assert '<p class="empty-title">No models registered yet.</p>' in html and "<table" not in html


# one model ---------------------------------------------------------------------------------------
def test_model_page_shows_both_versions_with_runs_gates_and_headline_metrics(
    viewer: TestClient, churn: dict[str, Any]
) -> None:
    html = viewer.get("/models/churn").text
    rows = tables(html).tables["versions"]
    assert rows[0] == ["Version", "Run", "Status", "Gates", "Aliases", "Created", "roc_auc", "accuracy"]
    assert [r[:5] for r in rows[1:]] == [
        ["v2", "churn-gbm", "Ready", "passed", "champion production"],
        ["v1", "churn-logreg", "Ready", "failed", "—"],
    ]
    assert rows[1][6:] == ["0.91", "0.86"] and rows[2][6:] == ["0.86", "0.81"]
    assert f'href="/runs/{churn["runs"][1]}"' in html and f'href="/runs/{churn["runs"][0]}"' in html
    assert "by engineer" in rows[1][5]


def test_metrics_are_compared_across_versions_in_a_table_and_a_chart(viewer: TestClient, churn: dict[str, Any]) -> None:
    html = viewer.get("/models/churn").text
    found = tables(html)
    assert found.tables["version-metrics"][0] == ["Metric", "v1", "v2"]
    assert found.tables["version-metrics"][1] == ["roc_auc", "0.86 [0.83, 0.88]", "0.91 [0.88, 0.93]"]
    assert found.tables["version-metrics"][2][0] == "accuracy"
    assert found.row_classes["version-metrics"][1:] == ["differs", "differs"]
    others = [r[0] for r in found.tables["other-version-metrics"][1:]]
    assert "log_loss" in others and "baseline.roc_auc" in others and "roc_auc.ci_lower" not in others
    charts = chart_json(html)
    assert [c["key"] for c in charts] == ["roc_auc", "accuracy"]
    auc = charts[0]
    assert auc["versions"] == ["v1", "v2"] and auc["values"] == [0.86, 0.91]
    assert auc["lower"] == pytest.approx([0.83, 0.88]) and auc["upper"] == pytest.approx([0.88, 0.93])
    assert auc["baseline"] == [0.5, 0.5]
    assert 'src="/static/vendor/plotly.min.js' in html and "version_charts.js" in html


def test_alias_history_keeps_every_move_of_every_alias_newest_first(viewer: TestClient, churn: dict[str, Any]) -> None:
    rows = tables(viewer.get("/models/churn").text).tables["alias-history-table"]
    assert rows[0] == ["When", "Alias", "From", "To", "Who", "Why"]
    moves = [r[1:] for r in rows[1:]]
    assert ["production", "—", "v2", "engineer", "ship v2"] in moves
    assert ["champion", "v1", "v2", "admin", "better AUC"] in moves
    assert ["champion", "—", "v1", "engineer", "first one"] in moves
    # A removed alias keeps its history too.
    assert ["shadow", "v1", "removed", "engineer", "done"] in moves
    assert moves.index(["champion", "v1", "v2", "admin", "better AUC"]) < moves.index(
        ["champion", "—", "v1", "engineer", "first one"]
    )


def test_promotion_history_shows_blocked_and_promoted_with_gate_results(
    viewer: TestClient, churn: dict[str, Any]
) -> None:
    html = viewer.get("/models/churn").text
    rows = tables(html).tables["promotions-table"]
    assert rows[0] == ["When", "Action", "Version", "Alias", "Who", "Gates", "Why"]
    assert [r[1:6] for r in rows[1:]] == [
        ["promoted", "v2", "production", "engineer", "passed"],
        ["blocked", "v1", "production", "engineer", "failed"],
    ]
    assert "evaluation gates failed" in rows[2][6] and "accuracy &gt; 0.99" in html
    assert "Policy: evaluation gates must pass." in html


def test_lineage_walks_version_run_dataset_spec_commit(viewer: TestClient, churn: dict[str, Any]) -> None:
    found = hops(viewer.get("/models/churn").text)
    assert list(found) == ["version", "run", "dataset", "spec", "code"]
    assert "churn v2" in found["version"] and f"runs:/{churn['runs'][1]}/model" in found["version"]
    assert "churn-gbm" in found["run"] and "Finished" in found["run"]
    assert "churn@abc123" in found["dataset"] and "dv-1" in found["dataset"] and "1000 rows" in found["dataset"]
    assert "churn" in found["spec"] and SPEC_HASH[:12] in found["spec"] and "seed 7" in found["spec"]
    assert "pipeline/spec.yaml" in found["spec"]
    assert COMMIT[:12] in found["code"] and "Python 3.11.7" in found["code"]


def test_the_page_opens_on_production_and_any_version_can_be_selected(
    viewer: TestClient, churn: dict[str, Any]
) -> None:
    html = viewer.get("/models/churn").text
    assert re.search(r'<h2 class="section-title" id="selected-version">Version 2\b', html)
    html = viewer.get("/models/churn?version=1").text
    assert re.search(r'<h2 class="section-title" id="selected-version">Version 1\b', html)
    assert "churn-logreg" in hops(html)["run"]
    gates = tables(html).tables["version-gates-table"]
    assert [r[:2] for r in gates[1:]] == [["roc_auc > 0.8", "Pass"], ["accuracy > 0.99", "Fail"]]
    assert viewer.get("/models/churn?version=7").status_code == 404
    assert viewer.get("/models/churn?version=seven").status_code == 400
    assert viewer.get("/models/nope").status_code == 404


def test_only_the_newest_versions_are_listed_but_any_can_be_selected(
    viewer: TestClient, churn: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steward.web.models, "MAX_VERSIONS", 1)
    html = viewer.get("/models/churn").text
    assert [r[0] for r in tables(html).tables["versions"][1:]] == ["v2"]
    assert tables(html).tables["version-metrics"][0] == ["Metric", "v2"]
    assert "Showing the newest 1 of 2 versions." in html
    html = viewer.get("/models/churn?version=1").text
    assert re.search(r'id="selected-version">Version 1\b', html) and "churn-logreg" in hops(html)["run"]
    assert tables(html).tables["version-gates-table"][2][:2] == ["accuracy > 0.99", "Fail"]


def test_selected_version_shows_signature_and_model_card_as_html(viewer: TestClient, churn: dict[str, Any]) -> None:
    html = viewer.get("/models/churn").text
    rows = tables(html).tables["signature-table"]
    assert rows[1:] == [["age", "long", "any", "no"], ["plan", "string", "basic, pro", "yes"]]
    card = html[html.index('<article class="markdown model-card">') :]
    card = card[: card.index("</article>")]
    assert "<h3>Model card: churn-gbm</h3>" in card and "<table>" in card and "<td>roc_auc</td>" in card
    # Raw HTML is text, javascript: links are not links, images are not fetched.
    assert "&lt;script&gt;alert(&quot;card&quot;)&lt;/script&gt;" in card and "<script" not in card
    assert "javascript:" not in card.replace("[a link](javascript:alert(1))", "")
    assert "<img" not in card
    assert f'href="/runs/{churn["runs"][1]}/report"' in html


def test_a_model_without_versions_or_runs_says_so(viewer: TestClient, runtime: Runtime) -> None:
    with runtime.uow() as uow:
        registry.create_model(uow, "bare")
        registry.create_model(uow, "external")
        registry.create_version(uow, "external", source="s3://bucket/model")
        uow.commit()
    assert "No versions yet." in viewer.get("/models/bare").text
    html = viewer.get("/models/external").text
    assert tables(html).tables["versions"][1][:4] == ["v1", "—", "Ready", "missing"]
    assert "These versions recorded no metrics" in html
    assert "not recorded" in hops(html)["run"] and "no git commit recorded" in hops(html)["code"]
    assert "No signature recorded" in html and "has no model card" in html


# the run page ------------------------------------------------------------------------------------
def test_a_gate_that_did_not_apply_is_shown_as_not_applicable(viewer: TestClient, runtime: Runtime) -> None:
    champion_gate = {
        "gate": "roc_auc >= champion - 0.05",
        "metric": "roc_auc",
        "passed": True,
        "observed": 0.86,
        "threshold": None,
        "reason": "not applicable: no champion yet (no model 'churn')",
        "applicable": False,
    }
    with runtime.uow() as uow:
        exp = tracking.create_experiment(uow, "first-training")
        uow.commit()
    run_id = log_training_run(runtime, exp.id, "first", 0.86, gates=[GATES[0], champion_gate])
    found = tables(viewer.get(f"/runs/{run_id}").text)
    assert [r[:2] for r in found.tables["gates-table"][1:]] == [
        ["roc_auc > 0.8", "Pass"],
        ["roc_auc >= champion - 0.05", "n/a"],
    ]
    assert found.row_classes["gates-table"][1:] == ["gate-pass", "gate-na"]


def test_run_page_shows_gates_validation_leakage_headline_metrics_and_card(
    viewer: TestClient, churn: dict[str, Any]
) -> None:
    run_id = churn["runs"][0]
    html = viewer.get(f"/runs/{run_id}").text
    found = tables(html)
    assert found.tables["headline-metrics"][0] == ["Metric", "Value", "95% Interval", "Baseline"]
    assert found.tables["headline-metrics"][1:] == [
        ["roc_auc", "0.86", "[0.83, 0.88]", "0.5"],
        ["accuracy", "0.81", "[0.78, 0.83]", "—"],
    ]
    assert [r[:2] for r in found.tables["gates-table"][1:]] == [["roc_auc > 0.8", "Pass"], ["accuracy > 0.99", "Fail"]]
    assert found.row_classes["gates-table"][1:] == ["gate-pass", "gate-fail"]
    assert "Gates failed" in html and "Validation passed · 1 warning" in html and "1 leakage finding" in html
    assert found.tables["validation-failures"][1:] == [
        ["missing:occupation", "warning", "57", "57 missing (7.1%); allowed at most 1.0%"]
    ]
    assert found.tables["leakage-findings"][1:] == [
        ["warning", "identical_rows", "holdout", "1 test row(s) (0.42%) also appear in train"]
    ]
    assert "1 of 2 checks passed" in html and "over 300 evaluation rows" in html and "A note." in html
    assert f'href="/runs/{run_id}/report"' in html
    assert "<h3>Model card: churn-logreg</h3>" in html


def test_a_run_without_training_artifacts_has_no_evaluation_section(viewer: TestClient, runtime: Runtime) -> None:
    with runtime.uow() as uow:
        exp = tracking.create_experiment(uow, "plain")
        run = tracking.create_run(uow, exp.id, name="plain-run")
        tracking.log_metrics(uow, run.id, MetricBatch(["loss"], [0.5], [0], [1000]))
        uow.commit()
    html = viewer.get(f"/runs/{run.id}").text
    assert 'id="evaluation"' not in html and 'id="model-card"' not in html and "models.css" not in html
    assert viewer.get(f"/runs/{run.id}/report").status_code == 404


def test_the_report_is_served_sandboxed(viewer: TestClient, churn: dict[str, Any]) -> None:
    resp = viewer.get(f"/runs/{churn['runs'][0]}/report")
    assert resp.status_code == 200 and resp.text == REPORT_HTML
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    csp = resp.headers["content-security-policy"]
    assert csp.startswith(
        "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:"
    )
    assert "allow-same-origin" not in csp and "connect-src" not in csp  # default-src 'none' covers fetches
    assert resp.headers["x-content-type-options"] == "nosniff"
    missing = viewer.get("/runs/nope/report")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


def test_runs_trained_by_the_pipeline_runner_show_on_both_pages(
    viewer: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    """The artifact names the web UI reads are the ones ``steward train`` writes."""
    text = """\
name: adult-web
task: classification
seed: 5
data:
  source: {package_dataset: adult}
  target: income_per_year
  positive_class: ">50K"
  sample: 600
  drop: [fnlwgt, education-num]
validation:
  - {rule: missing, column: occupation, max_fraction: 0.01, severity: warning}
split: {strategy: stratified, test_size: 0.3}
model:
  estimator: sklearn.linear_model.LogisticRegression
  params: {max_iter: 300}
evaluation: {sensitive: [sex], slices: [race], bootstrap: 10}
gates:
  - {metric: roc_auc, op: ">", value: 0.6}
  - {metric: accuracy, op: ">", value: 0.999}
"""
    result = train(parse_spec(text), text, runtime=runtime, tracker=Client(LocalBackend(runtime)), base_dir=tmp_path)
    html = viewer.get(f"/runs/{result.run_id}").text
    found = tables(html)
    assert [r[0] for r in found.tables["gates-table"][1:]] == ["roc_auc > 0.6", "accuracy > 0.999"]
    assert [r[1] for r in found.tables["gates-table"][1:]] == ["Pass", "Fail"]
    assert "roc_auc" in [r[0] for r in found.tables["headline-metrics"][1:]]
    assert any(r[0] == "missing:occupation" for r in found.tables["validation-failures"][1:])
    assert 'id="leakage"' in html and "<h3>Model card: adult-web</h3>" in html
    assert f'href="/runs/{result.run_id}/report"' in html
    report = viewer.get(f"/runs/{result.run_id}/report")
    assert report.status_code == 200 and "Plotly.newPlot" in report.text

    with runtime.uow() as uow:
        registry.create_model(uow, "adult-web")
        registry.create_version(uow, "adult-web", source=f"runs:/{result.run_id}/model", run_id=result.run_id)
        uow.commit()
    html = viewer.get("/models/adult-web").text
    assert tables(html).tables["versions"][1][3] == "failed"
    lineage = hops(html)
    assert result.dataset_version.ref in lineage["dataset"] and result.spec_sha256[:12] in lineage["spec"]
    inputs = [r[0] for r in tables(html).tables["signature-table"][1:]]
    assert "age" in inputs and "income_per_year" not in inputs


# escaping and permissions --------------------------------------------------------------------------
def test_user_content_on_model_pages_is_escaped(viewer: TestClient, runtime: Runtime) -> None:
    evil_name = "<img src=x onerror=alert(1)>"
    with runtime.uow() as uow:
        exp = tracking.create_experiment(uow, "evil")
        run = tracking.create_run(uow, exp.id, name=EVIL)
        registry.create_model(uow, evil_name, description=EVIL, tags={"note": EVIL})
        registry.create_version(
            uow, evil_name, source=f"runs:/{run.id}/model", run_id=run.id, description=EVIL, tags={"k": EVIL}
        )
        registry.set_alias(uow, evil_name, "champion", 1, actor=EVIL, reason=EVIL)
        uow.commit()
    for url in ("/models", f"/models/{quote(evil_name, safe='')}"):
        resp = viewer.get(url)
        assert resp.status_code == 200, url
        html = resp.text
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, url
    html = viewer.get(f"/models/{quote(evil_name, safe='')}").text
    assert html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 5  # description, tags, run, alias move
    assert f'href="/models/{quote(evil_name)}?version=1"' in html


def test_a_viewer_reads_every_model_page_but_signed_out_visitors_are_sent_to_sign_in(
    app: Any, churn: dict[str, Any], tokens: dict[str, str]
) -> None:
    urls = ["/models", "/models/churn", "/models/churn?version=1", f"/runs/{churn['runs'][0]}/report"]
    stranger = TestClient(app)
    for url in urls:
        resp = stranger.get(url, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next="), url
    viewer = signed_in(TestClient(app), "viewer", "viewer-password")
    for url in urls:
        assert viewer.get(url).status_code == 200, url


def test_pages_need_their_permissions(
    app: Any, churn: dict[str, Any], tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ROLES, "Viewer", Role("Viewer", ("experiments:read", "runs:read")))
    viewer = signed_in(TestClient(app), "viewer", "viewer-password")
    for url in ("/models", "/models/churn"):
        resp = viewer.get(url)
        assert resp.status_code == 403 and "models:read" in resp.text, url
    assert viewer.get(f"/runs/{churn['runs'][0]}/report").status_code == 200
    assert 'href="/models"' not in viewer.get("/experiments").text
    monkeypatch.setitem(ROLES, "Viewer", Role("Viewer", ("models:read",)))
    assert viewer.get("/models/churn").status_code == 200
    resp = viewer.get(f"/runs/{churn['runs'][0]}/report")
    assert resp.status_code == 403 and "runs:read" in resp.text


@pytest.mark.parametrize("module", [steward.web.evaluation, steward.web.models], ids=lambda m: m.__name__)
def test_doctests(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted and not result.failed
