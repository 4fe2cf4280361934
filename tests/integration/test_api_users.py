"""GET /api/v1/users: a cursor-paginated list like every other list of the REST API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from steward.auth import service
from steward.runtime import Runtime

URL = "/api/v1/users"


@pytest.fixture
def admin(app, tokens: dict[str, str]) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, headers={"Authorization": f"Bearer {tokens['Admin']}"})


def test_users_walk_in_pages_in_creation_order(admin: TestClient, runtime: Runtime) -> None:
    with runtime.uow() as uow:
        for i in range(6):
            service.create_user(uow, f"analyst-{i}", "Viewer")
        uow.commit()
    whole = admin.get(URL).json()
    assert whole["next_page_token"] is None and len(whole["items"]) == 11  # 5 role users + 6

    seen: list[dict[str, Any]] = []
    token, pages = None, 0
    while True:
        doc = admin.get(URL, params={"max_results": 4, **({"page_token": token} if token else {})}).json()
        assert len(doc["items"]) <= 4
        seen += doc["items"]
        pages += 1
        if (token := doc["next_page_token"]) is None:
            break
    assert pages == 3
    assert seen == whole["items"]
    assert [u["id"] for u in seen] == sorted(u["id"] for u in seen)


def test_a_user_created_between_pages_is_neither_repeated_nor_skipped(admin: TestClient) -> None:
    first = admin.get(URL, params={"max_results": 3}).json()
    assert admin.post(URL, json={"name": "late", "role": "Viewer"}).status_code == 201
    rest = admin.get(URL, params={"page_token": first["next_page_token"]}).json()
    names = [u["name"] for u in first["items"] + rest["items"]]
    assert len(names) == len(set(names)) == 6 and names[-1] == "late"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_token=%%%garbage", "page_token"),
        ("page_token=WzFd", "page_token"),  # valid base64 JSON, but a list
        ("page_token=eyJhZnRlciI6WyJ4Il19", "page_token"),  # {"after": ["x"]}: a key of another shape
        ("page_token=eyJiZWZvcmUiOjF9", "page_token"),  # {"before": 1}: another list's token
        ("max_results=0", "max_results"),
        ("max_results=10001", "max_results"),
    ],
)
def test_bad_paging_is_a_problem_naming_the_parameter(admin: TestClient, query: str, field: str) -> None:
    resp = admin.get(f"{URL}?{query}")
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["field"] == field
    assert field in resp.json()["detail"]
