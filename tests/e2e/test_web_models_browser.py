"""The Models workspace and a training run's evaluation in a real Chromium (Playwright's sync
API), against Steward served by uvicorn on loopback.

Two small pipelines are trained by the real runner (``steward train``'s code path) on a sample
of the Adult census data that ships in a package, their models registered as two versions,
one promoted. A Viewer then signs in, finds the model, its versions, lineage and version
comparison chart, follows the lineage to the run, sees its gate results and opens the full
evaluation report, whose inline Plotly must render inside its sandbox. Every request the browser
makes must go to the Steward server (users run air-gapped).

Run: ``.venv/bin/python -m pytest tests/e2e/test_web_models_browser.py -m browser``. Needs
Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); never ``playwright install``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect
from tests.support.browser import SHOTS, Recorder, sign_in

from steward.pipelines import parse_spec
from steward.pipelines.runner import TrainResult, train
from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client

pytestmark = pytest.mark.browser

MODEL = "adult-income"

SPEC = """\
name: {name}
experiment: adult-income
task: classification
seed: 11
data:
  source: {{package_dataset: adult}}
  target: income_per_year
  positive_class: ">50K"
  sample: 900
  drop: [fnlwgt, education-num]
validation:
  - {{rule: range, column: age, min: 17, max: 90}}
  - {{rule: missing, column: occupation, max_fraction: 0.01, severity: warning}}
split: {{strategy: stratified, test_size: 0.3}}
model:
  estimator: {estimator}
  params: {params}
evaluation: {{sensitive: [sex], slices: [age, race], bootstrap: 20}}
gates:
  - {{metric: roc_auc, op: ">", value: {min_auc}}}
  - {{metric: roc_auc, relative_to: baseline, max_degradation: 0.0}}
