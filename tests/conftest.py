"""Fixtures shared by every suite.

- ``runtime``: a fresh embedded store (SQLite + local artifacts) in a temporary folder.
- ``store_runtime``: the same on SQLite *and* on a real PostgreSQL (parametrized), for store
  tests. PostgreSQL comes from Debian's server binaries, started once per session; when they
  are missing the PostgreSQL cases fail if ``STEWARD_REQUIRE_POSTGRES=1`` (as in CI) and are
  skipped otherwise.
- ``app`` / ``api``: the full server app and an httpx client bound to it in-process.
- ``tokens``: one API token per role.
- ``live_url``: the app served by uvicorn on loopback (real HTTP).
- ``browser`` / ``context`` / ``page``: a real Chromium (from ``tests.support.browser``).
- ``mlflow_env``: the ``mlflow`` client pointed at ``live_url`` (from ``tests.support.mlflow_env``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hyp_settings

from steward.auth import service as auth_service
from steward.core.config import Settings
from steward.runtime import Runtime
from tests.support import postgres
from tests.support.net import serve

pytest_plugins = ["tests.support.browser", "tests.support.mlflow_env"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With STEWARD_NO_SKIPS=1 (as in CI) a skipped test fails: a missing PostgreSQL, Chromium or
    Prometheus must never pass quietly."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("STEWARD_NO_SKIPS") == "1" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped, but STEWARD_NO_SKIPS=1 forbids skips: {reason}"


hyp_settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
hyp_settings.load_profile("ci")

ROLES = ("Admin", "Engineer", "Compliance Officer", "Auditor", "Viewer")


def make_settings(home: Path, **overrides: object) -> Settings:
    return Settings(home=home, sqlite_synchronous="NORMAL", admin_password="admin-password-1", **overrides)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime.from_settings(make_settings(tmp_path))
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    if postgres.find_bindir() is None:
        if os.environ.get("STEWARD_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (STEWARD_REQUIRE_POSTGRES=1) but its binaries are missing")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    if request.param == "sqlite":
        settings = make_settings(tmp_path)
    else:
        admin = request.getfixturevalue("pg_admin_url")
        url = postgres.create_database(admin, f"t_{uuid.uuid4().hex[:12]}")
        settings = make_settings(tmp_path, database_url=url)
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    """A token per role. Users are named after their role ("compliance-officer"), with password
    "<name>-password"; the Admin is the bootstrap ``admin`` (password "admin-password-1")."""
    from steward.server import bootstrap_admin

    bootstrap_admin(runtime)
    out = {}
    with runtime.uow() as uow:
        for role in ROLES:
            name = "admin" if role == "Admin" else role.lower().replace(" ", "-")
            if role != "Admin":
                auth_service.create_user(uow, name, role, password=f"{name}-password")
            out[role] = auth_service.create_token(uow, name)
        uow.commit()
    return out


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    from steward.server import bootstrap_admin, create_app

    bootstrap_admin(runtime)
    return create_app(runtime)


@pytest.fixture
def api(app, tokens: dict[str, str]) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    """An Engineer's client, in-process over ASGI."""
    with TestClient(app, headers={"Authorization": f"Bearer {tokens['Engineer']}"}) as client:
        yield client


@pytest.fixture
def live_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(app) as url:
        yield url
