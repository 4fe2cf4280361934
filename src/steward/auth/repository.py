"""Persistence of users and tokens."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from steward.auth.tables import ApiTokenRow, UserRow


class AuthRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_user(self, *, name: str, kind: str, role: str, password_hash: str | None, created_at: int) -> UserRow:
        row = UserRow(
            name=name,
            kind=kind,
            role=role,
            password_hash=password_hash,
            disabled=False,
            created_at=created_at,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def user_by_name(self, name: str) -> UserRow | None:
        return self.session.scalars(select(UserRow).where(UserRow.name == name)).first()

    def user(self, user_id: int) -> UserRow | None:
        return self.session.get(UserRow, user_id)

    def users(self) -> list[UserRow]:
        return list(self.session.scalars(select(UserRow).order_by(UserRow.id)))

    def count_users(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(UserRow)) or 0)

    def add_token(
        self, *, user_id: int, name: str, token_hash: str, created_at: int, expires_at: int | None
    ) -> ApiTokenRow:
        row = ApiTokenRow(
            user_id=user_id,
            name=name,
            token_hash=token_hash,
            created_at=created_at,
            expires_at=expires_at,
            revoked=False,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def token_owner(self, token_hash: str) -> tuple[ApiTokenRow, UserRow] | None:
        found = self.session.execute(
            select(ApiTokenRow, UserRow)
            .join(UserRow, UserRow.id == ApiTokenRow.user_id)
            .where(ApiTokenRow.token_hash == token_hash)
        ).first()
        return (found[0], found[1]) if found else None
