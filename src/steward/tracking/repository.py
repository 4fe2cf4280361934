"""Persistence of experiments, runs, params, metrics, tags and dataset inputs."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from steward.store.bulk import bulk_insert
from steward.tracking.models import DatasetInput, Experiment, Metric, MetricBatch, Run, newer
from steward.tracking.search import Comparison, OrderKey
from steward.tracking.tables import (
    DatasetRow,
    ExperimentRow,
    ExperimentTagRow,
    LatestMetricRow,
    MetricRow,
    ParamRow,
    RunInputRow,
    RunRow,
    RunTagRow,
)


def _table(model: type[Any]) -> Table:
    """The Core table behind a mapped class: inserts through it skip the ORM's bookkeeping."""
    return cast(Table, model.__table__)


_METRIC_COLUMNS = ("run_id", "key", "value", "is_nan", "step", "timestamp")
_ID_CHUNK = 10_000  # ids per IN list: below SQLite's and PostgreSQL's bound-parameter limits


# The columns of ``runs`` in the order of :class:`Run`'s fields.
RUN_COLUMNS = (
    "id",
    "experiment_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "user_id",
    "source",
    "git_commit",
    "environment",
    "lifecycle_stage",
    "artifact_uri",
)


@dataclass(slots=True)
class RunRows:
    """Runs and their values as driver rows, for a caller that renders thousands of runs and
    cannot afford an object per value (see :meth:`TrackingRepository.load_run_rows`)."""

    runs: list[tuple[Any, ...]]  # RUN_COLUMNS, environment decoded
    params: dict[str, list[dict[str, str]]]  # by run id: [{"key": ..., "value": ...}, ...]
    tags: dict[str, list[dict[str, str]]]  # by run id, as params
    metrics: list[tuple[str, str, float, bool, int, int]]  # run_id, key, value, is_nan, step, timestamp
    inputs: dict[str, list[DatasetInput]]  # by run id


def _metric_value(value: float, is_nan: bool) -> float:
    return math.nan if is_nan else value


class TrackingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # experiments -------------------------------------------------------------------------
    def add_experiment(self, *, name: str, artifact_location: str, creation_time: int) -> ExperimentRow:
        row = ExperimentRow(
            name=name,
            artifact_location=artifact_location,
            lifecycle_stage="active",
            creation_time=creation_time,
            last_update_time=creation_time,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def experiment_row(self, experiment_id: int) -> ExperimentRow | None:
        return self.session.get(ExperimentRow, experiment_id)

    def experiment_row_by_name(self, name: str) -> ExperimentRow | None:
        return self.session.scalars(select(ExperimentRow).where(ExperimentRow.name == name)).first()

    def experiment_tags(self, experiment_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {i: {} for i in experiment_ids}
        if experiment_ids:
            for t in self.session.scalars(
                select(ExperimentTagRow).where(ExperimentTagRow.experiment_id.in_(experiment_ids))
            ):
                out[t.experiment_id][t.key] = t.value
        return out

    def to_experiment(self, row: ExperimentRow, tags: dict[str, str] | None = None) -> Experiment:
        if tags is None:
            tags = self.experiment_tags([row.id])[row.id]
        return Experiment(
            row.id,
            row.name,
            row.artifact_location,
            row.lifecycle_stage,
            row.creation_time,
            row.last_update_time,
            tags,
        )

    def experiment_rows(self, *, stages: Sequence[str], after_id: int | None, limit: int) -> list[ExperimentRow]:
        q = select(ExperimentRow).where(ExperimentRow.lifecycle_stage.in_(stages)).order_by(ExperimentRow.id)
        if after_id is not None:
            q = q.where(ExperimentRow.id > after_id)
        return list(self.session.scalars(q.limit(limit)))

    def set_experiment_tag(self, experiment_id: int, key: str, value: str) -> None:
        row = self.session.get(ExperimentTagRow, (experiment_id, key))
        if row is None:
            self.session.add(ExperimentTagRow(experiment_id=experiment_id, key=key, value=value))
        else:
            row.value = value
        self.session.flush()

    def delete_experiment_tag(self, experiment_id: int, key: str) -> bool:
        res = self.session.execute(
            delete(ExperimentTagRow).where(ExperimentTagRow.experiment_id == experiment_id, ExperimentTagRow.key == key)
        )
        return bool(getattr(res, "rowcount", 0))

    # runs --------------------------------------------------------------------------------
    def add_run(self, fields: dict[str, Any]) -> None:
        self.session.execute(insert(_table(RunRow)), [fields])

    def run_row(self, run_id: str) -> RunRow | None:
        return self.session.get(RunRow, run_id)

    def run_rows(
        self,
        *,
        experiment_ids: Sequence[int],
        stages: Sequence[str],
        after: tuple[int, str] | None,
        limit: int,
    ) -> list[RunRow]:
        """Runs newest first; ``after`` is the (start_time, id) of the last run already seen."""
        q = (
            select(RunRow)
            .where(RunRow.experiment_id.in_(experiment_ids), RunRow.lifecycle_stage.in_(stages))
            .order_by(RunRow.start_time.desc(), RunRow.id.desc())
        )
        if after is not None:
            q = q.where(tuple_(RunRow.start_time, RunRow.id) < tuple_(*after))
        return list(self.session.scalars(q.limit(limit)))

    def load_runs(self, rows: Sequence[RunRow]) -> list[Run]:
        """Rows with their params, latest metrics, tags and inputs, in four queries in all."""
        ids = [r.id for r in rows]
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, Metric]] = {i: {} for i in ids}
        inputs: dict[str, list[DatasetInput]] = {i: [] for i in ids}
        if ids:
            for p in self.session.scalars(select(ParamRow).where(ParamRow.run_id.in_(ids))):
                params[p.run_id][p.key] = p.value
            for t in self.session.scalars(select(RunTagRow).where(RunTagRow.run_id.in_(ids))):
                tags[t.run_id][t.key] = t.value
            for m in self.session.scalars(select(LatestMetricRow).where(LatestMetricRow.run_id.in_(ids))):
                metrics[m.run_id][m.key] = Metric(m.key, _metric_value(m.value, m.is_nan), m.step, m.timestamp)
            for ri, d in self.session.execute(
                select(RunInputRow, DatasetRow)
                .join(DatasetRow, DatasetRow.id == RunInputRow.dataset_id)
                .where(RunInputRow.run_id.in_(ids))
            ):
                inputs[ri.run_id].append(
                    DatasetInput(
                        d.name,
                        d.digest,
                        d.source_type,
                        d.source,
                        d.schema,
                        d.profile,
                        d.num_rows,
                        ri.tags or {},
                    )
                )
        return [
            Run(
                r.id,
                r.experiment_id,
                r.name,
                r.status,
                r.start_time,
                r.end_time,
                r.user_id,
                r.source,
                r.git_commit,
                r.environment,
                r.lifecycle_stage,
                r.artifact_uri,
                params[r.id],
                metrics[r.id],
                tags[r.id],
                inputs[r.id],
            )
            for r in rows
        ]

    # params and tags ---------------------------------------------------------------------
    def params(self, run_id: str, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        rows = self.session.scalars(select(ParamRow).where(ParamRow.run_id == run_id, ParamRow.key.in_(keys)))
        return {r.key: r.value for r in rows}

    def insert_params(self, run_id: str, params: dict[str, str]) -> None:
        if params:
            self.session.execute(
                insert(_table(ParamRow)),
                [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()],
            )

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        if not tags:
            return
        existing = {
            r.key: r
            for r in self.session.scalars(
                select(RunTagRow).where(RunTagRow.run_id == run_id, RunTagRow.key.in_(list(tags)))
            )
        }
        for k, v in tags.items():
            if k in existing:
                existing[k].value = v
            else:
                self.session.add(RunTagRow(run_id=run_id, key=k, value=v))
        self.session.flush()

    def insert_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Tags of a run that has none yet (a new one): inserted without reading first."""
        if tags:
            self.session.execute(
                insert(_table(RunTagRow)), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
            )

    def delete_tag(self, run_id: str, key: str) -> bool:
        res = self.session.execute(delete(RunTagRow).where(RunTagRow.run_id == run_id, RunTagRow.key == key))
        return bool(getattr(res, "rowcount", 0))

    # metrics -----------------------------------------------------------------------------
    def insert_metrics(self, run_id: str, batch: MetricBatch) -> None:
        """Append points and move each key's latest value forward: one executemany for the
        points, one small read and write for the latest values."""
        if not len(batch):
            return
        rows: list[tuple[Any, ...]] = []
        append = rows.append
        # Per key, the greatest (step, timestamp, value with NaN lowest) seen: the order of
        # ``newer``, compared as tuples in one pass (this loop runs once per point).
        best: dict[str, tuple[int, int, float, float]] = {}
        get = best.get
        neg_inf = -math.inf
        for key, value, step, ts in zip(batch.keys, batch.values, batch.steps, batch.timestamps, strict=True):
            nan = value != value
            append((run_id, key, 0.0 if nan else value, nan, step, ts))
            order = (step, ts, neg_inf if nan else value, value)
            seen = get(key)
            if seen is None or order > seen:  # equal first three: the fourth never wins
                best[key] = order
        bulk_insert(self.session, _table(MetricRow), _METRIC_COLUMNS, rows)
        self._advance_latest(run_id, {k: Metric(k, o[3], o[0], o[1]) for k, o in best.items()})

    def _advance_latest(self, run_id: str, latest: dict[str, Metric]) -> None:
        stored = {
            r.key: r
            for r in self.session.scalars(
                select(LatestMetricRow).where(LatestMetricRow.run_id == run_id, LatestMetricRow.key.in_(list(latest)))
            )
        }
        new_rows = []
        for key, p in latest.items():
            row = stored.get(key)
            nan = math.isnan(p.value)
            if row is None:
                new_rows.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "value": 0.0 if nan else p.value,
                        "is_nan": nan,
                        "step": p.step,
                        "timestamp": p.timestamp,
                    }
                )
            elif newer(p, Metric(key, _metric_value(row.value, row.is_nan), row.step, row.timestamp)):
                row.value, row.is_nan, row.step, row.timestamp = (
                    (0.0 if nan else p.value),
                    nan,
                    p.step,
                    p.timestamp,
                )
        if new_rows:
            self.session.execute(insert(_table(LatestMetricRow)), new_rows)
        self.session.flush()

    def metric_history(self, run_id: str, key: str, *, after_id: int | None, limit: int) -> list[tuple[int, Metric]]:
        q = select(MetricRow).where(MetricRow.run_id == run_id, MetricRow.key == key).order_by(MetricRow.id)
        if after_id is not None:
            q = q.where(MetricRow.id > after_id)
        return [
            (m.id, Metric(m.key, _metric_value(m.value, m.is_nan), m.step, m.timestamp))
            for m in self.session.scalars(q.limit(limit))
        ]

    def metric_keys(self, run_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(LatestMetricRow.key).where(LatestMetricRow.run_id == run_id).order_by(LatestMetricRow.key)
            )
        )

    def count_metric_points(self, run_id: str) -> int:
        return int(
            self.session.scalar(select(func.count()).select_from(MetricRow).where(MetricRow.run_id == run_id)) or 0
        )

    # datasets ----------------------------------------------------------------------------
    def dataset_by_digest(self, name: str, digest: str) -> DatasetRow | None:
        return self.session.scalars(
            select(DatasetRow).where(DatasetRow.name == name, DatasetRow.digest == digest)
        ).first()

    def add_dataset(self, fields: dict[str, Any]) -> DatasetRow:
        row = DatasetRow(**fields)
        self.session.add(row)
        self.session.flush()
        return row

    def link_input(self, run_id: str, dataset_id: str, tags: dict[str, Any] | None) -> None:
        if self.session.get(RunInputRow, (run_id, dataset_id)) is None:
            self.session.add(RunInputRow(run_id=run_id, dataset_id=dataset_id, tags=tags))
            self.session.flush()

    # search (added for the MLflow-compatible API) --------------------------------------------
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
        """Ids of the runs matching ``filters`` in ``order``, one page, filtered and sorted in SQL."""
        from steward.tracking.search_repository import SearchRepository

        return SearchRepository(self.session).search_runs(
            experiment_ids=experiment_ids, stages=stages, filters=filters, order=order, offset=offset, limit=limit
        )

    def search_experiments(
        self,
        *,
        stages: Sequence[str],
        filters: Sequence[Comparison],
        order: Sequence[OrderKey],
        offset: int,
        limit: int,
    ) -> list[ExperimentRow]:
        from steward.tracking.search_repository import SearchRepository

        return SearchRepository(self.session).search_experiments(
            stages=stages, filters=filters, order=order, offset=offset, limit=limit
        )

    def set_runs_lifecycle(self, experiment_id: int, stage: str, deleted_time: int | None) -> None:
        """Move every run of an experiment to ``stage`` (MLflow deletes and restores them with it)."""
        self.session.execute(
            update(RunRow)
            .where(RunRow.experiment_id == experiment_id)
            .values(lifecycle_stage=stage, deleted_time=deleted_time)
        )

    def insert_experiment_with_id(self, experiment_id: int, name: str, artifact_location: str, at: int) -> None:
        """Insert an experiment under a chosen id; a no-op if the id or the name is taken
        (another process got there first)."""
        values = {
            "id": experiment_id,
            "name": name,
            "artifact_location": artifact_location,
            "lifecycle_stage": "active",
            "creation_time": at,
            "last_update_time": at,
        }
        dialect = self.session.get_bind().dialect.name
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            self.session.execute(sqlite_insert(ExperimentRow).values(**values).on_conflict_do_nothing())
        elif dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            self.session.execute(pg_insert(ExperimentRow).values(**values).on_conflict_do_nothing())
        else:
            self.session.execute(insert(ExperimentRow).values(**values))

    def existing_points(
        self, run_id: str, keys: Sequence[str], min_step: int, max_step: int
    ) -> set[tuple[str, int, int, float | None]]:
        """(key, step, timestamp, value or None for NaN) of stored points in a step range."""
        rows = self.session.execute(
            select(MetricRow.key, MetricRow.step, MetricRow.timestamp, MetricRow.value, MetricRow.is_nan).where(
                MetricRow.run_id == run_id,
                MetricRow.key.in_(list(keys)),
                MetricRow.step >= min_step,
                MetricRow.step <= max_step,
            )
        )
        return {(k, s, t, None if nan else v) for k, s, t, v, nan in rows}

    def load_runs_by_id(self, run_ids: Sequence[str]) -> list[Run]:
        """Runs in the order of ``run_ids`` (unknown ids skipped), read as plain rows, without
        ORM objects: five queries per 10,000 runs."""
        rows = self.load_run_rows(run_ids)
        params = {i: {p["key"]: p["value"] for p in kvs} for i, kvs in rows.params.items()}
        tags = {i: {t["key"]: t["value"] for t in kvs} for i, kvs in rows.tags.items()}
        metrics: dict[str, dict[str, Metric]] = {r[0]: {} for r in rows.runs}
        for run_id, key, number, is_nan, step, ts in rows.metrics:
            metrics[run_id][key] = Metric(key, math.nan if is_nan else number, step, ts)
        out = []
        for r in rows.runs:
            i = r[0]
            out.append(
                Run(
                    i, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                    params.get(i, {}), metrics[i], tags.get(i, {}), rows.inputs.get(i, []),
                )
            )  # fmt: skip
        return out

    def load_run_rows(self, run_ids: Sequence[str]) -> RunRows:
        """The runs of ``run_ids`` (in that order, unknown ids skipped) with their params, tags,
        latest metrics and inputs, as the driver returns them: the hot path of search pages."""
        out = RunRows([], {}, {}, [], {})
        ids = list(run_ids)
        for start in range(0, len(ids), _ID_CHUNK):
            self._load_chunk(ids[start : start + _ID_CHUNK], out)
        return out

    def _load_chunk(self, ids: list[str], out: RunRows) -> None:
        # Plain SQL through the driver: building, caching and compiling five statements with
        # hundreds of bound ids each cost more than the queries. Through the driver SQLite
        # hands JSON over as text; psycopg decodes it.
        sqlite = self.session.get_bind().dialect.name == "sqlite"
        marks = ",".join(["?" if sqlite else "%s"] * len(ids))
        conn = self.session.connection()
        args = tuple(ids)

        def rows(sql: str) -> list[Any]:
            return list(conn.exec_driver_sql(sql.replace("{ids}", marks), args).fetchall())

        def _json(value: Any) -> Any:
            return json.loads(value) if sqlite and value is not None else value

        base: dict[str, tuple[Any, ...]] = {}
        for r in rows(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE id IN ({{ids}})"):
            env = r[9] if r[9] != "null" else None
            base[r[0]] = (*r[:9], _json(env), *r[10:])
        if not base:
            return
        out.runs += [base[i] for i in ids if i in base]
        # Params and tags come aggregated per run as JSON, built by the database: one row and
        # one C-level decode per run instead of a Python tuple and dict per value. (Not
        # metrics: SQLite writes doubles into JSON with 15 digits, which would change them.)
        agg = (
            "json_group_array(json_object('key', \"key\", 'value', value))"
            if sqlite
            else "json_agg(json_build_object('key', \"key\", 'value', value))"
        )
        for table, into in (("params", out.params), ("run_tags", out.tags)):
            for run_id, kvs in rows(f"SELECT run_id, {agg} FROM {table} WHERE run_id IN ({{ids}}) GROUP BY run_id"):
                into[run_id] = orjson.loads(kvs) if sqlite else kvs
        out.metrics += rows(
            'SELECT run_id, "key", value, is_nan, step, "timestamp" FROM latest_metrics WHERE run_id IN ({ids})'
        )
        for run_id, run_tags, name, digest, source_type, source, schema, profile, num_rows in rows(
            "SELECT i.run_id, i.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, "
            "d.num_rows FROM run_inputs i JOIN datasets d ON d.id = i.dataset_id WHERE i.run_id IN ({ids})"
        ):
            out.inputs.setdefault(run_id, []).append(
                DatasetInput(
                    name, digest, source_type, source, _json(schema), _json(profile), num_rows, _json(run_tags) or {}
                )
            )
