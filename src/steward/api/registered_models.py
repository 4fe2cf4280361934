"""/api/v1/models: registered models, versions, lineage, metric comparison, and promotion
through gates (promote needs ``models:write``; approvals and policy need ``models:approve``).
Alias history lives beside, in ``steward.api.registry``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from steward.api.deps import RuntimeDep, require
from steward.auth.models import Principal
from steward.registry import lineage as lineage_service
from steward.registry import promotion
from steward.registry import service as registry
from steward.registry.promotion_schemas import (
    GatesOut,
    PolicyIn,
    PolicyOut,
    PromoteIn,
    PromotionEventOut,
    PromotionHistoryOut,
    PromotionOut,
    RegisterIn,
    VersionDetailOut,
)
from steward.registry.schemas import ModelVersionOut, RegisteredModelOut

router = APIRouter(prefix="/api/v1/models", tags=["models"])
Read = Annotated[Principal, require("models:read")]
Write = Annotated[Principal, require("models:write")]
Approve = Annotated[Principal, require("models:approve")]


@router.get("")
def list_models(
    rt: RuntimeDep,
    _: Read,
    filter: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> dict[str, Any]:
    with rt.uow() as uow:
        page = registry.list_models(uow, filter_string=filter, max_results=max_results, page_token=page_token)
    return {
        "items": [RegisteredModelOut.of(m).model_dump() for m in page.items],
        "next_page_token": page.next_page_token,
    }


@router.get("/{name}")
def get_model(name: str, rt: RuntimeDep, _: Read) -> dict[str, Any]:
    with rt.uow() as uow:
        model = RegisteredModelOut.of(registry.get_model(uow, name))
        policy = PolicyOut.of(promotion.get_policy(uow, name))
    return {**model.model_dump(), "promotion_policy": policy.model_dump()}


@router.get("/{name}/versions")
def list_versions(
    name: str, rt: RuntimeDep, _: Read, max_results: int = 100, page_token: str | None = None
) -> dict[str, Any]:
    with rt.uow() as uow:
        page = registry.list_versions(uow, name, max_results=max_results, page_token=page_token)
        items = []
        for v in page.items:
            gates = promotion.gate_outcome(uow, name, v.version, rt.blobs)
            items.append({**ModelVersionOut.of(v).model_dump(), "gates": gates.status})
    return {"model": name, "items": items, "next_page_token": page.next_page_token}


@router.get("/{name}/versions/{version}", response_model=VersionDetailOut)
def get_version(name: str, version: str, rt: RuntimeDep, _: Read) -> VersionDetailOut:
    with rt.uow() as uow:
        v = registry.get_version(uow, name, version)
        model = uow.registry.model_row(v.model_name)
        row = uow.registry.version_row(model.id, v.version) if model else None
        gates = promotion.gate_outcome(uow, name, v.version, rt.blobs)
        return VersionDetailOut(
            **ModelVersionOut.of(v).model_dump(),
            signature=row.signature if row else None,
            evaluation=row.evaluation if row else None,
            gates=GatesOut.of(gates),
        )


@router.get("/{name}/versions/{version}/lineage")
def get_lineage(name: str, version: str, rt: RuntimeDep, _: Read) -> dict[str, Any]:
    with rt.uow() as uow:
        return lineage_service.lineage(uow, name, version).to_dict()


@router.get("/{name}/compare")
def compare_versions(
    name: str, rt: RuntimeDep, _: Read, versions: Annotated[list[int] | None, Query()] = None
) -> dict[str, Any]:
    with rt.uow() as uow:
        return lineage_service.compare(uow, name, versions)


@router.post("/{name}/versions", response_model=ModelVersionOut, status_code=201)
def register(name: str, body: RegisterIn, rt: RuntimeDep, who: Write) -> ModelVersionOut:
    """Register a run's logged model folder as the next version (the model is created on first use)."""
    with rt.uow() as uow:
        version = registry.register_run_model(
            uow, name, body.run_id, path=body.path, description=body.description, user_id=who.name
        )
        uow.commit()
    return ModelVersionOut.of(version)


@router.post("/{name}/versions/{version}/promote", response_model=PromotionOut)
def promote(name: str, version: str, body: PromoteIn, rt: RuntimeDep, who: Write) -> PromotionOut:
    with rt.uow() as uow:
        result = promotion.promote(
            uow, name, version, actor=who.name, reason=body.reason, alias=body.alias, blobs=rt.blobs
        )
        uow.commit()  # a refused promotion is recorded too
    result.raise_if_blocked()
    return PromotionOut.of(result)


@router.post("/{name}/versions/{version}/approve", response_model=PromotionEventOut, status_code=201)
def approve(name: str, version: str, body: PromoteIn, rt: RuntimeDep, who: Approve) -> PromotionEventOut:
    with rt.uow() as uow:
        event = promotion.approve(uow, name, version, approver=who.name, reason=body.reason, alias=body.alias)
        uow.commit()
    return PromotionEventOut.of(event)


@router.get("/{name}/promotions", response_model=PromotionHistoryOut)
def promotion_history(
    name: str,
    rt: RuntimeDep,
    _: Read,
    version: int | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> PromotionHistoryOut:
    with rt.uow() as uow:
        page = promotion.history_page(uow, name, version=version, max_results=max_results, page_token=page_token)
    events = [PromotionEventOut.of(e) for e in page.items]
    return PromotionHistoryOut(model=name, events=events, next_page_token=page.next_page_token)


@router.get("/{name}/promotion-policy", response_model=PolicyOut)
def get_policy(name: str, rt: RuntimeDep, _: Read) -> PolicyOut:
    with rt.uow() as uow:
        return PolicyOut.of(promotion.get_policy(uow, name))


@router.put("/{name}/promotion-policy", response_model=PolicyOut)
def set_policy(name: str, body: PolicyIn, rt: RuntimeDep, who: Approve) -> PolicyOut:
    policy = promotion.Policy(body.require_gates, body.require_approval, body.min_approvals)
    with rt.uow() as uow:
        saved = promotion.set_policy(uow, name, policy, actor=who.name, reason=body.reason)
        uow.commit()
    return PolicyOut.of(saved)
