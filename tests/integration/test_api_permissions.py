"""Every API route declares its permission, and anonymous or under-privileged callers are
refused before anything runs."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from steward.api.deps import Permission, PublicAccess
from steward.auth.models import ROLES, has_permission

API_PREFIXES = ("/api/", "/ajax-api/")


def _declared(route: _Effective) -> Permission | PublicAccess | None:
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Permission | PublicAccess)]
    return found[0] if len(found) == 1 else None


class _Effective:
    """An API route as mounted: its full path and its own dependencies."""

    def __init__(self, route: APIRoute, path: str) -> None:
        self.route, self.path, self.dependant = route, path, route.dependant


def _api_routes(app) -> list[tuple[_Effective, str]]:  # type: ignore[no-untyped-def]
    out = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and ctx.path:
            for method in sorted((ctx.methods or set()) - {"HEAD", "OPTIONS"}):
                out.append((_Effective(route, ctx.path), method))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def _protected(app) -> list[tuple[str, str, Permission]]:  # type: ignore[no-untyped-def]
    """(method, path, permission) of every API route that needs a permission."""
    out = []
    for route, method in _api_routes(app):
        dep = _declared(route)
        if route.path.startswith(API_PREFIXES) and isinstance(dep, Permission):
            out.append((method, route.path, dep))
    return out


def test_every_route_declares_exactly_one_permission_or_public(app) -> None:  # type: ignore[no-untyped-def]
    missing = [f"{m} {r.path}" for r, m in _api_routes(app) if _declared(r) is None]
    assert not missing, f"routes without a declared permission: {missing}"


def test_anonymous_calls_get_401_on_every_protected_route(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    checked = 0
    for method, path, _permission in _protected(app):
        resp = client.request(method, _concrete(path), json={})
        assert resp.status_code == 401, f"{method} {path} gave {resp.status_code} without credentials"
        checked += 1
    assert checked >= 20


def test_under_privileged_calls_get_403(app, tokens: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    checked = 0
    for method, path, dep in _protected(app):
        lacking = [r for r in ROLES if not has_permission(ROLES[r].grants, dep.permission)]
        for role in lacking:
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            resp = client.request(method, _concrete(path), json={}, headers=headers)
            assert resp.status_code == 403, f"{role} on {method} {path} gave {resp.status_code}"
            checked += 1
    assert checked >= 20


def test_a_bad_token_is_401_problem_json(app) -> None:  # type: ignore[no-untyped-def]
    resp = TestClient(app).get("/api/v1/experiments", headers={"Authorization": "Bearer stw_nope"})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["title"] == "unauthenticated"


def test_basic_auth_with_a_users_password_works(app, tokens: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    assert client.get("/api/v1/whoami", auth=("viewer", "viewer-password")).json()["role"] == "Viewer"
    assert client.get("/api/v1/whoami", auth=("viewer", "wrong")).status_code == 401


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("Viewer", "runs:read", True),
        ("Viewer", "runs:write", False),
        ("Viewer", "users:read", False),
        ("Engineer", "runs:write", True),
        ("Engineer", "checks:approve", False),
        ("Compliance Officer", "checks:approve", True),
        ("Compliance Officer", "runs:write", False),
        ("Auditor", "audit:verify", True),
        ("Admin", "users:write", True),
    ],
)
def test_role_grants(role: str, permission: str, allowed: bool) -> None:
    assert has_permission(ROLES[role].grants, permission) is allowed
