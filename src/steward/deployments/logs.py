"""Reading what deployments did from the prediction log (and ground truth, when it arrived):
DuckDB over the model server's Parquet segments, nothing loaded that a query can aggregate.

The prediction log is the model server's (``steward.serving.prediction_log``): one row per
predicted row with ``request_id``, ``row``, ``model_version``, ``role`` (``primary``, or
``mirror`` for a shadow's copy), ``latency_ms``, ``prediction``, ``prediction_value`` and
``probabilities``. Ground truth is the monitoring store's labels
(``<labels>/deployment=<name>/hour=<h>/*.parquet``: ``request_id``, ``row``, ``label``,
``label_value``, ``ingested_at``; the latest label of a row wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from steward.core.config import Settings
from steward.serving.models import check_name

# the positive class's score of a binary classifier: its second probability
_SCORE = "case when len(probabilities) = 2 then probabilities[2] end"


def _files(root: Path | None, deployment: str) -> str | None:
    if root is None:
        return None
    folder = Path(root) / f"deployment={check_name('deployment', deployment)}"
    if not any(folder.glob("hour=*/*.parquet")):
        return None
    pattern = str(folder / "hour=*" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = false, union_by_name = true)"


@dataclass(frozen=True)
class PredictionLog:
    """The prediction log folder and (optionally) the ground-truth folder of the monitoring store."""

    predictions: Path
    labels: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PredictionLog:
        """Where ``steward serve`` logs by default, and where monitoring keeps ground truth."""
        from steward.monitoring.store import MonitoringStore

        store = MonitoringStore.from_settings(settings)
        return cls(store.predictions, store.labels)

    def _labels_sql(self, deployment: str) -> str | None:
        src = _files(self.labels, deployment)
        if src is None:
            return None
        return (
            "select request_id, coalesce(row, 0)::integer as row, label::varchar as label, "
            f"label_value::double as label_value from {src} qualify row_number() over "
            "(partition by request_id, coalesce(row, 0) order by ingested_at desc) = 1"
        )

    def _rows(self, deployment: str, version: str, role: str) -> str | None:
        src = _files(self.predictions, deployment)
        if src is None:
            return None
        role_test = "coalesce(role, 'primary') = 'primary'" if role == "primary" else "role = 'mirror'"
        return (
            "select request_id, coalesce(row, 0)::integer as row, prediction::varchar as prediction, "
            f"prediction_value::double as value, ({_SCORE})::double as score, latency_ms, epoch_ms(timestamp) as ts "
            f"from {src} where model_version = '{_quote(version)}' and {role_test} "
            "and epoch_ms(timestamp) >= $since and epoch_ms(timestamp) < $until"
        )

    def accuracy_by_version(
        self, deployment: str, versions: Sequence[str], since_ms: int, until_ms: int
    ) -> dict[str, tuple[int, int]]:
        """``{version: (labelled, correct)}`` over primary predictions in the window."""
        labels = self._labels_sql(deployment)
        out = {v: (0, 0) for v in versions}
        if labels is None:
            return out
        import duckdb

        with duckdb.connect() as con:
            for v in versions:
                rows = self._rows(deployment, v, "primary")
                if rows is None:
                    continue
                sql = (
                    f"with p as ({rows}), l as ({labels}) select count(*), coalesce(sum(({_CORRECT})::int), 0) "
                    "from p join l using (request_id, row)"
                )
                found = con.execute(sql, {"since": since_ms, "until": until_ms}).fetchone()
                if found is not None:
                    out[v] = (int(found[0]), int(found[1]))
        return out

    def labelled_requests(self, deployment: str, versions: Sequence[str], since_ms: int, until_ms: int) -> pa.Table:
        """One row per labelled primary prediction: ``model_version``, ``request_id``, ``correct``."""
        labels = self._labels_sql(deployment)
        parts = []
        import duckdb

        with duckdb.connect() as con:
            for v in versions:
                rows = self._rows(deployment, v, "primary")
                if rows is None or labels is None:
                    continue
                sql = (
                    f"with p as ({rows}), l as ({labels}) select '{_quote(v)}' as model_version, request_id, "
                    f"({_CORRECT})::int as correct from p join l using (request_id, row)"
                )
                parts.append(con.sql(sql, params={"since": since_ms, "until": until_ms}).to_arrow_table())
        if not parts:
            return pa.table({"model_version": pa.array([], pa.string()), "request_id": pa.array([], pa.string()),
                             "correct": pa.array([], pa.int32())})  # fmt: skip
        return pa.concat_tables(parts, promote_options="permissive")

    def shadow(self, deployment: str, primary: str, mirror: str, since_ms: int, until_ms: int) -> dict[str, Any]:
        """Raw comparison figures of a shadow (see :mod:`steward.deployments.shadow`)."""
        p_rows, s_rows = self._rows(deployment, primary, "primary"), self._rows(deployment, mirror, "mirror")
        if p_rows is None:
            return {"primary_rows": 0}
        import duckdb

        s_rows = s_rows or p_rows.replace("where ", "where false and ", 1)
        labels = self._labels_sql(deployment)
        label_cols = ", l.label, l.label_value" if labels else ", null::varchar as label, null::double as label_value"
        label_join = f"left join ({labels}) l using (request_id, row)" if labels else ""
        joined = (
            f"with p as ({p_rows}), s as ({s_rows}), j as (select p.request_id, p.row, p.prediction, p.value, p.score, "
            "s.prediction as s_prediction, s.value as s_value, s.score as s_score "
            f"{label_cols} from p left join s using (request_id, row) {label_join})"
        )
        params = {"since": since_ms, "until": until_ms}
        with duckdb.connect() as con:
            totals = con.execute(
                f"""{joined} select count(*), count(s_prediction),
                avg((prediction = s_prediction)::int) filter (where s_prediction is not null),
                avg(s_value - value) filter (where s_prediction is not null),
                avg(abs(s_value - value)) filter (where s_prediction is not null),
                avg(abs(s_score - score)) filter (where s_prediction is not null),
                avg(value) filter (where s_prediction is not null), avg(s_value),
                avg(score) filter (where s_prediction is not null), avg(s_score),
                count(label) filter (where s_prediction is not null),
                avg(({_correct("prediction", "value")})::int) filter (where {_BOTH_LABELLED}),
                avg(({_correct("s_prediction", "s_value")})::int) filter (where {_BOTH_LABELLED}),
                avg(abs(label_value - value)) filter (where s_prediction is not null),
                avg(abs(label_value - s_value)) filter (where s_prediction is not null)
                from j""",
                params,
            ).fetchone()
            pairs = con.execute(
                f"{joined} select prediction, s_prediction, count(*) as n from j where s_prediction is not null "
                "and prediction <> s_prediction group by 1, 2 order by n desc, 1, 2 limit 10",
                params,
            ).fetchall()
            latency = con.execute(
                f"""with p as ({p_rows}), s as ({s_rows}),
                pr as (select request_id, any_value(latency_ms) as lat from p group by 1),
                sr as (select request_id, any_value(latency_ms) as lat from s group by 1)
                select count(*), quantile_cont(pr.lat, 0.5), quantile_cont(pr.lat, 0.95),
                quantile_cont(sr.lat, 0.5), quantile_cont(sr.lat, 0.95), avg(sr.lat - pr.lat)
                from pr join sr using (request_id)""",
                params,
            ).fetchone()
        assert totals is not None and latency is not None
        keys = (
            "primary_rows", "compared_rows", "agreement", "mean_delta", "mean_abs_delta", "mean_abs_score_delta",
            "primary_mean", "challenger_mean", "primary_score", "challenger_score", "labelled",
            "primary_accuracy", "challenger_accuracy", "primary_mae", "challenger_mae",
        )  # fmt: skip
        doc: dict[str, Any] = dict(zip(keys, totals, strict=True))
        doc["disagreements"] = [{"primary": a, "challenger": b, "rows": int(n)} for a, b, n in pairs]
        doc["latency"] = dict(
            zip(("requests", "primary_p50_ms", "primary_p95_ms", "challenger_p50_ms", "challenger_p95_ms",
                 "mean_overhead_ms"), latency, strict=True)
        )  # fmt: skip
        return doc


def _correct(prediction: str, value: str) -> str:
    return (
        f"case when label_value is not null and {value} is not null then label_value = {value} "
        f"else label = {prediction} end"
    )


_CORRECT = _correct("prediction", "value")
_BOTH_LABELLED = "s_prediction is not null and label is not null"


def _quote(text: str) -> str:
    return str(text).replace("'", "''")
