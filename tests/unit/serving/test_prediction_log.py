"""The prediction log buffers off the request path and writes Parquet that DuckDB reads."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np

from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.prediction_log import LogEntry, PredictionLogWriter, read_predictions, scan_sql
from steward.serving.predictor import Prediction

SCHEMA = InputSchema.from_signature({"inputs": [{"name": "age", "type": "long"}, {"name": "sex", "type": "string"}]})


def entry(rid: str, n: int = 2, at_ms: int | None = None, deployment: str = "d") -> LogEntry:
    cols = {"age": np.arange(n, dtype=np.float64) + 20, "sex": np.array(["F", "M"] * n, dtype=object)[:n]}
    pred = Prediction(np.array([0, 1] * n)[:n], np.tile([[0.7, 0.3]], (n, 1)))
    ts = at_ms if at_ms is not None else int(time.time() * 1000)
    return LogEntry(deployment, "m", "3", rid, ts, 1.5, FeatureBatch(n, columns=cols), pred)


def test_flush_writes_hour_partitions_that_duckdb_reads(tmp_path: Path) -> None:
    writer = PredictionLogWriter(tmp_path)
    writer.register("d", "3", SCHEMA)
    writer.append(entry("r1", at_ms=1_764_115_200_000))  # 2025-11-26T00:00Z
    writer.append(entry("r2", n=3, at_ms=1_764_115_200_000 - 1))  # the hour before
    writer.append(entry("r3", n=1, deployment="other"))
    assert writer.flush() == 6
    files = sorted(p.relative_to(tmp_path).parts[:2] for p in tmp_path.rglob("*.parquet"))
    assert ("deployment=d", "hour=2025-11-25T23") in files and ("deployment=d", "hour=2025-11-26T00") in files
    rows = duckdb.sql(
        f"select request_id, row, features.age as age, features.sex as sex, prediction, probabilities "
        f"from {scan_sql(tmp_path)} where deployment = 'd' order by request_id, row"
    ).fetchall()
    assert rows[0] == ("r1", 0, 20.0, "F", "0", [0.7, 0.3])
    assert [(r[0], r[1]) for r in rows] == [("r1", 0), ("r1", 1), ("r2", 0), ("r2", 1), ("r2", 2)]
    assert [r[2] for r in rows] == [20.0, 21.0, 20.0, 21.0, 22.0]
    table = read_predictions(tmp_path, deployment="other")
    assert table.num_rows == 1 and table.column("model_version").to_pylist() == ["3"]


def test_background_thread_flushes_within_the_interval(tmp_path: Path) -> None:
    writer = PredictionLogWriter(tmp_path, flush_interval_s=0.05).start()
    try:
        writer.append(entry("r1"))
        deadline = time.monotonic() + 5
        while writer.stats.written_rows < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.stats.written_rows == 2
    finally:
        writer.close()


def test_close_flushes_what_is_buffered(tmp_path: Path) -> None:
    writer = PredictionLogWriter(tmp_path, flush_interval_s=3600).start()
    for i in range(5):
        writer.append(entry(f"r{i}"))
    writer.close()
    assert read_predictions(tmp_path).num_rows == 10
    assert writer.stats.buffered_rows == 0


def test_a_full_buffer_drops_and_counts_instead_of_growing(tmp_path: Path) -> None:
    writer = PredictionLogWriter(tmp_path, flush_rows=4, max_buffered_rows=4)
    assert writer.append(entry("a")) and writer.append(entry("b"))
    assert not writer.append(entry("c"))
    assert writer.stats.dropped_rows == 2 and writer.stats.buffered_rows == 4


def test_no_temporary_files_remain(tmp_path: Path) -> None:
    writer = PredictionLogWriter(tmp_path)
    writer.append(entry("r"))
    writer.flush()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_reading_an_empty_log_gives_an_empty_table(tmp_path: Path) -> None:
    assert read_predictions(tmp_path).num_rows == 0
