"""The Deployments workspace in a real Chromium against Steward on loopback: the list, a canary
with its split, stages, health and history, rolled back from the page; a shadow's comparison.

Needs Debian's Chromium at /usr/bin/chromium (skipped otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.support.browser import SHOTS, Recorder, sign_in
from tests.support.deployments import write_log

from steward.deployments import service
from steward.deployments.models import CanarySchedule, RolloutConfig
from steward.registry import service as registry
from steward.runtime import Runtime

pytestmark = pytest.mark.browser


def seed(rt: Runtime) -> None:
    with rt.uow() as uow:
        registry.create_model(uow, "churn")
        for _ in range(3):
            registry.create_version(uow, "churn", source="file:///nowhere")
        for name in ("churn-api", "scoring"):
            service.deploy(uow, name, "churn/1", actor="ana", reason="launch")
        canary = RolloutConfig.canary(CanarySchedule((5, 25, 100), min_requests=50, min_minutes=1))
        d = service.deploy(uow, "churn-api", "churn/2", config=canary, actor="ana", reason="retrained on May data")
        service.advance(uow, "churn-api", actor="steward-serve@host:7", reason="healthy at 5%: on to 25%")
        variants = {
            "1": {"requests": 900, "errors": 0, "error_rate": 0.0, "p50_ms": 1.1, "p95_ms": 2.0, "labelled": 0,
                  "correct": 0, "accuracy": None, "slow": 0},
            "2": {"requests": 310, "errors": 0, "error_rate": 0.0, "p50_ms": 1.3, "p95_ms": 2.4, "labelled": 0,
                  "correct": 0, "accuracy": None, "slow": 0},
        }  # fmt: skip
        verdict = {"decision": "hold", "reasons": ["stage holds for 1 min; 0.4 so far"], "checks": []}
        controller = {"stage_index": 1, "stage_seconds": 24.0, "verdict": verdict}
        health = {"reporter": "steward-serve@host:7", "router": "canary", "measured_at": 1_700_000_000_000,
                  "variants": variants, "controller": controller}  # fmt: skip
        service.report_health(uow, "churn-api", health, generation=d.state.generation + 1)
        service.deploy(uow, "scoring", "churn/3", config=RolloutConfig.shadow(), actor="ana", reason="try v3")
        uow.commit()
    rows = [(f"r{i}", "1", "primary", i % 2, 0.6, 2.0) for i in range(50)]
    rows += [(f"r{i}", "3", "mirror", 1, 0.7, 4.5) for i in range(50)]
    write_log(Path(rt.settings.home) / "prediction-log", "scoring", rows)


def test_engineer_sees_a_canary_and_rolls_it_back(
    page: Page, live_url: str, runtime: Runtime, tokens: dict[str, str]
) -> None:
    seed(runtime)
    seen = Recorder(page.context)
    sign_in(page, live_url, "engineer", "engineer-password", "/deployments")
    rows = page.locator("table#deployments tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="churn-api").locator(".split")).to_have_attribute("aria-label", "v1 75%, v2 25%")
    page.screenshot(path=str(SHOTS / "steward-deployments.png"), full_page=True)

    page.get_by_role("link", name="churn-api").click()
    expect(page.locator("h1")).to_contain_text("churn-api")
    expect(page.locator("#stages li.current")).to_have_text("25%")
    expect(page.locator("#traffic .split .seg")).to_have_count(2)
    expect(page.locator("table#health tbody tr")).to_have_count(2)
    expect(page.locator("#history tbody tr").first).to_contain_text("healthy at 5%: on to 25%")
    page.screenshot(path=str(SHOTS / "steward-deployment-canary.png"), full_page=True)

    page.get_by_label("Reason").fill("latency creeping up")
    page.get_by_role("button", name="Roll back the canary").click()
    expect(page.locator("h1 .status")).to_have_text("stable")
    first = page.locator("#history tbody tr").first
    expect(first).to_contain_text("rollback")
    expect(first).to_contain_text("engineer")
    expect(first).to_contain_text("latency creeping up")
    expect(page.locator("#rollouts tbody tr").first).to_contain_text("rolled back")

    page.goto(f"{live_url}/deployments/scoring")
    expect(page.locator("#shadow-summary")).to_contain_text("50 (100.0%)")
    expect(page.locator("#shadow-disagreements tbody tr")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "steward-deployment-shadow.png"), full_page=True)

    assert not seen.foreign(), seen.foreign()
    assert not seen.errors, seen.errors
