"""/api/v1 routes over the registry's editable parts: descriptions, tags, aliases, and the
alias history (every move, and which version an alias pointed to at a moment, mlflow/mlflow#2169).

Setting the protected alias (``production``, any case) goes through the promotion gates, as
everywhere: a refusal is recorded and answered 409 ``promotion_blocked``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from steward.api.deps import RuntimeDep, require
from steward.auth.models import Principal
from steward.registry import promotion, service
from steward.registry.models import check_alias, parse_instant
from steward.registry.schemas import (
    AliasAtOut,
    AliasEventOut,
    AliasHistoryOut,
    AliasIn,
    AliasSetOut,
    DescriptionIn,
    ModelVersionOut,
    RegisteredModelOut,
    TagIn,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])
Read = Annotated[Principal, require("models:read")]
Write = Annotated[Principal, require("models:write")]
MaxResults = Annotated[int, Query(description="Page size.")]
PageToken = Annotated[str | None, Query(description="The next_page_token of the previous page.")]


# descriptions and tags -------------------------------------------------------------------------
@router.patch("/models/{name}", response_model=RegisteredModelOut)
def describe_model(name: str, body: DescriptionIn, rt: RuntimeDep, _: Write) -> RegisteredModelOut:
    with rt.uow() as uow:
        model = service.update_model(uow, name, description=body.description)
        uow.commit()
    return RegisteredModelOut.of(model)


@router.patch("/models/{name}/versions/{version}", response_model=ModelVersionOut)
def describe_version(name: str, version: str, body: DescriptionIn, rt: RuntimeDep, _: Write) -> ModelVersionOut:
    with rt.uow() as uow:
        v = service.update_version(uow, name, version, description=body.description)
        uow.commit()
    return ModelVersionOut.of(v)


@router.put("/models/{name}/tags/{key:path}", response_model=RegisteredModelOut)
def set_model_tag(name: str, key: str, body: TagIn, rt: RuntimeDep, _: Write) -> RegisteredModelOut:
    with rt.uow() as uow:
        service.set_model_tag(uow, name, key, body.value)
        model = service.get_model(uow, name)
        uow.commit()
    return RegisteredModelOut.of(model)


@router.delete("/models/{name}/tags/{key:path}", status_code=204)
def delete_model_tag(name: str, key: str, rt: RuntimeDep, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_model_tag(uow, name, key)
        uow.commit()
    return Response(status_code=204)


@router.put("/models/{name}/versions/{version}/tags/{key:path}", response_model=ModelVersionOut)
def set_version_tag(name: str, version: str, key: str, body: TagIn, rt: RuntimeDep, _: Write) -> ModelVersionOut:
    with rt.uow() as uow:
        service.set_version_tag(uow, name, version, key, body.value)
        v = service.get_version(uow, name, version)
        uow.commit()
    return ModelVersionOut.of(v)


@router.delete("/models/{name}/versions/{version}/tags/{key:path}", status_code=204)
def delete_version_tag(name: str, version: str, key: str, rt: RuntimeDep, _: Write) -> Response:
    with rt.uow() as uow:
        service.delete_version_tag(uow, name, version, key)
        uow.commit()
    return Response(status_code=204)


# aliases -----------------------------------------------------------------------------------
@router.put("/models/{name}/aliases/{alias}", response_model=AliasSetOut)
def set_alias(name: str, alias: str, body: AliasIn, rt: RuntimeDep, who: Write) -> AliasSetOut:
    """Point the alias at a version (the move is recorded); ``production`` only through its gates."""
    with rt.uow() as uow:
        outcome = promotion.set_alias(
            uow, name, alias, body.version, actor=who.name, reason=body.reason, blobs=rt.blobs
        )
        uow.commit()  # a refused promotion is recorded too
    outcome.raise_if_blocked()
    moved = AliasEventOut.of(outcome.moved) if outcome.moved else None
    return AliasSetOut(model=name, alias=check_alias(alias), version=body.version, moved=moved)


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, rt: RuntimeDep, who: Write, reason: str = "") -> Response:
    """Remove the alias (recorded); removing one that does not exist changes nothing."""
    with rt.uow() as uow:
        service.delete_alias(uow, name, alias, actor=who.name, reason=reason)
        uow.commit()
    return Response(status_code=204)


@router.get("/models/{name}/alias-history", response_model=AliasHistoryOut)
def all_alias_history(
    name: str, rt: RuntimeDep, _: Read, max_results: MaxResults = 100, page_token: PageToken = None
) -> AliasHistoryOut:
    """Every move of every alias of the model, oldest first."""
    with rt.uow() as uow:
        page = service.alias_moves(uow, name, max_results=max_results, page_token=page_token)
    events = [AliasEventOut.of(e) for e in page.items]
    return AliasHistoryOut(model=name, alias=None, events=events, next_page_token=page.next_page_token)


@router.get("/models/{name}/aliases/{alias}/history", response_model=AliasHistoryOut)
def alias_history(
    name: str, alias: str, rt: RuntimeDep, _: Read, max_results: MaxResults = 100, page_token: PageToken = None
) -> AliasHistoryOut:
    """Every move of the alias, oldest first: who moved it, when, from which version to which, why."""
    with rt.uow() as uow:
        page = service.alias_moves(uow, name, alias, max_results=max_results, page_token=page_token)
    events = [AliasEventOut.of(e) for e in page.items]
    return AliasHistoryOut(model=name, alias=check_alias(alias), events=events, next_page_token=page.next_page_token)


@router.get("/models/{name}/aliases/{alias}/at", response_model=AliasAtOut)
def alias_at(
    name: str,
    alias: str,
    rt: RuntimeDep,
    _: Read,
    t: Annotated[str, Query(description="A moment: ms since the epoch, or ISO 8601 with a zone.")],
) -> AliasAtOut:
    """The version the alias pointed to at ``t`` (null if it pointed nowhere then)."""
    moment = parse_instant(t)
    with rt.uow() as uow:
        version = service.alias_at(uow, name, alias, moment)
    return AliasAtOut(model=name, alias=check_alias(alias), t=moment, version=version)
