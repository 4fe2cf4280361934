"""The CLI as a user runs it: ``steward init && steward train pipeline.yaml --json`` on the real
Adult census data, then ``reproduce`` and ``evaluate``; each a subprocess with its own
STEWARD_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from steward.core.config import Settings
from steward.pipelines.example import EXAMPLE_SPEC
from steward.pipelines.sources import load_adult
from steward.runtime import Runtime
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service as tracking

STEWARD = str(Path(sys.executable).with_name("steward"))


def steward(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STEWARD_HOME": str(folder / ".steward"), "COLUMNS": "200"}
    proc = subprocess.run(
        [STEWARD, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"steward {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout}")
    return proc


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("project")
    steward(folder, "init")
    assert (folder / "pipeline.yaml").exists()
    out = steward(folder, "train", "pipeline.yaml", "--json")
    return folder, json.loads(out.stdout)


def test_train_prints_run_dataset_metrics_and_gates(trained: tuple[Path, dict[str, Any]]) -> None:
    _, doc = trained
    assert len(doc["run_id"]) == 32
    assert doc["dataset_version"]["name"] == "adult"
    assert doc["dataset_version"]["num_rows"] == 4000
    assert doc["metrics"]["roc_auc"] > 0.85
    assert doc["baseline_metrics"]["roc_auc"] == pytest.approx(0.5)
    assert doc["gates_passed"] is True
    assert {g["metric"] for g in doc["gates"]} >= {"roc_auc", "demographic_parity_difference"}
    assert doc["validation"]["passed"] and doc["leakage"]["blocking"] == 0
    assert doc["search"]["trials"] == 4
    assert set(doc["headline"]) >= {"roc_auc", "balanced_accuracy"} and doc["headline"]["roc_auc"] > 0.85


def test_the_run_has_every_piece(trained: tuple[Path, dict[str, Any]]) -> None:
    folder, doc = trained
    runtime = Runtime.from_settings(Settings(home=folder / ".steward"))
    try:
        with runtime.uow() as uow:
            run = tracking.get_run(uow, doc["run_id"])
            files = {e.path for e in run_artifacts.list_artifacts(uow, run.id, "model")}
            files |= {e.path for e in run_artifacts.list_artifacts(uow, run.id, "evaluation")}
            top = {e.path for e in run_artifacts.list_artifacts(uow, run.id)}
    finally:
        runtime.close()
    assert run.status == "FINISHED"
    assert [i.digest for i in run.inputs] == [doc["dataset_version"]["digest"]]
    assert top >= {"pipeline", "validation", "leakage", "model", "evaluation"}
    assert files >= {
        "model/model.joblib",
        "model/signature.json",
        "model/requirements.txt",
        "evaluation/report.html",
        "evaluation/report.json",
        "evaluation/model_card.md",
        "evaluation/gates.json",
    }
    assert run.tags["steward.gates"] == "passed"


def test_reproduce_confirms_the_run(trained: tuple[Path, dict[str, Any]]) -> None:
    folder, doc = trained
    out = json.loads(steward(folder, "reproduce", doc["run_id"], "--json").stdout)
    assert out["match"] is True and out["bitwise"] is True
    assert out["dataset_version"] == doc["dataset_version"]["ref"]
    assert out["environment_changes"] == {}


def test_evaluate_a_run_on_new_data_writes_the_report(trained: tuple[Path, dict[str, Any]]) -> None:
    folder, doc = trained
    load_adult().tail(800).to_csv(folder / "fresh.csv", index=False)
    out = steward(
        folder, "evaluate", doc["run_id"], "--data", "fresh.csv", "--out", "eval", "--bootstrap", "0", "--json"
    )
    result = json.loads(out.stdout)
    assert result["rows"] == 800 and result["metrics"]["roc_auc"] > 0.8
    assert (folder / "eval" / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (folder / "eval" / "model_card.md").exists()


def test_bad_spec_is_one_line_naming_line_and_key(tmp_path: Path) -> None:
    line = EXAMPLE_SPEC.splitlines().index("  test_size: 0.25") + 1
    (tmp_path / "pipeline.yaml").write_text(EXAMPLE_SPEC.replace("  test_size: 0.25", "  test_sise: 0.25"))
    proc = steward(tmp_path, "train", "pipeline.yaml", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "split.test_sise: unknown key" in lines[0] and f"line {line}:" in lines[0]


def test_init_does_not_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from steward.cli.main import app

    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    again = CliRunner().invoke(app, ["init"])
    assert again.exit_code == 2 and "already exists; pass --force" in again.stderr
    assert CliRunner().invoke(app, ["init", "--force"]).exit_code == 0
