"""The CLI keeps issue 2's promises: ``doctor`` tells a never-migrated database apart,
``runs list`` finds what the SDK logged without ``-e``, and ``init`` and ``monitor report``
take ``--json`` like every command that creates or reports something."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cli import cli_home, steward
from typer.testing import CliRunner

from steward.cli.main import app
from steward.core.clock import now_ms
from steward.monitoring.tables import RunRow
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.chdir(tmp_path)
    with cli_home(tmp_path / ".steward", monkeypatch) as runtime:
        yield runtime


def ok(*args: str) -> str:
    out = CliRunner().invoke(app, list(args))
    assert out.exit_code == 0, out.output
    return out.stdout


# doctor --------------------------------------------------------------------------------------------
def test_doctor_fails_on_a_never_migrated_database_and_names_the_fix(tmp_path: Path) -> None:
    out = steward(tmp_path, "doctor", "--json")
    assert out.returncode == 1, out.stderr
    database = json.loads(out.stdout)["checks"]["database"]
    assert database["ok"] is False and database["revision"] is None
    assert "not migrated" in database["error"] and "steward db upgrade" in database["error"]
    assert out.stderr.strip().count("\n") == 0 and "steward db upgrade" in out.stderr

    text = steward(tmp_path, "doctor")
    assert text.returncode == 1 and "not migrated" in text.stdout

    assert steward(tmp_path, "db", "upgrade").returncode == 0
    migrated = steward(tmp_path, "doctor", "--json")
    assert migrated.returncode == 0, migrated.stderr
    doc = json.loads(migrated.stdout)
    assert doc["ok"] and doc["checks"]["database"]["ok"] and doc["checks"]["database"]["revision"]


# runs list -----------------------------------------------------------------------------------------
def _log_with_the_sdk(runtime: Runtime) -> dict[str, str]:
    client = Client(LocalBackend(runtime))
    ids = {}
    for experiment, name in (("churn", "c1"), ("churn", "c2"), (None, "plain")):
        run = client.start_run(experiment, name=name) if experiment else client.start_run(name=name)
        with run:
            run.log_metric("auc", 0.8)
        ids[name] = run.id
    return ids


def test_runs_list_without_an_experiment_lists_every_run_the_sdk_logged(home: Runtime) -> None:
    ids = _log_with_the_sdk(home)
    listed = json.loads(ok("runs", "list", "--json"))
    assert {r["id"] for r in listed} == set(ids.values())
    table = ok("runs", "list")
    assert all(name in table for name in ids) and "churn" in table and "Default" in table
    # the SDK's default experiment is the CLI's name for it too
    assert [r["name"] for r in json.loads(ok("runs", "list", "-e", "Default", "--json"))] == ["plain"]
    assert {r["name"] for r in json.loads(ok("runs", "list", "-e", "churn", "--json"))} == {"c1", "c2"}


def test_runs_list_on_an_empty_store_is_an_empty_list(home: Runtime) -> None:
    assert json.loads(ok("runs", "list", "--json")) == []
    out = CliRunner().invoke(app, ["runs", "list", "-e", "nope", "--json"])
    assert out.exit_code == 1 and out.stdout == "" and "nope" in out.stderr


# --json on init and monitor report ----------------------------------------------------------------
def test_init_json_prints_one_document(home: Runtime, tmp_path: Path) -> None:
    doc = json.loads(ok("init", "spec.yaml", "--json"))
    assert doc == {"path": "spec.yaml", "next": "steward train spec.yaml"}
    assert (tmp_path / "spec.yaml").read_text().strip()
    again = CliRunner().invoke(app, ["init", "spec.yaml", "--json"])
    assert again.exit_code == 2 and again.stdout == "" and "--force" in again.stderr  # a bad argument


def test_monitor_report_json(home: Runtime, tmp_path: Path) -> None:
    report = {"deployment": "api", "window": "1d", "drift_detected": False, "columns": []}
    sha = home.blobs.put(json.dumps(report).encode())
    with home.uow() as uow:
        t = now_ms()
        uow.session.add(
            RunRow(
                id="run1", deployment="api", window="1d", window_start=t - 86_400_000, window_end=t, created_at=t,
                rows=0, labelled_rows=0, drift_detected=False, metrics={}, notes=[], reference="first 1d",
                report_sha256=sha,
            )
        )  # fmt: skip
        uow.commit()
    assert json.loads(ok("monitor", "report", "run1", "--json")) == report
    missing = CliRunner().invoke(app, ["monitor", "report", "nope", "--json"])
    assert missing.exit_code == 1 and missing.stdout == "" and "nope" in missing.stderr
