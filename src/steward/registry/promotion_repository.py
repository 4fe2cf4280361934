"""Persistence of promotion policies and events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from steward.registry.promotion_tables import PromotionEventRow, PromotionPolicyRow


class PromotionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def policy(self, model_id: int) -> PromotionPolicyRow | None:
        return self.session.get(PromotionPolicyRow, model_id)

    def put_policy(self, model_id: int, **values: Any) -> PromotionPolicyRow:
        row = self.policy(model_id)
        if row is None:
            row = PromotionPolicyRow(model_id=model_id)
            self.session.add(row)
        for k, v in values.items():
            setattr(row, k, v)
        self.session.flush()
        return row

    def add_event(self, row: PromotionEventRow) -> None:
        self.session.add(row)
        self.session.flush()

    def events(
        self,
        model_id: int,
        *,
        version: int | None = None,
        alias: str | None = None,
        action: str | None = None,
        after: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> list[PromotionEventRow]:
        """Oldest first; ``after`` (at, id) and ``limit`` page them."""
        q = select(PromotionEventRow).where(PromotionEventRow.model_id == model_id)
        if after is not None:
            at, last = after
            q = q.where(or_(PromotionEventRow.at > at, and_(PromotionEventRow.at == at, PromotionEventRow.id > last)))
        if version is not None:
            q = q.where(PromotionEventRow.version == version)
        if alias is not None:
            q = q.where(PromotionEventRow.alias == alias)
        if action is not None:
            q = q.where(PromotionEventRow.action == action)
        return list(self.session.scalars(q.order_by(PromotionEventRow.at, PromotionEventRow.id).limit(limit)))
