"""Cursor pagination of the monitoring lists over REST (runs and alerts), as the tracking lists
do it: ``max_results`` and ``page_token`` in, ``next_page_token`` out; every item exactly once,
newest first, stable while rows are added; a bad token or size is a 400 problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from steward.monitoring.tables import RunRow
from steward.runtime import Runtime


def _seed(rt: Runtime, n: int) -> None:
    """``n`` runs and ``n`` alerts of deployment ``d``, some sharing a timestamp (ties)."""
    with rt.uow() as uow:
        for i in range(n):
            t = 1_000 + (i // 3) * 10  # three per timestamp: the id breaks the tie
            uow.monitoring.add_run(
                RunRow(
                    id=f"run{i:03d}",
                    deployment="d",
                    window="1d",
                    window_start=0,
                    window_end=t,
                    created_at=t,
                    rows=i,
                    labelled_rows=0,
                    drift_detected=False,
                    metrics={},
                    notes=[],
                    reference="r",
                    report_sha256=None,
                    report_html_sha256=None,
                ),
                [],
            )
            uow.monitoring.add_alert(
                id=f"alert{i:03d}",
                deployment="d",
                rule=f"rule{i}",
                dedup_key=f"d:rule{i}",
                state="firing" if i % 2 else "resolved",
                severity="warning",
                metric="data_drift_share",
                window="1d",
                threshold=0.1,
                value=0.5,
                fired_at=t,
                last_notified_at=None,
                last_evaluated_at=t,
                resolved_at=None,
                ok_streak=0,
                run_id=None,
                evidence_sha256=None,
                retrain=None,
                message="m",
            )
        uow.commit()


def _all(api: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    token, pages = None, 0
    while True:
        resp = api.get(path, params={**params, **({"page_token": token} if token else {})})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["items"]
        pages += 1
        token = body["next_page_token"]
        if token is None:
            return items, pages


def test_runs_and_alerts_page_through_every_item_once_newest_first(runtime: Runtime, api: httpx.Client) -> None:
    _seed(runtime, 11)
    runs, pages = _all(api, "/api/v1/monitoring/deployments/d/runs", max_results=4)
    assert pages == 3 and [r["id"] for r in runs] == [f"run{i:03d}" for i in range(10, -1, -1)]
    alerts, pages = _all(api, "/api/v1/monitoring/alerts", max_results=4)
    assert pages == 3 and sorted(a["id"] for a in alerts) == [f"alert{i:03d}" for i in range(11)]
    assert [a["fired_at"] for a in alerts] == sorted((a["fired_at"] for a in alerts), reverse=True)
    firing, _ = _all(api, "/api/v1/monitoring/alerts", max_results=2, state="firing")
    assert [a["id"] for a in firing] == [a["id"] for a in alerts if a["state"] == "firing"]
    # The older ``limit`` still sizes a page; one page of everything has no next token.
    body = api.get("/api/v1/monitoring/alerts", params={"limit": 50}).json()
    assert len(body["items"]) == 11 and body["next_page_token"] is None


def test_a_page_is_stable_while_new_rows_arrive(runtime: Runtime, api: httpx.Client) -> None:
    _seed(runtime, 6)
    first = api.get("/api/v1/monitoring/deployments/d/runs", params={"max_results": 3}).json()
    with runtime.uow() as uow:  # a newer run lands between the two pages
        row = uow.monitoring.run("run005")
        assert row is not None
        uow.monitoring.add_run(
            RunRow(
                **{
                    **{c.key: getattr(row, c.key) for c in RunRow.__table__.columns},
                    "id": "new",
                    "created_at": 9_000_000_000,
                }
            ),
            [],
        )
        uow.commit()
    rest = api.get("/api/v1/monitoring/deployments/d/runs", params={"page_token": first["next_page_token"]}).json()
    assert [r["id"] for r in first["items"] + rest["items"]] == [f"run{i:03d}" for i in range(5, -1, -1)]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/monitoring/alerts", {"page_token": "not-a-token"}, "page_token"),
        ("/api/v1/monitoring/alerts", {"page_token": "eyJ4IjoxfQ=="}, "page_token"),  # {"x":1}
        ("/api/v1/monitoring/alerts", {"max_results": 0}, "max_results"),
        ("/api/v1/monitoring/deployments/d/runs", {"max_results": 5001}, "max_results"),
        ("/api/v1/monitoring/deployments/d/runs", {"page_token": "W10="}, "page_token"),  # []
    ],
)
def test_bad_pages_are_a_400_problem_naming_the_parameter(
    api: httpx.Client, path: str, params: dict[str, Any], field: str
) -> None:
    resp = api.get(path, params=params)
    assert resp.status_code == 400 and resp.headers["content-type"] == "application/problem+json"
    assert field in resp.text
