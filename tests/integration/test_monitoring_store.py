"""The monitoring store on real files: segments written by the model server's own prediction-log
writer, ground truth joined by request id and row, window summaries, compaction; and the
monitoring tables and leases on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from steward.core.errors import InvalidArgument
from steward.monitoring.ingest import ingest_labels, ingest_predictions
from steward.monitoring.segments import live_files, summary_path
from steward.monitoring.store import MonitoringStore
from steward.monitoring.summaries import summarise
from steward.monitoring.windows import HOUR, MINUTE, Window, parse_iso
from steward.runtime import Runtime
from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.prediction_log import LogEntry, PredictionLogWriter, read_predictions
from steward.serving.predictor import Prediction
from steward.store.base import load_all_tables

T0 = parse_iso("2024-05-01T10:00:00Z")
SIGNATURE = {"inputs": [{"name": "age", "type": "double"}, {"name": "job", "type": "string"}]}


def _write_log(root: Path, *, requests: int = 120, rows_per_request: int = 3, flush_every: int = 10) -> None:
    """Requests every 90 s from 10:00 (three hour partitions), one segment per ``flush_every``."""
    writer = PredictionLogWriter(root)
    writer.register("churn", "3", InputSchema.from_signature(SIGNATURE))
    rng = np.random.default_rng(0)
    for i in range(requests):
        n = rows_per_request
        batch = FeatureBatch(
            n, columns={"age": rng.normal(40, 10, n), "job": np.array(rng.choice(["a", "b", "c"], n), dtype=object)}
        )
        p = rng.random(n)
        pred = Prediction((p >= 0.5).astype(int), np.column_stack([1 - p, p]))
        writer.append(LogEntry("churn", "churn", "3", f"req-{i}", T0 + i * 90_000, 4.0 + i % 7, batch, pred))
        if i % flush_every == flush_every - 1:
            writer.flush()
    writer.close()


@pytest.fixture
def store(tmp_path: Path) -> MonitoringStore:
    _write_log(tmp_path / "log")
    return MonitoringStore(tmp_path / "log", tmp_path / "labels")


def test_window_summaries_of_the_servers_segments_match_the_rows(store: MonitoringStore) -> None:
    assert store.deployments() == ["churn"]
    assert store.hours("churn") == ["2024-05-01T10", "2024-05-01T11", "2024-05-01T12"]
    rows = read_predictions(store.predictions, deployment="churn")
    everything = store.window_summary("churn", Window(T0, T0 + 3 * HOUR))
    direct = summarise(rows)
    assert everything.primary_rows == direct.primary_rows == rows.num_rows == 360
    assert everything.requests == 120 and everything.versions == {"3": 360}
    age = everything.features["age"]
    assert age.mean_ == pytest.approx(direct.features["age"].mean_, rel=1e-12)  # type: ignore[union-attr]
    assert everything.features["job"].counts_ == direct.features["job"].counts_  # type: ignore[union-attr]
    assert all(summary_path(p).exists() for h in store.hours("churn") for p in store.segments("churn", h))
    # A window cut inside segments: only those rows, read and summarised on the fly.
    cut = Window(T0 + 20 * MINUTE, T0 + 75 * MINUTE)
    ms = (rows["timestamp"].to_pandas() - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    inside = int(((ms >= cut.start_ms) & (ms < cut.end_ms)).sum())
    partial = store.window_summary("churn", cut)
    assert partial.primary_rows == inside == 36 * 3
    assert store.window_summary("churn", Window(T0 - HOUR, T0)).primary_rows == 0


def test_labels_join_by_request_id_and_row_and_the_latest_wins(store: MonitoringStore, tmp_path: Path) -> None:
    window = Window(T0, T0 + 3 * HOUR)
    preds = store.labelled("churn", window).to_pandas()
    first = preds[preds["request_id"] == "req-5"].sort_values("row")
    truth = [
        {"request_id": "req-5", "row": int(r), "label": p}
        for r, p in zip(first["row"], first["prediction"], strict=True)
    ]
    truth.append({"request_id": "never-predicted", "row": 0, "label": 1})
    assert ingest_labels(store, "churn", truth, now_ms=T0 + HOUR).rows == 4
    csv = tmp_path / "late.csv"
    flipped = 1 - int(first["prediction"].iloc[0])
    csv.write_text(f"request_id,row,outcome\nreq-5,0,{flipped}\nreq-7,2,1\n")
    ingest_labels(store, "churn", csv, label_column="outcome", now_ms=T0 + 2 * HOUR)
    joined = store.labelled("churn", window).to_pandas()
    assert len(joined) == 360 and joined["label"].notna().sum() == 4
    r5 = joined[joined["request_id"] == "req-5"].set_index("row")
    assert r5.loc[0, "label"] == str(flipped) and not r5.loc[0, "correct"]  # the later file wins
    assert bool(r5.loc[1, "correct"]) and bool(r5.loc[2, "correct"])
    assert joined["score"].between(0, 1).all()
    with pytest.raises(InvalidArgument, match="request_id"):
        ingest_labels(store, "churn", [{"label": 1}])
    with pytest.raises(InvalidArgument, match="label"):
        ingest_labels(store, "churn", [{"request_id": "x", "label": None}])


def test_compaction_merges_closed_hours_and_counts_every_row_once(store: MonitoringStore) -> None:
    before = {h: len(store.segments("churn", h)) for h in store.hours("churn")}
    assert all(n >= 2 for n in before.values())
    whole = Window(T0, T0 + 3 * HOUR)
    expected = store.window_summary("churn", whole)
    now = T0 + 2 * HOUR + 30 * MINUTE  # 12:30: only 10:00 and 11:00 are closed
    result = store.compact(now_ms=now)
    assert result.partitions == 2 and result.rows == 80 * 3 and not result.errors
    assert [len(store.segments("churn", h)) for h in store.hours("churn")] == [1, 1, before["2024-05-01T12"]]
    after = store.window_summary("churn", whole)
    assert after.primary_rows == expected.primary_rows == 360
    assert after.features["job"].counts_ == expected.features["job"].counts_  # type: ignore[union-attr]
    assert read_predictions(store.predictions, deployment="churn").num_rows == 360
    assert store.compact(now_ms=now).partitions == 0  # nothing left to do


def test_an_interrupted_compaction_never_double_counts_and_is_finished_later(store: MonitoringStore) -> None:
    folder = store.predictions / "deployment=churn" / "hour=2024-05-01T10"
    sources = live_files(folder)
    # A crash after the new file was renamed into place, before the old ones were deleted:
    merged = folder / "compact-1-crashed.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(p) for p in sources]), merged)
    (folder / ".compact-1-crashed.json").write_text(
        json.dumps({"target": merged.name, "replaces": [p.name for p in sources]})
    )
    assert live_files(folder) == [merged]
    assert store.window_summary("churn", Window(T0, T0 + HOUR)).primary_rows == 40 * 3
    store.compact(now_ms=T0 + 5 * HOUR)
    assert not any(p.exists() for p in sources) and not (folder / ".compact-1-crashed.json").exists()
    assert store.window_summary("churn", Window(T0, T0 + HOUR)).primary_rows == 120


def test_predictions_from_elsewhere_are_ingested_by_hour(tmp_path: Path) -> None:
    store = MonitoringStore(tmp_path / "log", tmp_path / "labels")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, 500),
            "job": rng.choice(["a", "b"], 500),
            "prediction": rng.integers(0, 2, 500),
            "score": rng.random(500),
            "timestamp": T0 + np.arange(500) * 20_000,  # 10:00 .. 12:46
        }
    )
    result = ingest_predictions(store, "batch", frame, model_version="7")
    assert result.rows == 500 and result.segments == 3
    s = store.window_summary("batch", Window(T0, T0 + 3 * HOUR))
    assert s.primary_rows == 500 and s.versions == {"7": 500} and s.score is not None
    assert s.prediction is not None and s.prediction.kind == "categorical"
    assert set(s.prediction.counts_) == {"0", "1"}  # type: ignore[union-attr]
    with pytest.raises(InvalidArgument, match="prediction"):
        ingest_predictions(store, "batch", frame.drop(columns="prediction"))
    with pytest.raises(InvalidArgument, match="deployment name"):
        ingest_predictions(store, "../etc", frame)


def test_migration_creates_exactly_the_monitoring_tables(store_runtime: Runtime) -> None:
    with store_runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_all_tables())
    assert [d for d in diff if "monitoring_" in repr(d)] == []


def test_a_lease_is_held_by_one_replica_until_it_expires(store_runtime: Runtime) -> None:
    rt = store_runtime
    with rt.uow() as uow:
        assert uow.monitoring.acquire("monitor:churn", "a", 1_000, 5_000)
        uow.commit()
    with rt.uow() as uow:
        assert not uow.monitoring.acquire("monitor:churn", "b", 2_000, 5_000)
        uow.commit()
    with rt.uow() as uow:
        uow.monitoring.release("monitor:churn", "a", 3_000, "ok", keep_until=10_000)
        uow.commit()
    with rt.uow() as uow:
        assert not uow.monitoring.acquire("monitor:churn", "b", 9_999, 5_000)
        assert uow.monitoring.acquire("monitor:churn", "b", 10_000, 5_000)
        uow.commit()
        lease = uow.monitoring.lease("monitor:churn")
        assert lease is not None and lease.holder == "b" and lease.last_status == "ok"


def test_at_most_one_firing_alert_per_deployment_and_rule(store_runtime: Runtime) -> None:
    row = {
        "deployment": "churn",
        "rule": "data_drift",
        "dedup_key": "monitoring:churn:data_drift",
        "severity": "warning",
        "metric": "data_drift",
        "window": "1d",
        "threshold": 0.1,
        "value": 0.5,
        "fired_at": 1,
        "last_notified_at": 1,
        "last_evaluated_at": 1,
        "resolved_at": None,
        "ok_streak": 0,
        "run_id": None,
        "evidence_sha256": None,
        "retrain": None,
        "message": "",
    }
    with store_runtime.uow() as uow:
        uow.monitoring.add_alert(id="a1", state="resolved", **row)
        uow.monitoring.add_alert(id="a2", state="firing", **row)
        uow.commit()
    with store_runtime.uow() as uow, pytest.raises(IntegrityError):
        uow.monitoring.add_alert(id="a3", state="firing", **row)
