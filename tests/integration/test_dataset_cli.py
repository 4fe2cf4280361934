"""``steward datasets register | list | show``, in process, on a throwaway STEWARD_HOME."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.cli import cli_home
from typer.testing import CliRunner

from steward.cli.main import app
from steward.pipelines.sources import load_adult


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    with cli_home(tmp_path / ".steward", monkeypatch):
        yield tmp_path


def steward(*args: str) -> str:
    out = CliRunner().invoke(app, list(args))
    assert out.exit_code == 0, out.output
    return out.stdout


def test_register_list_and_show(home: Path) -> None:
    data = load_adult().head(300)
    data.to_csv(home / "people.csv", index=False)
    first = json.loads(steward("datasets", "register", "people.csv", "--json"))
    data.iloc[::-1].to_parquet(home / "people.parquet", index=False)
    again = json.loads(steward("datasets", "register", "people.parquet", "--name", "people", "--json"))
    assert first["new"] and not again["new"] and again["id"] == first["id"]
    data.head(200).to_csv(home / "people.csv", index=False)
    second = json.loads(steward("datasets", "register", "people.csv", "--json"))
    assert second["parent_id"] == first["id"]
    listed = json.loads(steward("datasets", "list", "people", "--json"))
    assert [v["id"] for v in listed] == [second["id"], first["id"]]
    shown = json.loads(steward("datasets", "show", first["ref"], "--json"))
    assert shown["profile"]["columns"]["age"]["type"] == "long" and shown["num_rows"] == 300
    assert "people@" in steward("datasets", "list", "people")


def test_unknown_version_is_one_line_on_stderr(home: Path) -> None:
    out = CliRunner().invoke(app, ["datasets", "show", "nothing"])
    assert out.exit_code == 1 and "No dataset version with id 'nothing'" in out.stderr
