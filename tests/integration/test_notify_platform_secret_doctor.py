"""``steward doctor`` says where the platform secret comes from (environment or home file),
masked: a fingerprint tells keys apart without showing one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.cli import cli_home
from typer.testing import CliRunner

from steward.cli.main import app
from steward.core.platform_secret import fingerprint


def _doctor(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    with cli_home(home, monkeypatch):
        out = CliRunner().invoke(app, ["doctor", "--json"])
    assert out.exit_code == 0, out.output
    settings: dict[str, object] = json.loads(out.stdout)["settings"]
    return settings


def test_doctor_shows_the_home_file_as_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEWARD_SECRET_KEY", raising=False)
    monkeypatch.delenv("STEWARD_SECRET_KEY_PREVIOUS", raising=False)
    (tmp_path / "secret_key").write_text("the-home-file-secret\n")
    shown = _doctor(tmp_path, monkeypatch)
    assert (
        shown["platform_secret"]
        == f"home file {tmp_path / 'secret_key'}, fingerprint {fingerprint('the-home-file-secret')}"
    )
    assert "the-home-file-secret" not in json.dumps(shown)


def test_doctor_shows_the_environment_as_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_SECRET_KEY", "an-environment-secret")
    monkeypatch.setenv("STEWARD_SECRET_KEY_PREVIOUS", "retired-one,retired-two")
    shown = _doctor(tmp_path, monkeypatch)
    assert shown["platform_secret"] == (
        f"environment (STEWARD_SECRET_KEY), fingerprint {fingerprint('an-environment-secret')}; 2 previous key(s)"
    )
    assert shown["secret_key_previous"] == "********"
    text = json.dumps(shown)
    assert "an-environment-secret" not in text and "retired-one" not in text
