"""/api/v1/deployments: deploy (single, canary, shadow, A/B), roll back, promote, history,
rollouts, the shadow comparison, A/B outcomes and analysis. Reading needs ``deployments:read``;
changing, ``deployments:write``. Running model servers (``steward serve --deployment``) pick
changes up at their next poll."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from steward.api.deps import RuntimeDep, require
from steward.auth.models import Principal
from steward.core.pagination import MAX_PAGE, check_page_size, encode_token, keyset_page, token_fields
from steward.deployments import ab, shadow
from steward.deployments import service as deployments
from steward.deployments.logs import PredictionLog
from steward.deployments.schemas import ActionIn, DeployIn, OutcomesIn

router = APIRouter(prefix="/api/v1/deployments", tags=["deployments"])
Read = Annotated[Principal, require("deployments:read")]
Write = Annotated[Principal, require("deployments:write")]


@router.get("")
def list_deployments(rt: RuntimeDep, _: Read, max_results: int = 1000, page_token: str | None = None) -> dict[str, Any]:
    """Deployments by name, a page at a time."""
    with rt.uow() as uow:
        found = deployments.list_deployments(uow)
    page = keyset_page(found, lambda d: (d.name,), max_results=max_results, page_token=page_token)
    return {"items": [d.to_dict() for d in page.items], "next_page_token": page.next_page_token}


@router.post("")
def deploy(body: DeployIn, rt: RuntimeDep, who: Write, response: Response) -> dict[str, Any]:
    config = body.config()
    with rt.uow() as uow:
        created = uow.deployments.row(body.name) is None
        dep = deployments.deploy(
            uow, body.name, body.model, config=config, actor=who.name, reason=body.reason, description=body.description
        )
        uow.commit()
    response.status_code = 201 if created else 200
    return dep.to_dict()


@router.get("/{name}")
def get_deployment(name: str, rt: RuntimeDep, _: Read) -> dict[str, Any]:
    with rt.uow() as uow:
        return deployments.get(uow, name).to_dict()


@router.get("/{name}/history")
def history(
    name: str, rt: RuntimeDep, _: Read, max_results: int = 200, page_token: str | None = None
) -> dict[str, Any]:
    """Transitions newest first; the token holds the id of the last event seen (keyset)."""
    check_page_size(max_results, MAX_PAGE - 1)  # one more is read to know whether a next page exists
    state = token_fields(page_token, before=int)
    with rt.uow() as uow:
        events = deployments.history(
            uow, name, limit=max_results + 1, before_id=state["before"] if state is not None else None
        )
    more = len(events) > max_results
    events = events[:max_results]
    token = encode_token({"before": events[-1].id}) if more else None
    return {"deployment": name, "events": [e.to_dict() for e in events], "next_page_token": token}


@router.get("/{name}/rollouts")
def rollouts(
    name: str, rt: RuntimeDep, _: Read, max_results: int = 100, page_token: str | None = None
) -> dict[str, Any]:
    """Rollouts newest first, a page at a time (a deployment has few: they are read whole)."""
    with rt.uow() as uow:
        found = deployments.rollouts(uow, name, limit=MAX_PAGE)
    page = keyset_page(found, lambda r: (-r.started_at, r.id), max_results=max_results, page_token=page_token)
    return {"deployment": name, "rollouts": [r.to_dict() for r in page.items], "next_page_token": page.next_page_token}


@router.post("/{name}/rollback")
def rollback(name: str, body: ActionIn, rt: RuntimeDep, who: Write) -> dict[str, Any]:
    with rt.uow() as uow:
        dep = deployments.rollback(uow, name, actor=who.name, reason=body.reason)
        uow.commit()
    return dep.to_dict()


@router.post("/{name}/promote")
def promote(name: str, body: ActionIn, rt: RuntimeDep, who: Write) -> dict[str, Any]:
    with rt.uow() as uow:
        dep = deployments.promote(uow, name, actor=who.name, reason=body.reason)
        uow.commit()
    return dep.to_dict()


@router.get("/{name}/shadow-report")
def shadow_report(name: str, rt: RuntimeDep, _: Read, rollout_id: str | None = None) -> dict[str, Any]:
    with rt.uow() as uow:
        report = shadow.shadow_report(uow, name, PredictionLog.from_settings(rt.settings), rollout_id=rollout_id)
    return report.to_dict()


@router.post("/{name}/outcomes")
def record_outcomes(name: str, body: OutcomesIn, rt: RuntimeDep, _: Write) -> dict[str, Any]:
    with rt.uow() as uow:
        result = deployments.record_outcomes(
            uow, name, [o.model_dump() for o in body.outcomes], rollout_id=body.rollout_id
        )
        uow.commit()
    return result


@router.get("/{name}/ab-analysis")
def ab_analysis(name: str, rt: RuntimeDep, _: Read, rollout_id: str | None = None) -> dict[str, Any]:
    with rt.uow() as uow:
        return ab.ab_analysis(uow, name, PredictionLog.from_settings(rt.settings), rollout_id=rollout_id)
