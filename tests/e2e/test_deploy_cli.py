"""``steward deploy`` / ``steward rollback`` / ``steward deployments`` against a running
``steward serve --deployment``, as users run them: subprocesses on one STEWARD_HOME."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from tests.support.cli import cli_env, cli_home, command, wait_ready
from tests.support.net import free_port
from tests.support.serving import records, register_adult
from typer.testing import CliRunner

from steward.cli.main import app


def steward(*args: str) -> Result:
    """The CLI in process (its start-up, paid once per test, is what makes subprocesses slow)."""
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Any]]:
    with cli_home(tmp_path, monkeypatch) as rt:
        _, df = register_adult(rt)
        register_adult(rt, promote=False)
        yield tmp_path, df


@pytest.fixture
def server(home: tuple[Path, Any]) -> Iterator[str]:
    """``steward serve --deployment income`` in its own process, as users run it."""
    path, _df = home
    created = steward("deploy", "income", "--model", "adult@production", "--reason", "launch", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["stable_version"] == 1
    port = free_port()
    proc = subprocess.Popen(
        command(
            "serve", "--deployment", "income", "--poll-interval", "0.2", "--port", str(port), "--flush-interval", "0.2"
        ),
        env=cli_env(path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    try:
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _versions(url: str, body: list[dict[str, Any]], n: int) -> list[str]:
    with httpx.Client(base_url=url, timeout=10) as client:
        return [client.post("/v1/deployments/income/predict", json=body).json()["model_version"] for _ in range(n)]


def _until(url: str, body: list[dict[str, Any]], version: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _versions(url, body, 10) != [version] * 10:
        assert time.monotonic() < deadline, f"never served only version {version}"


def test_canary_promotes_itself_and_rollback_returns_in_one_command(home: tuple[Path, Any], server: str) -> None:
    _path, df = home
    body = records(df, 1)
    assert set(_versions(server, body, 5)) == {"1"}
    canary = ["--strategy", "canary", "--stages", "50,100", "--hold-requests", "5", "--hold-minutes", "0"]
    out = steward("deploy", "income", "--model", "adult/2", *canary, "--max-p95-ms", "500", "--reason", "retrained")
    assert out.exit_code == 0, out.output
    assert "income canaries adult v2" in out.stdout and "[50%] > 100%" in out.stdout
    _until(server, body, "2")  # the 100% stage serves only version 2 ...
    deadline = time.monotonic() + 30
    while True:  # ... and once that stage's hold is met, the model server records the promotion
        shown = json.loads(steward("deployments", "show", "income", "--json").stdout)
        if shown["state"] != "canary" or time.monotonic() > deadline:
            break
        _versions(server, body, 5)
    assert (shown["state"], shown["stable_version"], shown["previous_version"]) == ("stable", 2, 1)

    back = steward("rollback", "income", "--reason", "complaints")
    assert back.exit_code == 0 and "income rolled back: serves v1." in back.stdout
    _until(server, body, "1")

    events = json.loads(steward("deployments", "history", "income", "--json").stdout)
    actions = [(e["action"], e["stable_version"], e["candidate_version"]) for e in reversed(events)]
    assert actions == [
        ("create", 1, None),
        ("start_canary", 1, 2),
        ("advance", 1, 2),
        ("promote", 2, None),
        ("revert", 1, None),
    ]
    assert all(e["actor"].startswith("steward-serve@") for e in events if e["action"] in ("advance", "promote"))
    assert events[0]["reason"] == "complaints" and events[0]["actor"].startswith("cli:")
    listed = steward("deployments", "list")
    assert listed.exit_code == 0 and "income" in listed.stdout and "v1 100%" in listed.stdout

    # bad commands say what is wrong, in one line, and change nothing
    missing = steward("deploy", "income", "--model", "adult/9")
    assert missing.exit_code == 1 and "9" in missing.stderr and missing.stderr.strip().count("\n") == 0
    misplaced = steward("deploy", "income", "--model", "adult/2", "--strategy", "canary", "--split", "90/10")
    assert misplaced.exit_code == 2 and "'split' option does not apply to the canary strategy" in misplaced.stderr
    nothing = steward("rollback", "nope")
    assert nothing.exit_code == 1 and "No deployment named 'nope'" in nothing.stderr
    assert json.loads(steward("deployments", "history", "income", "--json").stdout) == events
