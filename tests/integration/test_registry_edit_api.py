"""Native REST over the registry's editable parts: descriptions, tags, aliases (the protected
one only through its gates, in any spelling) and cursor pagination of every registry list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from steward.registry import promotion
from steward.registry import service as registry
from steward.runtime import Runtime
from steward.tracking import service as tracking


def _run(rt: Runtime, gates: str) -> str:
    with rt.uow() as uow:
        exp = tracking.get_or_create_experiment(uow, "churn")
        run = tracking.create_run(uow, exp.id, name="train", tags={"steward.gates": gates})
        uow.commit()
        return run.id


@pytest.fixture
def churn(runtime: Runtime) -> None:
    """churn: v1 gates passed, v2 gates failed, v3 no gates recorded."""
    passed, failed = _run(runtime, "passed"), _run(runtime, "failed")
    with runtime.uow() as uow:
        registry.create_model(uow, "churn")
        registry.create_version(uow, "churn", source=f"runs:/{passed}/model", run_id=passed)
        registry.create_version(uow, "churn", source=f"runs:/{failed}/model", run_id=failed)
        registry.create_version(uow, "churn", source="file:///nowhere")
        uow.commit()


def _pages(api: httpx.Client, path: str, key: str, size: int, **params: Any) -> list[list[Any]]:
    pages, token = [], None
    while True:
        query = {**params, "max_results": size, **({"page_token": token} if token else {})}
        r = api.get(path, params=query)
        assert r.status_code == 200, r.text
        pages.append(r.json()[key])
        token = r.json()["next_page_token"]
        if token is None:
            return pages


def test_descriptions_and_tags_of_models_and_versions_are_edited(api: httpx.Client, churn: None) -> None:
    r = api.patch("/api/v1/models/churn", json={"description": "scores churn"})
    assert r.status_code == 200 and r.json()["description"] == "scores churn"
    r = api.patch("/api/v1/models/churn/versions/2", json={"description": "retrained"})
    assert r.status_code == 200 and r.json()["description"] == "retrained"
    r = api.put("/api/v1/models/churn/tags/team/risk", json={"value": "credit"})
    assert r.status_code == 200 and r.json()["tags"] == {"team/risk": "credit"}
    r = api.put("/api/v1/models/churn/versions/1/tags/validated", json={"value": "yes"})
    assert r.status_code == 200 and r.json()["tags"] == {"validated": "yes"}
    assert api.delete("/api/v1/models/churn/versions/1/tags/validated").status_code == 204
    assert api.delete("/api/v1/models/churn/tags/team/risk").status_code == 204
    model = api.get("/api/v1/models/churn").json()
    assert (model["description"], model["tags"]) == ("scores churn", {})
    version = api.get("/api/v1/models/churn/versions/1").json()
    assert version["tags"] == {}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "names"),
    [
        ("patch", "/api/v1/models/nope", {"description": "x"}, 404, "nope"),
        ("patch", "/api/v1/models/churn/versions/9", {"description": "x"}, 404, "churn/9"),
        ("patch", "/api/v1/models/churn/versions/one", {"description": "x"}, 400, "version"),
        ("put", "/api/v1/models/churn/tags/k", {}, 422, "value"),
        ("delete", "/api/v1/models/churn/tags/missing", None, 404, "missing"),
        ("put", "/api/v1/models/churn/aliases/bad alias", {"version": 1}, 400, "bad alias"),
        ("put", "/api/v1/models/churn/aliases/latest", {"version": 1}, 400, "latest"),
        ("put", "/api/v1/models/churn/aliases/champion", {"version": 0}, 422, "version"),
        ("put", "/api/v1/models/churn/aliases/champion", {"version": 7}, 404, "churn/7"),
    ],
)
def test_bad_edits_are_named_problems_and_change_nothing(
    api: httpx.Client, runtime: Runtime, churn: None, method: str, path: str, body: Any, status: int, names: str
) -> None:
    r = api.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert names in r.text
    with runtime.uow() as uow:
        model = registry.get_model(uow, "churn")
        assert (model.description, model.tags, model.aliases) == ("", {}, {})
        assert registry.alias_moves(uow, "churn").items == []


def test_any_alias_is_set_and_deleted_and_every_move_recorded(api: httpx.Client, churn: None) -> None:
    r = api.put("/api/v1/models/churn/aliases/champion", json={"version": 2, "reason": "try it"})
    assert r.status_code == 200, r.text
    assert r.json()["moved"]["to_version"] == 2 and r.json()["moved"]["actor"] == "engineer"
    assert api.put("/api/v1/models/churn/aliases/champion", json={"version": 3}).json()["moved"]["from_version"] == 2
    assert api.put("/api/v1/models/churn/aliases/champion", json={"version": 3}).json()["moved"] is None
    assert api.delete("/api/v1/models/churn/aliases/champion", params={"reason": "retired"}).status_code == 204
    events = api.get("/api/v1/models/churn/aliases/champion/history").json()["events"]
    assert [(e["from_version"], e["to_version"], e["reason"]) for e in events] == [
        (None, 2, "try it"),
        (2, 3, ""),
        (3, None, "retired"),
    ]
    assert api.get("/api/v1/models/churn").json()["aliases"] == {}


@pytest.mark.parametrize("spelling", ["production", "Production", "PRODUCTION", "pRoDuCtIoN"])
def test_the_production_alias_in_any_spelling_moves_only_through_its_gates(
    api: httpx.Client, runtime: Runtime, churn: None, spelling: str
) -> None:
    for version in (2, 3):  # gates failed, gates missing
        r = api.put(f"/api/v1/models/churn/aliases/{spelling}", json={"version": version})
        assert r.status_code == 409, r.text
        assert r.json()["title"] == "promotion_blocked"
    assert api.get("/api/v1/models/churn").json()["aliases"] == {}
    r = api.put(f"/api/v1/models/churn/aliases/{spelling}", json={"version": 1, "reason": "gates passed"})
    assert r.status_code == 200, r.text
    assert r.json()["alias"] == "production" and r.json()["moved"]["to_version"] == 1
    assert api.get("/api/v1/models/churn").json()["aliases"] == {"production": 1}
    with runtime.uow() as uow:
        assert [(e.version, e.action) for e in promotion.history(uow, "churn")] == [
            (2, "blocked"),
            (3, "blocked"),
            (1, "promoted"),
        ]
        assert registry.version_by_alias(uow, "churn", spelling).version == 1


def test_promoting_with_another_spelling_of_production_is_gated_too(
    api: httpx.Client, churn: None, runtime: Runtime
) -> None:
    r = api.post("/api/v1/models/churn/versions/2/promote", json={"alias": "Production"})
    assert r.status_code == 409 and r.json()["title"] == "promotion_blocked"
    with runtime.uow() as uow:
        assert registry.get_model(uow, "churn").aliases == {}


def test_all_alias_moves_of_a_model_page_through_a_cursor(api: httpx.Client, churn: None) -> None:
    for alias, version in [("champion", 1), ("challenger", 2), ("champion", 3), ("shadow", 1), ("challenger", 3)]:
        assert api.put(f"/api/v1/models/churn/aliases/{alias}", json={"version": version}).status_code == 200
    pages = _pages(api, "/api/v1/models/churn/alias-history", "events", 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    moves = [(e["alias"], e["from_version"], e["to_version"]) for p in pages for e in p]
    assert moves == [
        ("champion", None, 1),
        ("challenger", None, 2),
        ("champion", 1, 3),
        ("shadow", None, 1),
        ("challenger", 2, 3),
    ]
    champion = _pages(api, "/api/v1/models/churn/aliases/champion/history", "events", 1)
    assert [[(e["from_version"], e["to_version"]) for e in p] for p in champion] == [[(None, 1)], [(1, 3)]]


def test_models_versions_and_promotions_page_through_a_cursor(api: httpx.Client, runtime: Runtime, churn: None) -> None:
    with runtime.uow() as uow:
        for name in ("b-model", "a-model", "c-model"):
            registry.create_model(uow, name)
        for _ in range(2):
            registry.create_version(uow, "churn", source="file:///more")
        uow.commit()
    models = _pages(api, "/api/v1/models", "items", 2)
    assert [[m["name"] for m in p] for p in models] == [["a-model", "b-model"], ["c-model", "churn"]]
    versions = _pages(api, "/api/v1/models/churn/versions", "items", 2)
    assert [[v["version"] for v in p] for p in versions] == [[1, 2], [3, 4], [5]]
    assert versions[0][0]["gates"] == "passed"
    for version in (2, 3, 1):
        api.post(f"/api/v1/models/churn/versions/{version}/promote", json={})
    promotions = _pages(api, "/api/v1/models/churn/promotions", "events", 2)
    assert [[(e["version"], e["action"]) for e in p] for p in promotions] == [
        [(2, "blocked"), (3, "blocked")],
        [(1, "promoted")],
    ]


def test_a_model_added_between_pages_does_not_shift_the_next_page(
    api: httpx.Client, runtime: Runtime, churn: None
) -> None:
    with runtime.uow() as uow:
        for name in ("b", "d"):
            registry.create_model(uow, name)
        uow.commit()
    first = api.get("/api/v1/models", params={"max_results": 2}).json()
    assert [m["name"] for m in first["items"]] == ["b", "churn"]
    with runtime.uow() as uow:
        registry.create_model(uow, "a")  # sorts before the cursor: must not push "churn" onto page 2
        uow.commit()
    second = api.get("/api/v1/models", params={"max_results": 2, "page_token": first["next_page_token"]}).json()
    assert [m["name"] for m in second["items"]] == ["d"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/models",
        "/api/v1/models/churn/versions",
        "/api/v1/models/churn/promotions",
        "/api/v1/models/churn/alias-history",
        "/api/v1/models/churn/aliases/champion/history",
    ],
)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_token": "not-a-token"}, "page_token"),
        ({"page_token": "eyJ4IjoxfQ=="}, "page_token"),  # {"x":1}: valid JSON, not our cursor
        ({"max_results": 0}, "max_results"),
    ],
)
def test_a_bad_page_request_is_a_400_naming_the_parameter(
    api: httpx.Client, churn: None, path: str, params: dict[str, Any], field: str
) -> None:
    r = api.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


def test_a_viewer_reads_but_cannot_edit(app: Any, tokens: dict[str, str], churn: None) -> None:
    viewer = TestClient(app, headers={"Authorization": f"Bearer {tokens['Viewer']}"})
    assert viewer.get("/api/v1/models/churn/alias-history").status_code == 200
    assert viewer.put("/api/v1/models/churn/aliases/champion", json={"version": 1}).status_code == 403
    assert viewer.patch("/api/v1/models/churn", json={"description": "x"}).status_code == 403
