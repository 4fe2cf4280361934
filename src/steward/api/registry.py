"""/api/v1 routes over the registry. For now the alias history: every move of an alias, and
which version it pointed to at a moment (mlflow/mlflow#2169)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from steward.api.deps import RuntimeDep, require
from steward.auth.models import Principal
from steward.core.errors import InvalidArgument
from steward.registry import service
from steward.registry.schemas import AliasAtOut, AliasEventOut, AliasHistoryOut

router = APIRouter(prefix="/api/v1", tags=["registry"])
Read = Annotated[Principal, require("models:read")]


def parse_instant(t: str) -> int:
    """Milliseconds since the epoch, from ms (``1767225600000``) or ISO 8601 with a zone
    (``2026-01-01T00:00:00Z``)."""
    text = t.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidArgument(
            f"The 't' parameter must be milliseconds since the epoch or ISO 8601 with a time zone "
            f"(e.g. 2026-01-01T00:00:00Z). Got {t!r} instead.",
            field="t",
        )
    return int(moment.timestamp() * 1000)


@router.get("/models/{name}/aliases/{alias}/history", response_model=AliasHistoryOut)
def alias_history(name: str, alias: str, rt: RuntimeDep, _: Read) -> AliasHistoryOut:
    """Every move of the alias, oldest first: who moved it, when, from which version to which, why."""
    with rt.uow() as uow:
        events = service.alias_history(uow, name, alias)
    return AliasHistoryOut(model=name, alias=alias, events=[AliasEventOut.of(e) for e in events])


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
    return AliasAtOut(model=name, alias=alias, t=moment, version=version)
