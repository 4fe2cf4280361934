"""Use cases: create users and tokens, authenticate by token or password, bootstrap an admin."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from steward.auth.models import ROLES, Principal, principal_for
from steward.core.clock import now_ms
from steward.core.errors import AlreadyExists, InvalidArgument, NotFound, Unauthenticated
from steward.core.security import hash_password, hash_token, new_password, new_token, verify_password

if TYPE_CHECKING:
    from steward.auth.tables import UserRow
    from steward.store.uow import UnitOfWork

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    kind: str
    role: str
    disabled: bool


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.kind, row.role, row.disabled)


def create_user(uow: UnitOfWork, name: str, role: str, *, password: str | None = None, kind: str = "user") -> User:
    if not _NAME.match(name):
        raise InvalidArgument(
            f"The user name must be 1-128 letters, digits or '_.@-', starting with a letter or digit. "
            f"Got {name!r} instead.",
            field="name",
        )
    if role not in ROLES:
        raise InvalidArgument(f"The role must be one of {sorted(ROLES)}. Got {role!r} instead.", field="role")
    if kind not in ("user", "service"):
        raise InvalidArgument(f"The kind must be 'user' or 'service'. Got {kind!r} instead.", field="kind")
    if uow.auth.user_by_name(name) is not None:
        raise AlreadyExists("user", name)
    row = uow.auth.add_user(
        name=name,
        kind=kind,
        role=role,
        password_hash=hash_password(password) if password else None,
        created_at=now_ms(),
    )
    return _user(row)


def create_token(uow: UnitOfWork, user_name: str, *, name: str = "", ttl_days: int | None = None) -> str:
    """Issue a token for ``user_name``; the plain token is returned once and never stored."""
    user = uow.auth.user_by_name(user_name)
    if user is None:
        raise NotFound("user", user_name)
    if ttl_days is not None and ttl_days <= 0:
        raise InvalidArgument(f"ttl_days must be positive. Got {ttl_days} instead.", field="ttl_days")
    token = new_token()
    created = now_ms()
    uow.auth.add_token(
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        created_at=created,
        expires_at=created + ttl_days * 86_400_000 if ttl_days else None,
    )
    return token


def authenticate_token(uow: UnitOfWork, token: str) -> Principal:
    found = uow.auth.token_owner(hash_token(token))
    if found is None:
        raise Unauthenticated("The API token is not valid.")
    tok, user = found
    if tok.revoked or user.disabled or (tok.expires_at is not None and tok.expires_at < now_ms()):
        raise Unauthenticated("The API token is revoked, expired, or its user is disabled.")
    return principal_for(user.id, user.name, user.role, user.kind)


# Checked against when the user is unknown, so a wrong name costs as long as a wrong password
# and response times do not reveal which names exist.
_DUMMY_HASH = hash_password("steward-timing-equaliser")


def authenticate_password(uow: UnitOfWork, name: str, password: str) -> Principal:
    user = uow.auth.user_by_name(name)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    valid = verify_password(password, stored)
    if user is None or user.disabled or not user.password_hash or not valid:
        raise Unauthenticated("Unknown user or wrong password.")
    return principal_for(user.id, user.name, user.role, user.kind)


def session_principal(uow: UnitOfWork, user_id: int) -> Principal | None:
    """The current principal of a signed-in session, re-read so that a changed role or a
    disabled user takes effect at once rather than when the cookie expires."""
    user = uow.auth.user(user_id)
    if user is None or user.disabled:
        return None
    return principal_for(user.id, user.name, user.role, user.kind)


def list_users(uow: UnitOfWork) -> list[User]:
    return [_user(r) for r in uow.auth.users()]


def ensure_admin(uow: UnitOfWork, password: str | None) -> str | None:
    """On first start create ``admin``; returns the generated password when none was given."""
    if uow.auth.count_users() > 0:
        return None
    generated = None if password else new_password()
    create_user(uow, "admin", "Admin", password=password or generated)
    return generated
