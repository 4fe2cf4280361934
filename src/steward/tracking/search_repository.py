"""Run and experiment search in SQL, from the AST of :mod:`steward.tracking.search`.

Filters on metrics, params, tags and dataset inputs become ``EXISTS`` probes on each table's
(run_id, key) primary key; ordering by a metric, param or tag is one outer join on that key.
Sorting and pagination happen in the database, so a search over 100,000 runs reads only the
page it returns: no metric history and no other run's params are loaded (mlflow/mlflow#8277,
#11260).

Where the search starts matters more than anything else. Scanning every run of the
experiments and probing each is right for a loose filter, and 100x too slow for
``params.model = 'rf'`` among 100,000 runs. SQLite has no statistics on values, so on SQLite
the repository counts, with a cap, the runs named by each comparison that a (key, value)
index can answer (param and tag equality, metric comparisons, run ids) and drives the query
from the smallest set when it is no bigger than the experiments' runs
(:meth:`SearchRepository.seed_for`); the other comparisons stay probes. PostgreSQL plans this
itself from its statistics.

Semantics follow MLflow's SQL store: a missing key never satisfies a comparison, a NaN metric
satisfies only ``!=``, and ordering puts values first, then NaN, then missing, whatever the
direction; ties fall back to ``start_time DESC, run_id ASC``. One deliberate difference: a
NULL attribute (``end_time`` of a running run) sorts last on SQLite and PostgreSQL alike,
where MLflow's SQLite store sorts it first when ascending.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from steward.core.errors import InvalidArgument
from steward.tracking.search import Comparison, Kind, OrderKey
from steward.tracking.tables import (
    DatasetRow,
    ExperimentRow,
    ExperimentTagRow,
    LatestMetricRow,
    ParamRow,
    RunInputRow,
    RunRow,
    RunTagRow,
)

DATASET_CONTEXT_TAG = "mlflow.data.context"

_RUN_ATTRIBUTES: dict[str, Any] = {
    "run_id": RunRow.id,
    "run_name": RunRow.name,
    "status": RunRow.status,
    "user_id": RunRow.user_id,
    "artifact_uri": RunRow.artifact_uri,
    "start_time": RunRow.start_time,
    "end_time": RunRow.end_time,
}

_EXPERIMENT_ATTRIBUTES: dict[str, Any] = {
    "name": ExperimentRow.name,
    "experiment_id": ExperimentRow.id,
    "creation_time": ExperimentRow.creation_time,
    "last_update_time": ExperimentRow.last_update_time,
}


def like_to_glob(pattern: str) -> str:
    """SQL LIKE -> SQLite GLOB, which is case-sensitive as LIKE is in MLflow and PostgreSQL."""
    special = {"*": "[*]", "?": "[?]", "[": "[[]", "%": "*", "_": "?"}
    return "".join(special.get(c, c) for c in pattern)


def compare_column(column: Any, op: str, value: Any, dialect: str) -> ColumnElement[bool]:
    """``column <op> value`` for every operator of the grammar except the null checks."""
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op == "LIKE":
        if dialect == "sqlite":
            return column.op("GLOB")(like_to_glob(value))  # type: ignore[no-any-return]
        return column.like(value)  # type: ignore[no-any-return]
    if op == "ILIKE":
        return column.ilike(value)  # type: ignore[no-any-return]
    if op == "IN":
        return column.in_(list(value))  # type: ignore[no-any-return]
    if op == "NOT IN":
        return column.not_in(list(value))  # type: ignore[no-any-return]
    raise InvalidArgument(f"Unsupported operator {op!r}.", field="filter")


def _value_condition(table: Any, c: Comparison, dialect: str) -> ColumnElement[bool]:
    cond = compare_column(table.value, c.op, c.value, dialect)
    if table is LatestMetricRow:
        # NaN is stored as 0 with is_nan set: it must satisfy "!=" and nothing else.
        return or_(cond, table.is_nan == true()) if c.op == "!=" else and_(cond, table.is_nan == false())
    return cond


def _key_value_exists(table: Any, run_id: Any, c: Comparison, dialect: str) -> ColumnElement[bool]:
    """EXISTS (or NOT EXISTS) a row of ``table`` for this run and key matching the comparison."""
    where = [table.run_id == run_id, table.key == c.key]
    if c.op == "IS NULL":
        return ~exists().where(*where)
    if c.op == "IS NOT NULL":
        return exists().where(*where)
    return exists().where(*where, _value_condition(table, c, dialect))


# Comparisons a (key, value[, is_nan], run_id) index answers as one range: candidate seeds.
_SEEDABLE: dict[Kind, frozenset[str]] = {
    Kind.PARAM: frozenset({"="}),
    Kind.TAG: frozenset({"="}),
    Kind.METRIC: frozenset({"=", "<", "<=", ">", ">="}),
}
_SEED_TABLES: dict[Kind, Any] = {Kind.PARAM: ParamRow, Kind.TAG: RunTagRow, Kind.METRIC: LatestMetricRow}
# Counting stops here: beyond it a set is "big" and the experiments' runs are scanned.
SEED_COUNT_CAP = 50_000


def seed_ids(c: Comparison, dialect: str) -> Select[Any] | None:
    """The ids of the runs satisfying ``c``, read from an index, or None when no index answers it."""
    if c.kind in _SEEDABLE and c.op in _SEEDABLE[c.kind]:
        table = _SEED_TABLES[c.kind]
        return select(table.run_id).where(table.key == c.key, _value_condition(table, c, dialect))
    return None


def _dataset_exists(c: Comparison, dialect: str) -> ColumnElement[bool]:
    if c.key == "context":
        column: Any = RunInputRow.tags[DATASET_CONTEXT_TAG].as_string()
        return exists().where(RunInputRow.run_id == RunRow.id, compare_column(column, c.op, c.value, dialect))
    column = DatasetRow.name if c.key == "name" else DatasetRow.digest
    return exists().where(
        RunInputRow.run_id == RunRow.id,
        DatasetRow.id == RunInputRow.dataset_id,
        compare_column(column, c.op, c.value, dialect),
    )


def run_condition(c: Comparison, dialect: str) -> ColumnElement[bool]:
    if c.kind is Kind.ATTRIBUTE:
        return compare_column(_RUN_ATTRIBUTES[c.key], c.op, c.value, dialect)
    if c.kind is Kind.METRIC:
        return _key_value_exists(LatestMetricRow, RunRow.id, c, dialect)
    if c.kind is Kind.PARAM:
        return _key_value_exists(ParamRow, RunRow.id, c, dialect)
    if c.kind is Kind.TAG:
        return _key_value_exists(RunTagRow, RunRow.id, c, dialect)
    return _dataset_exists(c, dialect)


def _nulls_last(value: Any) -> ColumnElement[int]:
    return case((value.is_(None), 1), else_=0)


def _run_order(stmt: Select[Any], order: Sequence[OrderKey]) -> Select[Any]:
    clauses: list[Any] = []
    for i, o in enumerate(order):
        if o.kind is Kind.ATTRIBUTE:
            value = _RUN_ATTRIBUTES[o.key]
            clauses.append(_nulls_last(value))
        else:
            table: Any = {Kind.METRIC: LatestMetricRow, Kind.PARAM: ParamRow, Kind.TAG: RunTagRow}[o.kind]
            joined = aliased(table, name=f"o{i}")
            stmt = stmt.outerjoin(joined, and_(joined.run_id == RunRow.id, joined.key == o.key))
            value = joined.value
            if o.kind is Kind.METRIC:
                clauses.append(case((joined.is_nan == true(), 1), (value.is_(None), 2), else_=0))
            else:
                clauses.append(_nulls_last(value))
        clauses.append(value.asc() if o.ascending else value.desc())
    if not any(o.kind is Kind.ATTRIBUTE and o.key == "start_time" for o in order):
        clauses.append(RunRow.start_time.desc())
    clauses.append(RunRow.id.asc())
    return stmt.order_by(*clauses)


class SearchRepository:
    """Search queries over the tracking tables (read-only)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def search_runs(
        self,
        *,
        experiment_ids: Sequence[int],
        stages: Sequence[str],
        filters: Sequence[Comparison],
        order: Sequence[OrderKey],
        offset: int,
        limit: int,
    ) -> list[str]:
        """The ids of the runs matching every filter, sorted, ``limit`` of them from ``offset``."""
        if not experiment_ids:
            return []
        dialect = self.dialect
        experiments = list(experiment_ids)
        seed = self.seed_for(experiments, filters) if dialect == "sqlite" else None
        scope: list[ColumnElement[bool]] = [RunRow.lifecycle_stage.in_(list(stages))]
        if seed is None:
            scope.append(RunRow.experiment_id.in_(experiments))
        else:
            # "+ 0" keeps SQLite from scanning the experiment index instead of the seed.
            seed_select = seed_ids(filters[seed], dialect)
            seed_cond = RunRow.id.in_(seed_select) if seed_select is not None else run_condition(filters[seed], dialect)
            scope += [(RunRow.experiment_id + 0).in_(experiments), seed_cond]
        stmt = select(RunRow.id).where(*scope, *(run_condition(c, dialect) for i, c in enumerate(filters) if i != seed))
        stmt = _run_order(stmt, order).offset(offset).limit(limit)
        return list(self.session.scalars(stmt))

    def _count(self, stmt: Select[Any], cap: int) -> int:
        return int(self.session.scalar(select(func.count()).select_from(stmt.limit(cap).subquery())) or 0)

    def seed_for(self, experiment_ids: list[int], filters: Sequence[Comparison]) -> int | None:
        """The index of the filter to start from, or None to scan the experiments' runs.

        Each count reads index entries only, and stops at the smallest set seen so far, so
        choosing costs about as much as reading the winning set once.
        """
        best: int | None = None
        cap = SEED_COUNT_CAP
        # Equalities first: they tend to name fewer runs, and a small cap makes later counts cheap.
        for i, c in sorted(enumerate(filters), key=lambda ic: ic[1].op != "=" and ic[1].op != "IN"):
            if c.kind is Kind.ATTRIBUTE and c.key == "run_id" and c.op in ("=", "IN"):
                n = len(set(c.value)) if isinstance(c.value, tuple) else 1
            else:
                ids = seed_ids(c, "sqlite")
                if ids is None:
                    continue
                n = self._count(ids, cap)
            if n < cap:
                best, cap = i, n
        if best is None:
            return None
        in_experiments = self._count(select(RunRow.id).where(RunRow.experiment_id.in_(experiment_ids)), cap + 1)
        return best if cap <= in_experiments else None

    def search_experiments(
        self,
        *,
        stages: Sequence[str],
        filters: Sequence[Comparison],
        order: Sequence[OrderKey],
        offset: int,
        limit: int,
    ) -> list[ExperimentRow]:
        conditions: list[ColumnElement[bool]] = [ExperimentRow.lifecycle_stage.in_(list(stages))]
        for c in filters:
            if c.kind is Kind.TAG:
                conditions.append(_key_value_exists_experiment(c, self.dialect))
                continue
            value: Any = c.value
            if c.key == "experiment_id":
                if c.op not in ("=", "!=", "IN", "NOT IN"):
                    raise InvalidArgument(
                        f"experiment_id can only be compared with = != IN NOT IN. Got {c.op!r}.",
                        field="filter",
                    )
                value = tuple(_experiment_id(v) for v in value) if isinstance(value, tuple) else _experiment_id(value)
            conditions.append(compare_column(_EXPERIMENT_ATTRIBUTES[c.key], c.op, value, self.dialect))
        clauses: list[Any] = []
        keys = list(order) or [
            OrderKey(Kind.ATTRIBUTE, "creation_time", False),
            OrderKey(Kind.ATTRIBUTE, "experiment_id", True),
        ]
        for o in keys:
            col = _EXPERIMENT_ATTRIBUTES[o.key]
            clauses.append(col.asc() if o.ascending else col.desc())
        if not any(o.key == "experiment_id" for o in keys):
            clauses.append(ExperimentRow.id.desc())
        stmt = select(ExperimentRow).where(*conditions).order_by(*clauses).offset(offset).limit(limit)
        return list(self.session.scalars(stmt))


def _experiment_id(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidArgument(f"An experiment id must be an integer. Got {value!r} instead.", field="filter") from None


def _key_value_exists_experiment(c: Comparison, dialect: str) -> ColumnElement[bool]:
    where: list[ColumnElement[bool]] = [
        ExperimentTagRow.experiment_id == ExperimentRow.id,
        ExperimentTagRow.key == c.key,
    ]
    if c.op == "IS NULL":
        return ~exists().where(*where)
    if c.op != "IS NOT NULL":
        where.append(compare_column(ExperimentTagRow.value, c.op, c.value, dialect))
    return exists().where(*where)


__all__ = [
    "DATASET_CONTEXT_TAG",
    "SEED_COUNT_CAP",
    "SearchRepository",
    "compare_column",
    "like_to_glob",
    "run_condition",
    "seed_ids",
]
