"""/api/v1 routes for users, tokens and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from steward.api.deps import RuntimeDep, require
from steward.auth import service
from steward.auth.models import Principal
from steward.auth.schemas import TokenIn, TokenOut, UserIn, UserOut, UserPage, WhoAmI
from steward.core.errors import Forbidden
from steward.core.pagination import keyset_page

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.get("/whoami", response_model=WhoAmI)
def whoami(who: Annotated[Principal, require("profile:read")]) -> WhoAmI:
    return WhoAmI(name=who.name, role=who.role, kind=who.kind, grants=list(who.grants))


@router.get("/users", response_model=UserPage)
def list_users(
    rt: RuntimeDep,
    _: Annotated[Principal, require("users:read")],
    max_results: int = 1000,
    page_token: str | None = None,
) -> UserPage:
    """Users and service accounts in creation order, a page at a time."""
    with rt.uow() as uow:
        users = service.list_users(uow)
    page = keyset_page(users, lambda u: (u.id,), max_results=max_results, page_token=page_token)
    return UserPage(items=[UserOut(**u.__dict__) for u in page.items], next_page_token=page.next_page_token)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, rt: RuntimeDep, _: Annotated[Principal, require("users:write")]) -> UserOut:
    with rt.uow() as uow:
        user = service.create_user(uow, body.name, body.role, password=body.password, kind=body.kind)
        uow.commit()
    return UserOut(**user.__dict__)


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(body: TokenIn, rt: RuntimeDep, who: Annotated[Principal, require("tokens:self")]) -> TokenOut:
    """Issue a token for yourself; issuing one for another user needs ``tokens:write``."""
    target = body.user or who.name
    if target != who.name and not who.can("tokens:write"):
        raise Forbidden(f"Issuing a token for {target!r} needs permission 'tokens:write'.", permission="tokens:write")
    with rt.uow() as uow:
        token = service.create_token(uow, target, name=body.name, ttl_days=body.ttl_days)
        uow.commit()
    return TokenOut(token=token, user=target)
