"""Issue 2's promises that no other test held to: the top-level SDK and the backend the
environment chooses, client-side batching of metric writes, JSON access logs with the request
id, the bootstrap admin's password printed once, and the SQLite settings in effect."""

from __future__ import annotations

import json
import logging
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.support.cli import cli_env, command, wait_ready
from tests.support.net import free_port

import steward
from steward.auth import service as auth
from steward.core.config import Settings
from steward.core.logging import JsonFormatter
from steward.runtime import Runtime
from steward.sdk import client as sdk_client
from steward.sdk.backends import LocalBackend
from steward.server import build
from steward.store.engine import make_engine
from steward.tracking import service as tracking

ENV = ("STEWARD_SERVER_URL", "STEWARD_TOKEN", "STEWARD_HOME", "STEWARD_DATABASE_URL", "STEWARD_ARTIFACT_ROOT")


@pytest.fixture
def sdk_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean STEWARD_* environment and no default client cached by an earlier test."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STEWARD_SQLITE_SYNCHRONOUS", "NORMAL")
    monkeypatch.setattr(sdk_client, "_default", None)
    yield monkeypatch
    client = sdk_client._default
    if client is not None and isinstance(client.backend, LocalBackend):
        client.backend.runtime.close()


class _AccessLog(logging.Handler):
    """The server's own access log (``steward.access``), formatted as in production."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def requests(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def access_log() -> Iterator[_AccessLog]:
    logger = logging.getLogger("steward.access")
    handler, level = _AccessLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def _run(runtime: Runtime, run_id: str) -> tracking.Run:
    with runtime.uow() as uow:
        return tracking.get_run(uow, run_id)


# the SDK, top level ----------------------------------------------------------------------------
def test_start_run_logs_to_the_server_the_environment_names(
    sdk_env: pytest.MonkeyPatch, live_url: str, tokens: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "not-used"
    sdk_env.setenv("STEWARD_HOME", str(elsewhere))
    sdk_env.setenv("STEWARD_SERVER_URL", live_url)
    sdk_env.setenv("STEWARD_TOKEN", tokens["Engineer"])
    with steward.start_run(experiment="churn", name="first") as run:
        run.log_params({"C": 1.0})
        run.log_metric("auc", 0.91, step=3)
    stored = _run(runtime, run.id)  # the server's store
    assert (stored.name, stored.status, stored.user_id) == ("first", "FINISHED", "engineer")
    assert stored.params == {"C": "1.0"}
    assert (stored.metrics["auc"].value, stored.metrics["auc"].step) == (0.91, 3)
    assert not elsewhere.exists(), "the SDK wrote to the embedded store although a server was named"


def test_the_top_level_model_registry_follows_the_same_environment(
    sdk_env: pytest.MonkeyPatch, live_url: str, tokens: dict[str, str], runtime: Runtime, tmp_path: Path
) -> None:
    from steward.registry import service as registry

    with runtime.uow() as uow:  # a version on the server's store
        registry.create_model(uow, "churn")
        registry.create_version(uow, "churn", source="runs:/r/model", run_id=None, user_id="engineer")
        uow.commit()
    sdk_env.setenv("STEWARD_HOME", str(tmp_path / "not-used"))
    sdk_env.setenv("STEWARD_SERVER_URL", live_url)
    sdk_env.setenv("STEWARD_TOKEN", tokens["Engineer"])
    steward.models().set_alias("churn", "champion", 1, reason="first one")
    with runtime.uow() as uow:
        moves = registry.alias_history(uow, "churn", "champion")
    assert [(e.to_version, e.actor, e.reason) for e in moves] == [(1, "engineer", "first one")]
    assert steward.models().alias_at("churn", "champion", moves[0].at) == 1


def test_start_run_without_a_server_uses_the_embedded_store(sdk_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sdk_env.setenv("STEWARD_HOME", str(tmp_path / "home"))
    with steward.start_run(experiment="churn") as run:
        run.log_metric("auc", 0.5)
    runtime = Runtime.from_settings(Settings())
    try:
        assert _run(runtime, run.id).metrics["auc"].value == 0.5
    finally:
        runtime.close()


def test_a_failing_block_marks_the_run_failed(
    sdk_env: pytest.MonkeyPatch, live_url: str, tokens: dict[str, str], runtime: Runtime
) -> None:
    sdk_env.setenv("STEWARD_SERVER_URL", live_url)
    sdk_env.setenv("STEWARD_TOKEN", tokens["Engineer"])
    with pytest.raises(ZeroDivisionError), steward.start_run(experiment="churn") as run:
        run.log_metric("loss", 0.3)
        _ = 1 / 0
    stored = _run(runtime, run.id)
    assert stored.status == "FAILED" and stored.metrics["loss"].value == 0.3


def test_the_sdk_batches_metric_writes(
    sdk_env: pytest.MonkeyPatch, live_url: str, tokens: dict[str, str], runtime: Runtime, access_log: _AccessLog
) -> None:
    sdk_env.setenv("STEWARD_SERVER_URL", live_url)
    sdk_env.setenv("STEWARD_TOKEN", tokens["Engineer"])
    with steward.start_run(experiment="batching") as run:
        before = len(access_log.lines)
        for step in range(1000):
            run.log_metric("loss", 1 / (step + 1), step=step)
    writes = [r for r in access_log.requests()[before:] if r["method"] != "GET"]
    assert 1 <= len(writes) <= 5, f"1,000 metric points took {len(writes)} requests: {writes}"
    with runtime.uow() as uow:
        history = tracking.metric_history(uow, run.id, "loss").items
    assert [m.step for m in history] == list(range(1000))
    assert all(math.isclose(m.value, 1 / (m.step + 1)) for m in history)


# the server's logs -------------------------------------------------------------------------------
def test_access_log_records_are_json_with_the_request_id(live_url: str, access_log: _AccessLog) -> None:
    resp = httpx.get(f"{live_url}/api/v1/experiments", headers={"X-Request-ID": "contract-42"})
    assert resp.status_code == 401 and resp.headers["x-request-id"] == "contract-42"
    (doc,) = [r for r in access_log.requests() if r.get("request_id") == "contract-42"]
    assert (doc["logger"], doc["method"], doc["path"], doc["status"]) == (
        "steward.access",
        "GET",
        "/api/v1/experiments",
        401,
    )
    assert isinstance(doc["ms"], float) and doc["level"] == "info"
    generated = httpx.get(f"{live_url}/healthz").headers["x-request-id"]
    assert any(r.get("request_id") == generated for r in access_log.requests())


# the bootstrap admin ------------------------------------------------------------------------------
def test_build_generates_the_admin_password_once_and_it_works(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, sqlite_synchronous="NORMAL")
    assert settings.admin_password is None
    _app, runtime, password = build(settings)
    runtime.close()
    assert password is not None and len(password) >= 12
    again_app, again, second = build(settings)
    try:
        assert second is None
        with TestClient(again_app) as client:
            assert client.get("/api/v1/whoami", auth=("admin", password)).json()["role"] == "Admin"
            assert client.get("/api/v1/whoami", auth=("admin", password + "x")).status_code == 401
    finally:
        again.close()


def _start_server(home: Path) -> tuple[str, str, str]:
    """Run ``steward server`` until it answers, send one request with a known id, stop it;
    return (stdout, stderr, url)."""
    env = cli_env(home)
    env.pop("STEWARD_ADMIN_PASSWORD", None)
    url = f"http://127.0.0.1:{free_port()}"
    args = command("server", "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], "--no-demo")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(url, proc)
        httpx.get(f"{url}/healthz", headers={"X-Request-ID": "from-the-test"})
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    return out, err, url


def test_steward_server_prints_the_generated_password_once_and_logs_json(tmp_path: Path) -> None:
    first_out, first_err, _ = _start_server(tmp_path)
    assert first_out.count("password") == 1, first_out
    password = first_out.split("with password", 1)[1].split()[0]
    logged = [json.loads(line) for line in first_err.splitlines() if line.startswith("{")]
    assert any(d.get("request_id") == "from-the-test" and d.get("path") == "/healthz" for d in logged), first_err

    second_out, _, _ = _start_server(tmp_path)
    assert "password" not in second_out and password not in second_out
    runtime = Runtime.from_settings(Settings(home=tmp_path, sqlite_synchronous="NORMAL"))
    try:
        with runtime.uow() as uow:
            assert auth.authenticate_password(uow, "admin", password) is not None
    finally:
        runtime.close()


# SQLite ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("configured", "expected"), [("FULL", 2), ("NORMAL", 1), ("OFF", 0)])
def test_sqlite_connections_run_in_wal_with_foreign_keys(tmp_path: Path, configured: str, expected: int) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'steward.db'}", sqlite_synchronous=configured)
    try:
        with engine.connect() as one, engine.connect() as two:  # every pooled connection, not just the first
            for conn in (one, two):
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert conn.execute(text("PRAGMA synchronous")).scalar() == expected
                assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        engine.dispose()


def test_the_runtime_store_enforces_foreign_keys(runtime: Runtime) -> None:
    assert runtime.settings.sqlite_synchronous == "NORMAL"
    with runtime.engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1
        with pytest.raises(Exception, match="FOREIGN KEY"):
            conn.execute(text("INSERT INTO params (run_id, key, value) VALUES ('no-such-run', 'k', 'v')"))