"""


def train_and_register(runtime: Runtime) -> list[TrainResult]:
    """Two pipelines trained by the runner, registered as versions 1 and 2; v2 promoted."""
    tracker = Client(LocalBackend(runtime))
    results = []
    for name, estimator, params, min_auc in (
        ("adult-logreg", "sklearn.linear_model.LogisticRegression", "{max_iter: 300, C: 0.05}", 0.97),
        ("adult-hgb", "sklearn.ensemble.HistGradientBoostingClassifier", "{max_iter: 30, early_stopping: false}", 0.8),
    ):
        text = SPEC.format(name=name, estimator=estimator, params=params, min_auc=min_auc)
        results.append(train(parse_spec(text), text, runtime=runtime, tracker=tracker))
    with runtime.uow() as uow:
        registry.create_model(uow, MODEL, description="Predicts whether yearly income exceeds 50K.")
        for r in results:
            registry.create_version(uow, MODEL, source=f"runs:/{r.run_id}/model", run_id=r.run_id, user_id="engineer")
        registry.set_alias(uow, MODEL, "champion", 1, actor="engineer", reason="first model")
        uow.commit()
    for version in (1, 2):
        with runtime.uow() as uow:
            promotion.promote(uow, MODEL, version, actor="engineer", reason=f"ship v{version}", blobs=runtime.blobs)
            uow.commit()
    return results


def test_viewer_follows_a_model_to_its_run_gates_and_sandboxed_report(
    context: BrowserContext, live_url: str, runtime: Runtime, tokens: dict[str, str]
) -> None:
    logreg, hgb = train_and_register(runtime)
    assert not logreg.gates_passed and hgb.gates_passed
    seen = Recorder(context)
    page = context.new_page()
    sign_in(page, live_url, "viewer", "viewer-password", "/models")

    # The list: the model, its latest version and aliases.
    row = page.locator("table#models tbody tr", has_text=MODEL)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("v2")
    expect(row).to_contain_text("production → v2")
    page.screenshot(path=str(SHOTS / "steward-models-list.png"), full_page=True)

    # The model: both versions, gates, the version comparison chart, lineage.
    row.get_by_role("link", name=MODEL).click()
    expect(page.locator("h1")).to_have_text(MODEL)
    versions = page.locator("table#versions tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("adult-hgb")
    expect(versions.nth(0)).to_contain_text("passed")
    expect(versions.nth(1)).to_contain_text("adult-logreg")
    expect(versions.nth(1)).to_contain_text("failed")
    charts = page.locator("#version-charts .js-plotly-plot")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 4  # roc_auc, average_precision, accuracy, balanced_accuracy, ...
    auc = page.locator('#version-charts .js-plotly-plot[data-metric="roc_auc"]')
    expect(auc.locator(".scatterlayer .trace").first.locator(".points path")).to_have_count(2)  # v1, v2
    expect(auc.locator(".errorbar")).to_have_count(2)  # a bootstrap interval per version
    expect(auc.locator(".scatterlayer .trace")).to_have_count(2)  # the model and the dashed baseline
    lineage = page.locator("#lineage .hop")
    expect(lineage).to_have_count(5)
    expect(lineage.nth(1)).to_contain_text("adult-hgb")
    expect(lineage.nth(2)).to_contain_text(hgb.dataset_version.ref)
    expect(lineage.nth(3)).to_contain_text(hgb.spec_sha256[:12])
    expect(page.locator("#selected-version")).to_contain_text("Version 2")
    expect(page.locator("#model-card h3").first).to_have_text("Model card: adult-hgb")
    expect(page.locator("#promotions-table tbody tr")).to_have_count(2)
    expect(page.locator("#alias-history-table tbody tr")).to_have_count(2)  # champion -> v1, production -> v2
    page.screenshot(path=str(SHOTS / "steward-model.png"), full_page=True)

    # Version 1: blocked by its gates; follow its lineage to the run.
    versions.nth(1).get_by_role("link", name="v1").click()
    expect(page.locator("#selected-version")).to_contain_text("Version 1")
    expect(page.locator("#version-gates-table tr.gate-fail")).to_have_count(1)
    page.locator("#lineage .hop").nth(1).get_by_role("link", name="adult-logreg").click()

    # The run: gate results with reasons, headline metrics with intervals, leakage, the model card.
    expect(page.locator("h1")).to_contain_text("adult-logreg")
    gates = page.locator("#gates-table tbody tr")
    expect(gates).to_have_count(2)
    expect(gates.nth(0)).to_contain_text("roc_auc > 0.97")
    expect(gates.nth(0)).to_contain_text("Fail")
    expect(gates.nth(0)).to_contain_text("not > 0.97")
    expect(gates.nth(1)).to_contain_text("Pass")
    expect(page.locator("#evaluation .verdicts")).to_contain_text("Gates failed")
    headline = page.locator("#headline-metrics tbody tr", has_text="roc_auc")
    expect(headline).to_contain_text("[")  # the bootstrap interval
    expect(page.locator("#leakage")).to_be_visible()
    expect(page.locator("#validation")).to_contain_text("missing:occupation")
    expect(page.locator("#model-card h3").first).to_have_text("Model card: adult-logreg")
    page.screenshot(path=str(SHOTS / "steward-run-evaluation.png"), full_page=True)
    assert not seen.errors, seen.errors

    # The full report opens in its own tab; its inline Plotly renders inside the sandbox.
    with page.expect_popup() as popup:
        page.locator("#report-link").click()
    report = popup.value
    report.wait_for_load_state()
    expect(report).to_have_url(f"{live_url}/runs/{logreg.run_id}/report")
    expect(report.locator("h1")).to_have_text("adult-logreg: evaluation")
    plots = report.locator(".js-plotly-plot")
    expect(plots.first).to_be_visible()
    assert plots.count() >= 4  # confusion matrix, ROC, PR, calibration, slices, fairness
    expect(report.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    report.screenshot(path=str(SHOTS / "steward-report.png"), full_page=True)
    assert not seen.errors, seen.errors
    # Sandboxed without allow-same-origin: an opaque origin, no cookies, no API.
    assert report.evaluate("window.origin") == "null"
    denied = report.evaluate("() => { try { return document.cookie; } catch (e) { return e.name; } }")
    assert denied == "SecurityError"
    fetched = report.evaluate(
        "() => fetch('/api/v1/models').then(r => 'status ' + r.status, e => 'refused: ' + e.name)"
    )
    assert fetched.startswith("refused"), fetched

    assert seen.urls, "no requests recorded"
    assert not seen.foreign(), f"requests left the server: {seen.foreign()}"
    assert any("/static/vendor/plotly.min.js" in u for u in seen.urls)
