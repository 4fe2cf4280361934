"""``steward models`` edits tags, descriptions and aliases, answers "which version had alias A
at time T", and shows every alias move in the history; bad input is one readable line."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from steward.cli import context
from steward.cli.main import app
from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.tracking import service as tracking


@pytest.fixture
def rt(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """churn: v1 gates passed, v2 gates failed."""
    with runtime.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "churn")
        registry.create_model(uow, "churn")
        for gates in ("passed", "failed"):
            run = tracking.create_run(uow, exp.id, tags={"steward.gates": gates})
            registry.create_version(uow, "churn", source=f"runs:/{run.id}/model", run_id=run.id)
        uow.commit()
    monkeypatch.setattr(context, "runtime", lambda: runtime)
    yield runtime


def ok(*args: str) -> Any:
    out = CliRunner().invoke(app, ["models", *args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def refused(*args: str) -> str:
    out = CliRunner().invoke(app, ["models", *args])
    assert out.exit_code != 0, out.output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), out.stderr
    return lines[0]


def test_tags_and_descriptions_of_a_model_and_a_version(rt: Runtime) -> None:
    assert ok("tag", "churn", "team", "risk")["tags"] == {"team": "risk"}
    assert ok("tag", "churn", "validated", "yes", "--version", "2")["tags"] == {"validated": "yes"}
    assert ok("describe", "churn", "scores churn")["description"] == "scores churn"
    assert ok("describe", "churn", "retrained", "-v", "2")["description"] == "retrained"
    assert ok("tag", "churn", "validated", "--delete", "-v", "2")["tags"] == {}
    with rt.uow() as uow:
        model, v2 = registry.get_model(uow, "churn"), registry.get_version(uow, "churn", 2)
    assert (model.tags, model.description) == ({"team": "risk"}, "scores churn")
    assert (v2.tags, v2.description) == ({}, "retrained")


def test_alias_set_delete_alias_at_and_history_with_who_when_from_to(rt: Runtime) -> None:
    first = ok("alias", "set", "churn", "champion", "1", "--reason", "first")
    assert first["moved"]["to_version"] == 1 and first["moved"]["actor"].startswith("cli:")
    time.sleep(0.01)
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    assert ok("alias", "set", "churn", "champion", "2")["moved"]["from_version"] == 1
    assert ok("alias", "set", "churn", "champion", "2")["moved"] is None
    assert ok("alias-at", "churn", "champion", "--at", between.isoformat())["version"] == 1
    assert ok("alias-at", "churn", "champion", "--at", "2000-01-01T00:00:00Z")["version"] is None
    assert ok("alias", "delete", "churn", "champion")["moved"]["from_version"] == 2
    assert ok("alias", "delete", "churn", "champion")["moved"] is None
    assert ok("alias-at", "churn", "champion", "--at", dt.datetime.now(dt.UTC).isoformat())["version"] is None
    ok("promote", "churn", "1")
    doc = ok("history", "churn")
    moves = [(m["alias"], m["from_version"], m["to_version"], m["reason"]) for m in doc["alias_moves"]]
    assert moves == [
        ("champion", None, 1, "first"),
        ("champion", 1, 2, ""),
        ("champion", 2, None, ""),
        ("production", None, 1, "promoted to production"),
    ]
    assert all(m["actor"].startswith("cli:") and m["at"] > 0 for m in doc["alias_moves"])
    assert [(p["action"], p["version"]) for p in doc["promotions"]] == [("promoted", 1)]
    only = ok("history", "churn", "--alias", "champion")
    assert len(only["alias_moves"]) == 3 and only["promotions"] == []
    text = CliRunner().invoke(app, ["models", "history", "churn"])
    assert text.exit_code == 0 and "champion" in text.stdout and "promoted" in text.stdout


@pytest.mark.parametrize("spelling", ["production", "Production", "PRODUCTION"])
def test_alias_set_production_goes_through_the_gates(rt: Runtime, spelling: str) -> None:
    line = refused("alias", "set", "churn", spelling, "2")
    assert "cannot become 'production'" in line and "gates failed" in line
    assert ok("alias", "set", "churn", spelling, "1")["alias"] == "production"
    with rt.uow() as uow:
        assert registry.get_model(uow, "churn").aliases == {"production": 1}
        assert [(e.version, e.action) for e in promotion.history(uow, "churn")] == [(2, "blocked"), (1, "promoted")]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("alias-at", "churn", "champion", "--at", "yesterday"), "'at'"),
        (("alias-at", "churn", "champion", "--at", "2026-01-01T00:00:00"), "time zone"),
        (("alias", "set", "churn", "champion", "9"), "version 9"),
        (("alias", "set", "nope", "champion", "1"), "'nope'"),
        (("alias", "set", "churn", "bad alias", "1"), "'bad alias'"),
        (("tag", "churn", "team"), "VALUE"),
        (("tag", "churn", "missing", "--delete"), "'missing'"),
        (("describe", "churn", "x", "-v", "7"), "7"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(rt: Runtime, args: tuple[str, ...], names: str) -> None:
    assert names in refused(*args)
    with rt.uow() as uow:
        model = registry.get_model(uow, "churn")
        assert (model.aliases, model.tags, model.description) == ({}, {}, "")
        assert registry.alias_moves(uow, "churn").items == []
