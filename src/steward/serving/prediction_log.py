"""The prediction log: every prediction, append-only, as Parquet segments, written off the
request path.

Layout (Hive-style partitions, so DuckDB, pyarrow.dataset and Dask read it as one table)::

    <root>/deployment=<name>/hour=<YYYY-MM-DDTHH>/part-<ms>-<pid>-<seq>.parquet

One row per predicted row: ``request_id``, ``row`` (its index in the request), ``deployment``,
``model_name``, ``model_version``, ``role`` (``primary``, or ``mirror`` for a shadow copy),
``timestamp`` (UTC, ms), ``latency_ms`` (server time of the request), ``features`` (a struct
typed from the model's signature), ``prediction`` (as text), ``prediction_value`` (the number,
when the prediction is one), ``probabilities`` (in the order of the model's classes).

Durability. ``append`` only puts a reference on an in-memory buffer (no copy, no I/O, never
blocks); a background thread turns the buffer into segments every ``flush_interval_s`` or as
soon as ``flush_rows`` are waiting, each written under a temporary name and renamed into place,
so a reader never sees half a file. ``close()`` (called on server shutdown) flushes everything.
On a crash (SIGKILL, power loss) what is lost is what was buffered: at most the last
``flush_interval_s`` seconds of predictions (1 s by default), and never more than
``max_buffered_rows`` rows, because rows beyond that bound are dropped, and counted, rather than
letting memory grow when the disk cannot keep up.

Reading::

    >>> import duckdb  # doctest: +SKIP
    >>> duckdb.sql(f"select deployment, count(*) from {scan_sql(root)} group by 1")  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.predictor import Prediction

log = logging.getLogger("steward.serving.prediction_log")

_ARROW = {
    "float": pa.float64(),
    "int": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "datetime": pa.timestamp("ns"),
}

_DTYPE_KINDS = {"f": "float", "i": "float", "u": "float", "b": "bool", "M": "datetime"}


@dataclass(frozen=True)
class LogEntry:
    """One answered request, as the request handler saw it."""

    deployment: str
    model_name: str
    model_version: str
    request_id: str
    timestamp_ms: int
    latency_ms: float
    features: FeatureBatch
    prediction: Prediction
    role: str = "primary"


@dataclass
class LogStats:
    buffered_rows: int = 0
    written_rows: int = 0
    dropped_rows: int = 0
    segments: int = 0
    write_errors: int = 0
    last_flush_ms: int = 0


@dataclass
class _Group:
    entries: list[LogEntry] = field(default_factory=list)
    rows: int = 0


class PredictionLogWriter:
    """Buffers :class:`LogEntry` objects and writes them as Parquet segments from a thread."""

    def __init__(
        self,
        root: str | Path,
        *,
        flush_interval_s: float = 1.0,
        flush_rows: int = 20_000,
        max_buffered_rows: int = 500_000,
        compression: str = "zstd",
    ) -> None:
        if flush_interval_s <= 0 or flush_rows < 1 or max_buffered_rows < flush_rows:
            raise ValueError(
                "PredictionLogWriter needs flush_interval_s > 0 and 1 <= flush_rows <= max_buffered_rows. "
                f"Got {flush_interval_s}, {flush_rows}, {max_buffered_rows} instead."
            )
        self.root = Path(root)
        self.flush_interval_s = flush_interval_s
        self.flush_rows = flush_rows
        self.max_buffered_rows = max_buffered_rows
        self.compression = compression
        self.stats = LogStats()
        self._schemas: dict[tuple[str, str], InputSchema] = {}
        self._buffer: list[LogEntry] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = itertools.count()

    def register(self, deployment: str, version: str, schema: InputSchema) -> None:
        """Declare the features' types of one deployment's model version."""
        self._schemas[(deployment, version)] = schema

    def start(self) -> PredictionLogWriter:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()
        return self

    def append(self, entry: LogEntry) -> bool:
        """Buffer one entry; False (and counted) when the buffer is full. Never blocks on I/O."""
        n = entry.features.n
        with self._lock:
            if self.stats.buffered_rows + n > self.max_buffered_rows:
                self.stats.dropped_rows += n
                return False
            self._buffer.append(entry)
            self.stats.buffered_rows += n
            wake = self.stats.buffered_rows >= self.flush_rows
        if wake:
            self._wake.set()
        return True

    def flush(self) -> int:
        """Write everything buffered now; return the rows written. Thread-safe."""
        with self._flush_lock:
            with self._lock:
                entries, self._buffer = self._buffer, []
                rows = self.stats.buffered_rows
                self.stats.buffered_rows = 0
            if not entries:
                return 0
            written = 0
            for (deployment, hour, version), group in _group(entries).items():
                try:
                    self._write(deployment, hour, version, group)
                    written += group.rows
                except Exception:  # a full disk must not kill serving: count, log, go on
                    log.exception("prediction log segment write failed")
                    with self._lock:
                        self.stats.write_errors += 1
                        self.stats.dropped_rows += group.rows
            with self._lock:
                self.stats.written_rows += written
                self.stats.last_flush_ms = int(time.time() * 1000)
            assert written <= rows
            return written

    def close(self) -> None:
        """Stop the thread and flush what is left (server shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        # The first Parquet write pays for codec set-up (~0.4 s): pay it now, not mid-traffic.
        pq.write_table(pa.table({"warm": [0]}), pa.BufferOutputStream(), compression=self.compression)
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # pragma: no cover - flush already contains its own failures
                log.exception("prediction log flush failed")

    def _write(self, deployment: str, hour: str, version: str, group: _Group) -> None:
        table = self._table(deployment, version, group)
        folder = self.root / f"deployment={deployment}" / f"hour={hour}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{int(time.time() * 1000)}-{os.getpid()}-{next(self._seq):06d}.parquet"
        tmp = folder / f".{name}.tmp"
        pq.write_table(table, tmp, compression=self.compression)
        os.replace(tmp, folder / name)
        with self._lock:
            self.stats.segments += 1

    def _table(self, deployment: str, version: str, group: _Group) -> pa.Table:
        # Runs on the writer thread while requests are served: per-entry work is kept to list
        # building; everything per row happens in numpy / Arrow.
        entries = group.entries
        counts = np.fromiter((e.features.n for e in entries), dtype=np.int64, count=len(entries))
        single = bool((counts == 1).all())
        spread = None if single else np.repeat(np.arange(len(entries)), counts)

        def per_row(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
            arr = pa.array(values, arrow_type)
            return arr if spread is None else arr.take(spread)

        if single:
            rows = np.zeros(group.rows, dtype=np.int32)
        else:
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            rows = (np.arange(group.rows) - starts).astype(np.int32)
        predictions = np.concatenate([e.prediction.predictions for e in entries])
        stamps = np.fromiter((e.timestamp_ms for e in entries), dtype=np.int64, count=len(entries))
        cols: dict[str, Any] = {
            "request_id": per_row([e.request_id for e in entries], pa.string()),
            "row": pa.array(rows),
            "deployment": pa.repeat(pa.scalar(deployment), group.rows),
            "model_name": pa.repeat(pa.scalar(entries[0].model_name), group.rows),
            "model_version": pa.repeat(pa.scalar(version), group.rows),
            "role": per_row([e.role for e in entries], pa.string()),
            "timestamp": pa.array(stamps if spread is None else stamps[spread], pa.int64()).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            "latency_ms": per_row([e.latency_ms for e in entries], pa.float64()),
            "features": _features(
                FeatureBatch.concat([e.features for e in entries]), self._schemas.get((deployment, version))
            ),
            "prediction": _labels(predictions),
            "prediction_value": _numeric(predictions),
            "probabilities": _probabilities([e.prediction.probabilities for e in entries], counts),
        }
        return pa.table(cols)


def _group(entries: Sequence[LogEntry]) -> dict[tuple[str, str, str], _Group]:
    groups: dict[tuple[str, str, str], _Group] = defaultdict(_Group)
    hours: dict[int, str] = {}
    for e in entries:
        h = e.timestamp_ms // 3_600_000
        hour = hours.get(h)
        if hour is None:
            hour = hours[h] = time.strftime("%Y-%m-%dT%H", time.gmtime(h * 3600))
        g = groups[(e.deployment, hour, e.model_version)]
        g.entries.append(e)
        g.rows += e.features.n
    return groups


def _labels(predictions: np.ndarray[Any, Any]) -> pa.Array:
    if predictions.dtype.kind in "iub":
        return pa.array(predictions).cast(pa.string())
    return pa.array([str(p) for p in predictions.tolist()], pa.string())


def _features(batch: FeatureBatch, schema: InputSchema | None) -> pa.StructArray:
    if batch.matrix is not None:
        names = list(schema.names) if schema else [f"x{i}" for i in range(batch.matrix.shape[1])]
        arrays = [pa.array(batch.matrix[:, j]) for j in range(batch.matrix.shape[1])]
        return pa.StructArray.from_arrays(arrays, names=names)
    assert batch.columns is not None
    kinds = {f.name: f.kind for f in schema.fields} if schema else {}
    arrays = []
    for name, values in batch.columns.items():
        arrow_type = _ARROW.get(kinds.get(name, "")) or _ARROW.get(_DTYPE_KINDS.get(values.dtype.kind, ""))
        if arrow_type is None:
            arrays.append(pa.array([None if v is None else str(v) for v in values.tolist()], pa.string()))
        else:
            arrays.append(pa.array(values, arrow_type, from_pandas=True))
    return pa.StructArray.from_arrays(arrays, names=list(batch.columns))


def _numeric(predictions: np.ndarray[Any, Any]) -> pa.Array:
    if predictions.dtype.kind in "biuf":
        return pa.array(predictions.astype(np.float64))
    return pa.nulls(len(predictions), pa.float64())


def _probabilities(probas: list[np.ndarray[Any, Any] | None], counts: np.ndarray[Any, Any]) -> pa.Array:
    if all(p is None for p in probas):
        return pa.nulls(int(counts.sum()), pa.list_(pa.float64()))
    width = next(p.shape[1] for p in probas if p is not None)
    parts = [p if p is not None else np.full((int(c), width), np.nan) for p, c in zip(probas, counts, strict=True)]
    flat = np.concatenate(parts).astype(np.float64)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel()), width).cast(pa.list_(pa.float64()))


def scan_sql(root: str | Path) -> str:
    """A DuckDB table expression over every segment under ``root``."""
    pattern = str(Path(root) / "**" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = true, union_by_name = true)"


def read_predictions(
    root: str | Path,
    *,
    deployment: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> pa.Table:
    """The logged predictions (optionally one deployment's, in a time window) as an Arrow table."""
    import duckdb

    if not any(Path(root).glob("deployment=*/hour=*/*.parquet")):
        return pa.table({})
    where: list[str] = []
    params: list[object] = []
    if deployment is not None:
        where.append("deployment = ?")
        params.append(deployment)
    if since_ms is not None:
        where.append("timestamp >= make_timestamp(? * 1000)")
        params.append(since_ms)
    if until_ms is not None:
        where.append("timestamp < make_timestamp(? * 1000)")
        params.append(until_ms)
    sql = f"select * exclude (hour) from {scan_sql(root)}"
    if where:
        sql += " where " + " and ".join(where)
    with duckdb.connect() as con:
        return con.sql(sql + " order by timestamp, request_id, row", params=params).to_arrow_table()
