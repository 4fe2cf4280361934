"""``steward evaluate NAME@alias`` and ``NAME/VERSION``: registered versions resolve through the
registry; a bad reference is one line naming it. In process, on a throwaway STEWARD_HOME."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import cli_home
from typer.testing import CliRunner

from steward.cli.main import app
from steward.pipelines import parse_spec
from steward.pipelines.runner import train
from steward.pipelines.sources import load_adult, normalize_frame
from steward.registry import service as registry
from steward.sdk.backends import LocalBackend
from steward.sdk.client import Client

SPEC = """\
name: adult-tiny
task: classification
data:
  source: {package_dataset: adult}
  target: income_per_year
  positive_class: ">50K"
  sample: 600
  drop: [fnlwgt, education-num]
leakage: {block: []}
model: {estimator: sklearn.linear_model.LogisticRegression, params: {max_iter: 300}}
evaluation: {bootstrap: 0, learning_curve: false}
"""


@pytest.fixture
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.chdir(tmp_path)
    with cli_home(tmp_path / ".steward", monkeypatch) as runtime:
        spec = parse_spec(SPEC)
        runs = [train(spec, SPEC, runtime=runtime, tracker=Client(LocalBackend(runtime))).run_id for _ in range(2)]
        with runtime.uow() as uow:
            for run_id in runs:
                registry.register_run_model(uow, "adult", run_id)
            registry.set_alias(uow, "adult", "production", 1)
            uow.commit()
        normalize_frame(load_adult().tail(300)).to_csv(tmp_path / "fresh.csv", index=False)
        yield {"runs": runs}


def evaluate(ref: str) -> Any:
    return CliRunner().invoke(app, ["evaluate", ref, "--data", "fresh.csv", "--bootstrap", "0", "--json"])


def test_alias_and_version_evaluate_the_registered_model(registered: dict[str, Any]) -> None:
    by_run = evaluate(registered["runs"][0])
    assert by_run.exit_code == 0, by_run.output
    expected = json.loads(by_run.stdout)["metrics"]
    for ref in ("adult@production", "adult/1", "adult@latest", "adult/2"):
        out = evaluate(ref)
        assert out.exit_code == 0, out.output
        doc = json.loads(out.stdout)
        assert doc["model"] == ref and doc["rows"] == 300
        assert doc["metrics"]["roc_auc"] == expected["roc_auc"]  # one spec, one seed: the same model


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("adult@staging", "No registered model version 'adult@staging': Registered model 'adult' has no alias"),
        ("adult/9", "No registered model version 'adult/9'"),
        ("nobody@production", "No registered model version 'nobody@production': Registered model 'nobody' not found"),
        ("adult@", "model reference 'adult@'"),
    ],
)
def test_bad_registry_reference_is_one_line_naming_it(registered: dict[str, Any], ref: str, message: str) -> None:
    out = evaluate(ref)
    assert out.exit_code != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
