"""The ``steward`` command as users run it: a subprocess on a fresh STEWARD_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.cli import steward

from steward.core.config import Settings
from steward.runtime import Runtime
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client


@pytest.fixture
def home(tmp_path: Path) -> Path:
    rt = Runtime.from_settings(Settings(home=tmp_path, sqlite_synchronous="NORMAL"))
    client = Client(LocalBackend(rt))
    for c in (0.1, 1.0):
        with client.start_run(experiment="churn", name=f"C={c}") as run:
            run.log_params({"C": c})
            run.log_metric("auc", 0.8 + c / 10)
    rt.close()
    return tmp_path


def test_experiments_and_runs_print_machine_readable_json(home: Path) -> None:
    exps = json.loads(steward(home, "experiments", "list", "--json").stdout)
    assert [e["name"] for e in exps] == ["churn"]
    runs = json.loads(steward(home, "runs", "list", "-e", "churn", "--json").stdout)
    assert {r["name"] for r in runs} == {"C=0.1", "C=1.0"}
    shown = json.loads(steward(home, "runs", "show", runs[0]["id"], "--json").stdout)
    assert shown["id"] == runs[0]["id"] and "C" in shown["params"]
    compared = json.loads(steward(home, "runs", "compare", runs[0]["id"], runs[1]["id"], "--json").stdout)
    assert sorted(compared["params"]["C"]) == ["0.1", "1.0"]


def test_tables_for_people(home: Path) -> None:
    out = steward(home, "runs", "list", "-e", "churn")
    assert out.returncode == 0 and "C=0.1" in out.stdout and "auc" in out.stdout


def test_errors_are_one_line_on_stderr_with_nonzero_exit(home: Path) -> None:
    out = steward(home, "runs", "show", "doesnotexist", "--json")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0 and "doesnotexist" in out.stderr
    bad_role = steward(home, "users", "create", "bob", "--role", "Wizard")
    assert bad_role.returncode == 2 and "Wizard" in bad_role.stderr


def test_users_and_tokens_work_without_a_server(home: Path) -> None:
    assert steward(home, "users", "create", "ci-bot", "--role", "Engineer", "--service").returncode == 0
    token = json.loads(steward(home, "tokens", "create", "--user", "ci-bot", "--json").stdout)["token"]
    assert token.startswith("stw_")
    users = json.loads(steward(home, "users", "list", "--json").stdout)
    assert {"name": "ci-bot", "kind": "service"}.items() <= next(u for u in users if u["name"] == "ci-bot").items()


def test_doctor_masks_secrets_and_checks_the_store(home: Path) -> None:
    env_home = home
    out = steward(env_home, "doctor", "--json")
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["ok"] and doc["checks"]["database"]["ok"]
    assert doc["settings"]["secret_key"] == "********"


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    first = json.loads(steward(tmp_path, "db", "upgrade", "--json").stdout)
    again = json.loads(steward(tmp_path, "db", "upgrade", "--json").stdout)
    assert first == again and first["revision"]
