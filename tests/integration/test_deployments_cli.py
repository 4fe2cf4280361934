"""``steward deployments show | report | outcomes | promote`` in process: the shadow comparison
and the A/B analysis for people and for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from tests.support.cli import cli_home
from tests.support.deployments import write_log
from typer.testing import CliRunner

from steward.cli.main import app
from steward.registry import service as registry


def steward(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with cli_home(tmp_path, monkeypatch) as rt:
        with rt.uow() as uow:
            registry.create_model(uow, "churn")
            for _ in range(3):
                registry.create_version(uow, "churn", source="file:///nowhere")
            uow.commit()
        yield tmp_path


def ok(*args: str) -> Result:
    out = steward(*args)
    assert out.exit_code == 0, out.output
    return out


def test_shadow_report_for_people_and_scripts(home: Path) -> None:
    ok("deploy", "api", "--model", "churn/1")
    started = ok("deploy", "api", "--model", "churn/2", "--strategy", "shadow", "--split", "50%", "--json")
    assert json.loads(started.stdout)["traffic"] == 0.5
    rows = [(f"r{i}", "1", "primary", 1, 0.7, 2.0) for i in range(10)]
    rows += [(f"r{i}", "2", "mirror", 1 if i < 8 else 0, 0.6, 3.0) for i in range(10)]
    write_log(home / "prediction-log", "api", rows)
    doc = json.loads(ok("deployments", "report", "api", "--json").stdout)
    assert (doc["compared_rows"], doc["agreement"]) == (10, 0.8)
    assert doc["disagreements"] == [{"primary": "1", "challenger": "0", "rows": 2}]
    text = ok("deployments", "report", "api").stdout
    assert "agreement      80.0%" in text and "overhead 1 ms per request" in text
    shown = ok("deployments", "show", "api").stdout
    assert "shadow v2 gets a copy of 50%" in shown


def test_ab_outcomes_from_a_file_analysis_and_promotion(home: Path) -> None:
    ok("deploy", "api", "--model", "churn/1")
    ok("deploy", "api", "--model", "churn/3", "--strategy", "ab", "--split", "50/50", "--mde", "0.5")
    rng = np.random.default_rng(1)
    lines = ["unit_id,value,covariate"] + [f"u{i},{rng.normal(10, 1):.4f},{rng.normal(10, 1):.4f}" for i in range(300)]
    (home / "outcomes.csv").write_text("\n".join(lines))
    recorded = json.loads(ok("deployments", "outcomes", "api", "--input", str(home / "outcomes.csv"), "--json").stdout)
    assert recorded["recorded"] == 300
    doc = json.loads(ok("deployments", "report", "api", "--json").stdout)
    assert doc["source"] == "outcomes" and doc["analysis"]["cuped"] is not None
    text = ok("deployments", "report", "api").stdout
    assert "A/B test of api" in text and "sequential     always-valid" in text
    assert doc["recommendation"]["decision"].replace("_", " ") in text.replace("_", " ")
    promoted = ok("deployments", "promote", "api", "--reason", "analysis says ship").stdout
    assert "api promoted: serves v3 (previous v1)." in promoted
    history = json.loads(ok("deployments", "history", "api", "--json").stdout)
    assert (history[0]["action"], history[0]["reason"]) == ("promote", "analysis says ship")
    assert "History of api" in ok("deployments", "history", "api").stdout


def test_reports_and_outcomes_refuse_what_does_not_fit(home: Path) -> None:
    ok("deploy", "api", "--model", "churn/1")
    ok("deploy", "api", "--model", "churn/2", "--strategy", "canary")
    out = steward("deployments", "report", "api")
    assert out.exit_code == 2 and "is a canary: it has no report" in out.stderr
    (home / "bad.csv").write_text("unit,value\nu1,1\n")
    out = steward("deployments", "outcomes", "api", "--input", str(home / "bad.csv"))
    assert out.exit_code == 2 and "lacks column(s) ['unit_id']" in out.stderr
    out = steward("deploy", "api", "--model", "churn/3", "--strategy", "single", "--stages", "1,100")
    assert out.exit_code == 2 and "'stages' option does not apply to the single strategy" in out.stderr
