"""Persistence of registered models, versions, tags, aliases, alias events and logged models,
and registry search in SQL (filters from :mod:`steward.tracking.search`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from steward.registry.models import DELETED_STAGE, AliasEvent, LoggedModel, ModelVersion, RegisteredModel
from steward.registry.tables import (
    AliasEventRow,
    LoggedModelRow,
    ModelAliasRow,
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)
from steward.tracking.search import Comparison, Kind, OrderKey
from steward.tracking.search_repository import compare_column

# MLflow tells prompts from models by this tag; models lack it, yet the client's standard
# filter "tag.`mlflow.prompt.is_prompt` != 'true'" must match them (MLflow special-cases it).
PROMPT_TAG = "mlflow.prompt.is_prompt"


def _prompt_missing_matches(c: Comparison) -> bool:
    return (c.op == "=" and c.value == "false") or (c.op == "!=" and c.value == "true")


class RegistryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    # registered models -------------------------------------------------------------------
    def model_row(self, name: str) -> RegisteredModelRow | None:
        self.session.flush()  # the session does not autoflush: see pending changes
        return self.session.scalars(select(RegisteredModelRow).where(RegisteredModelRow.name == name)).first()

    def add_model(self, row: RegisteredModelRow) -> RegisteredModelRow:
        self.session.add(row)
        self.session.flush()
        return row

    def delete_model(self, row: RegisteredModelRow) -> None:
        # Children go explicitly: SQLite only cascades with foreign keys on, and versions'
        # tags hang off versions, not the model.
        version_ids = select(ModelVersionRow.id).where(ModelVersionRow.model_id == row.id)
        self.session.execute(delete(ModelVersionTagRow).where(ModelVersionTagRow.version_id.in_(version_ids)))
        for table in (ModelVersionRow, RegisteredModelTagRow, ModelAliasRow, AliasEventRow):
            self.session.execute(delete(table).where(table.model_id == row.id))
        self.session.delete(row)
        self.session.flush()

    def model_tags(self, model_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {i: {} for i in model_ids}
        if model_ids:
            for t in self.session.scalars(
                select(RegisteredModelTagRow).where(RegisteredModelTagRow.model_id.in_(list(model_ids)))
            ):
                out[t.model_id][t.key] = t.value
        return out

    def set_model_tag(self, model_id: int, key: str, value: str) -> None:
        row = self.session.get(RegisteredModelTagRow, (model_id, key))
        if row is None:
            self.session.add(RegisteredModelTagRow(model_id=model_id, key=key, value=value))
        else:
            row.value = value
        self.session.flush()

    def delete_model_tag(self, model_id: int, key: str) -> bool:
        res = self.session.execute(
            delete(RegisteredModelTagRow).where(
                RegisteredModelTagRow.model_id == model_id, RegisteredModelTagRow.key == key
            )
        )
        return bool(getattr(res, "rowcount", 0))

    def to_model(self, row: RegisteredModelRow, *, with_versions: bool = True) -> RegisteredModel:
        return self.to_models([row], with_versions=with_versions)[0]

    def to_models(self, rows: Sequence[RegisteredModelRow], *, with_versions: bool = True) -> list[RegisteredModel]:
        ids = [r.id for r in rows]
        tags = self.model_tags(ids)
        aliases = self.aliases(ids)
        versions: dict[int, list[ModelVersion]] = {i: [] for i in ids}
        if with_versions and ids:
            names = {r.id: r.name for r in rows}
            vrows = list(
                self.session.scalars(
                    select(ModelVersionRow).where(
                        ModelVersionRow.model_id.in_(ids), ModelVersionRow.stage != DELETED_STAGE
                    )
                )
            )
            for vrow, v in zip(vrows, self.to_versions(vrows, names), strict=True):
                versions[vrow.model_id].append(v)
        return [
            RegisteredModel(
                r.id,
                r.name,
                r.description,
                r.creation_time,
                r.last_updated_time,
                tags[r.id],
                aliases[r.id],
                versions[r.id],
            )
            for r in rows
        ]

    # aliases -----------------------------------------------------------------------------
    def aliases(self, model_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {i: {} for i in model_ids}
        if model_ids:
            for a in self.session.scalars(
                select(ModelAliasRow).where(ModelAliasRow.model_id.in_(list(model_ids))).order_by(ModelAliasRow.alias)
            ):
                out[a.model_id][a.alias] = a.version
        return out

    def alias_row(self, model_id: int, alias: str) -> ModelAliasRow | None:
        return self.session.get(ModelAliasRow, (model_id, alias))

    def put_alias(self, model_id: int, alias: str, version: int) -> None:
        row = self.alias_row(model_id, alias)
        if row is None:
            self.session.add(ModelAliasRow(model_id=model_id, alias=alias, version=version))
        else:
            row.version = version
        self.session.flush()

    def drop_alias(self, row: ModelAliasRow) -> None:
        self.session.delete(row)
        self.session.flush()

    def add_alias_event(self, model_id: int, event: AliasEvent) -> None:
        self.session.add(
            AliasEventRow(
                model_id=model_id,
                alias=event.alias,
                from_version=event.from_version,
                to_version=event.to_version,
                actor=event.actor,
                reason=event.reason,
                at=event.at,
            )
        )
        self.session.flush()

    def alias_events(self, model_id: int, alias: str, *, until: int | None = None) -> list[AliasEvent]:
        q = (
            select(AliasEventRow)
            .where(AliasEventRow.model_id == model_id, AliasEventRow.alias == alias)
            .order_by(AliasEventRow.at, AliasEventRow.id)
        )
        if until is not None:
            q = q.where(AliasEventRow.at <= until)
        return [
            AliasEvent(e.alias, e.from_version, e.to_version, e.actor, e.reason, e.at) for e in self.session.scalars(q)
        ]

    def alias_event_page(
        self, model_id: int, alias: str | None, *, after: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, AliasEvent]]:
        """(row id, event) of one alias (None: every alias), oldest first, after the key (at, id)."""
        q = select(AliasEventRow).where(AliasEventRow.model_id == model_id)
        if alias is not None:
            q = q.where(AliasEventRow.alias == alias)
        if after is not None:
            at, last = after
            q = q.where(or_(AliasEventRow.at > at, and_(AliasEventRow.at == at, AliasEventRow.id > last)))
        q = q.order_by(AliasEventRow.at, AliasEventRow.id).limit(limit)
        return [
            (e.id, AliasEvent(e.alias, e.from_version, e.to_version, e.actor, e.reason, e.at))
            for e in self.session.scalars(q)
        ]

    # versions ----------------------------------------------------------------------------
    def version_row(self, model_id: int, version: int) -> ModelVersionRow | None:
        self.session.flush()  # the session does not autoflush: see pending changes
        return self.session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.model_id == model_id,
                ModelVersionRow.version == version,
                ModelVersionRow.stage != DELETED_STAGE,
            )
        ).first()

    def max_version(self, model_id: int) -> int:
        """The highest version number ever handed out for the model, deleted ones included."""
        self.session.flush()  # the session does not autoflush: see pending changes
        found = self.session.scalar(
            select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model_id)
        )
        return int(found or 0)

    def add_version(self, row: ModelVersionRow) -> ModelVersionRow:
        self.session.add(row)
        self.session.flush()
        return row

    def version_rows(
        self,
        model_id: int,
        stages: Sequence[str] | None = None,
        *,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[ModelVersionRow]:
        """Live versions in number order; ``after``/``limit`` page them by number."""
        self.session.flush()  # the session does not autoflush: see pending changes
        q = select(ModelVersionRow).where(ModelVersionRow.model_id == model_id, ModelVersionRow.stage != DELETED_STAGE)
        if stages:
            q = q.where(ModelVersionRow.stage.in_(list(stages)))
        if after is not None:
            q = q.where(ModelVersionRow.version > after)
        return list(self.session.scalars(q.order_by(ModelVersionRow.version).limit(limit)))

    def version_tags(self, version_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {i: {} for i in version_ids}
        if version_ids:
            for t in self.session.scalars(
                select(ModelVersionTagRow).where(ModelVersionTagRow.version_id.in_(list(version_ids)))
            ):
                out[t.version_id][t.key] = t.value
        return out

    def set_version_tag(self, version_id: int, key: str, value: str) -> None:
        row = self.session.get(ModelVersionTagRow, (version_id, key))
        if row is None:
            self.session.add(ModelVersionTagRow(version_id=version_id, key=key, value=value))
        else:
            row.value = value
        self.session.flush()

    def delete_version_tag(self, version_id: int, key: str) -> bool:
        res = self.session.execute(
            delete(ModelVersionTagRow).where(ModelVersionTagRow.version_id == version_id, ModelVersionTagRow.key == key)
        )
        return bool(getattr(res, "rowcount", 0))

    def to_versions(self, rows: Sequence[ModelVersionRow], names: dict[int, str]) -> list[ModelVersion]:
        tags = self.version_tags([r.id for r in rows])
        aliases = self.aliases(sorted({r.model_id for r in rows}))
        return [
            ModelVersion(
                names[r.model_id],
                r.version,
                r.source,
                r.run_id,
                r.logged_model_id,
                r.status,
                r.stage,
                r.description,
                r.user_id,
                r.creation_time,
                r.last_updated_time,
                tags[r.id],
                sorted(a for a, v in aliases[r.model_id].items() if v == r.version),
            )
            for r in rows
        ]

    def model_names(self, model_ids: Sequence[int]) -> dict[int, str]:
        if not model_ids:
            return {}
        rows = self.session.execute(
            select(RegisteredModelRow.id, RegisteredModelRow.name).where(RegisteredModelRow.id.in_(list(model_ids)))
        )
        return {i: n for i, n in rows}

    # search ------------------------------------------------------------------------------
    def _tag_condition(self, table: Any, owner: Any, owner_col: Any, c: Comparison) -> ColumnElement[bool]:
        where = [owner_col == owner, table.key == c.key]
        match = exists().where(*where, compare_column(table.value, c.op, c.value, self.dialect))
        if c.key == PROMPT_TAG and _prompt_missing_matches(c):
            return or_(match, not_(exists().where(*where)))
        return match

    def search_models(
        self,
        *,
        filters: Sequence[Comparison],
        order: Sequence[OrderKey],
        offset: int,
        limit: int,
        after_name: str | None = None,
    ) -> list[RegisteredModelRow]:
        """``after_name`` is a keyset cursor, for the default order (by name) only."""
        self.session.flush()
        conditions: list[ColumnElement[bool]] = []
        if after_name is not None:
            conditions.append(RegisteredModelRow.name > after_name)
        for c in filters:
            if c.kind is Kind.TAG:
                conditions.append(
                    self._tag_condition(RegisteredModelTagRow, RegisteredModelRow.id, RegisteredModelTagRow.model_id, c)
                )
            else:
                conditions.append(compare_column(RegisteredModelRow.name, c.op, c.value, self.dialect))
        columns = {
            "name": RegisteredModelRow.name,
            "creation_timestamp": RegisteredModelRow.creation_time,
            "timestamp": RegisteredModelRow.creation_time,
            "last_updated_timestamp": RegisteredModelRow.last_updated_time,
        }
        clauses: list[Any] = [columns[o.key].asc() if o.ascending else columns[o.key].desc() for o in order]
        if not any(o.key == "name" for o in order):
            clauses.append(RegisteredModelRow.name.asc())
        stmt = select(RegisteredModelRow).where(*conditions).order_by(*clauses).offset(offset).limit(limit)
        return list(self.session.scalars(stmt))

    def search_versions(
        self, *, filters: Sequence[Comparison], order: Sequence[OrderKey], offset: int, limit: int
    ) -> list[tuple[ModelVersionRow, str]]:
        self.session.flush()
        conditions: list[ColumnElement[bool]] = [ModelVersionRow.stage != DELETED_STAGE]
        columns: dict[str, Any] = {
            "name": RegisteredModelRow.name,
            "run_id": ModelVersionRow.run_id,
            "source_path": ModelVersionRow.source,
            "version_number": ModelVersionRow.version,
            "creation_timestamp": ModelVersionRow.creation_time,
            "last_updated_timestamp": ModelVersionRow.last_updated_time,
        }
        for c in filters:
            if c.kind is Kind.TAG:
                conditions.append(
                    self._tag_condition(ModelVersionTagRow, ModelVersionRow.id, ModelVersionTagRow.version_id, c)
                )
            else:
                conditions.append(compare_column(columns[c.key], c.op, c.value, self.dialect))
        clauses: list[Any] = [columns[o.key].asc() if o.ascending else columns[o.key].desc() for o in order]
        if not any(o.key == "name" for o in order):
            clauses.append(RegisteredModelRow.name.asc())
        if not any(o.key == "version_number" for o in order):
            clauses.append(ModelVersionRow.version.desc())
        stmt = (
            select(ModelVersionRow, RegisteredModelRow.name)
            .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
            .where(*conditions)
            .order_by(*clauses)
            .offset(offset)
            .limit(limit)
        )
        return [(v, n) for v, n in self.session.execute(stmt)]

    def versions_with_run(self, run_id: str) -> list[tuple[ModelVersionRow, str]]:
        stmt = (
            select(ModelVersionRow, RegisteredModelRow.name)
            .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
            .where(ModelVersionRow.run_id == run_id, ModelVersionRow.stage != DELETED_STAGE)
        )
        return [(v, n) for v, n in self.session.execute(stmt)]

    # logged models -----------------------------------------------------------------------
    def logged_model_row(self, model_id: str) -> LoggedModelRow | None:
        return self.session.get(LoggedModelRow, model_id)

    def add_logged_model(self, row: LoggedModelRow) -> LoggedModelRow:
        self.session.add(row)
        self.session.flush()
        return row

    def delete_logged_model(self, row: LoggedModelRow) -> None:
        self.session.delete(row)
        self.session.flush()

    def logged_model_rows(self, experiment_ids: Sequence[int]) -> list[LoggedModelRow]:
        q = (
            select(LoggedModelRow)
            .where(LoggedModelRow.experiment_id.in_(list(experiment_ids)))
            .order_by(LoggedModelRow.creation_timestamp.desc(), LoggedModelRow.id)
        )
        return list(self.session.scalars(q))

    def logged_models_of_runs(self, run_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {r: [] for r in run_ids}
        if run_ids:
            rows = self.session.execute(
                select(LoggedModelRow.source_run_id, LoggedModelRow.id)
                .where(LoggedModelRow.source_run_id.in_(list(run_ids)))
                .order_by(LoggedModelRow.creation_timestamp)
            )
            for run_id, model_id in rows:
                out[str(run_id)].append(model_id)
        return out

    @staticmethod
    def to_logged_model(row: LoggedModelRow) -> LoggedModel:
        return LoggedModel(
            row.id,
            row.experiment_id,
            row.name,
            row.source_run_id,
            row.status,
            row.model_type,
            row.artifact_location,
            row.creation_timestamp,
            row.last_updated_timestamp,
            dict(row.tags or {}),
            dict(row.params or {}),
        )


__all__ = ["PROMPT_TAG", "RegistryRepository"]
