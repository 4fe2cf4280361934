"""Retention of the monitoring store on real Parquet files: rows before the cutoff go, newer
rows stay (row sets compared), a straddling segment is rewritten, labels alike, a dry run
changes nothing; the scheduler's daily job, ``steward monitor purge --json`` and its bad input."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.support.cli import cli_home
from typer.testing import CliRunner, Result

from steward.cli.main import app
from steward.core.clock import now_ms
from steward.core.errors import InvalidArgument
from steward.core.logging import JsonFormatter
from steward.monitoring.ingest import ingest_labels
from steward.monitoring.models import MonitorConfig
from steward.monitoring.retention import purge
from steward.monitoring.runner import run_monitor
from steward.monitoring.scheduler import RETENTION_JOB, MonitoringScheduler
from steward.monitoring.segments import live_files
from steward.monitoring.service import MonitoringDeps, configure_monitor
from steward.monitoring.store import MonitoringStore
from steward.monitoring.windows import DAY, HOUR, MINUTE, Window, hour_key, hour_start, parse_iso
from steward.runtime import Runtime
from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.prediction_log import LogEntry, PredictionLogWriter
from steward.serving.predictor import Prediction

T0 = parse_iso("2024-05-01T10:00:00Z")
SIGNATURE = {"inputs": [{"name": "age", "type": "double"}]}
CUTOFF = T0 + 3 * HOUR + 30 * MINUTE  # inside the segment holding the requests of 13:20 and 13:40


def _log(root: Path, deployment: str, start: int, *, requests: int = 30, step: int = 20 * MINUTE) -> None:
    """The model server's own writer: one request (2 rows) every ``step``, a segment per 2 requests."""
    writer = PredictionLogWriter(root)
    writer.register(deployment, "1", InputSchema.from_signature(SIGNATURE))
    rng = np.random.default_rng(0)
    for i in range(requests):
        batch = FeatureBatch(2, columns={"age": rng.normal(40, 10, 2)})
        p = rng.random(2)
        pred = Prediction((p >= 0.5).astype(int), np.column_stack([1 - p, p]))
        writer.append(LogEntry(deployment, deployment, "1", f"req-{i}", start + i * step, 4.0, batch, pred))
        if i % 2 == 1:
            writer.flush()
    writer.close()


def _rows(store: MonitoringStore, deployment: str, table: str = "predictions") -> set[tuple[str, int, int]]:
    """(request_id, row, time in ms) of every live row."""
    column = "timestamp" if table == "predictions" else "ingested_at"
    out: set[tuple[str, int, int]] = set()
    for hour in store.hours(deployment, table):
        for path in store.segments(deployment, hour, table):
            t = pq.read_table(path, columns=["request_id", "row", column])
            ms = t[column].cast(pa.int64()).to_pylist()
            out.update(zip(t["request_id"].to_pylist(), t["row"].to_pylist(), ms, strict=True))
    return out


def _files(*roots: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for root in roots
        if root.is_dir()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _data_bytes(*roots: Path) -> int:
    """Bytes of segments and their cached summaries (what a purge frees)."""
    return sum(
        p.stat().st_size
        for root in roots
        if root.is_dir()
        for p in root.rglob("*")
        if p.is_file() and (p.name.endswith(".parquet") or p.name.endswith(".summary"))
    )


@pytest.fixture
def store(tmp_path: Path) -> MonitoringStore:
    s = MonitoringStore(tmp_path / "log", tmp_path / "labels")
    _log(s.predictions, "churn", T0)  # 10:00 to 19:40
    for h in range(6):  # a label batch per hour from 10:30: three before the cutoff
        ids = [f"req-{3 * h}", f"req-{3 * h + 1}"]
        ingest_labels(s, "churn", pa.table({"request_id": ids, "label": [1, 0]}), now_ms=T0 + h * HOUR + 30 * MINUTE)
    return s


def test_purge_removes_rows_before_the_cutoff_and_keeps_the_rest(store: MonitoringStore) -> None:
    before, labels_before = _rows(store, "churn"), _rows(store, "churn", "labels")
    store.segment_summary(store.segments("churn", "2024-05-01T10")[0])  # a cached summary goes too
    freed_expected = _data_bytes(store.predictions, store.labels)
    straddling = [p.name for p in store.segments("churn", "2024-05-01T13")]

    report = purge(store, {"churn": CUTOFF})

    assert _rows(store, "churn") == {r for r in before if r[2] >= CUTOFF}
    assert _rows(store, "churn", "labels") == {r for r in labels_before if r[2] >= CUTOFF}
    assert store.hours("churn")[0] == "2024-05-01T13"  # whole hours before the cutoff deleted
    assert not (store.predictions / "deployment=churn" / "hour=2024-05-01T10").exists()
    kept = [p.name for p in store.segments("churn", "2024-05-01T13")]
    assert kept[-1].startswith("retained-") and straddling[-1] not in kept  # the 13:20/13:40 segment
    preds, labels = report.tables["churn"]["predictions"], report.tables["churn"]["labels"]
    assert preds.rows_removed == len(before) - len(_rows(store, "churn")) == 22
    assert preds.segments_rewritten == 1
    assert labels.rows_removed == 6 and labels.segments_removed == 3
    freed = freed_expected - _data_bytes(store.predictions, store.labels)
    assert report.totals()["bytes_freed"] == freed > 0
    leftovers = [p.name for p in store.predictions.rglob("*") if p.name.endswith((".tmp", ".json"))]
    assert leftovers == [".retention.json"]  # no temporary file or manifest left behind


def test_a_dry_run_changes_nothing_and_reports_what_the_purge_then_does(store: MonitoringStore) -> None:
    files = _files(store.predictions, store.labels)
    dry = purge(store, {"churn": CUTOFF}, dry_run=True)
    assert _files(store.predictions, store.labels) == files
    assert store.purged_before("churn") is None
    real = purge(store, {"churn": CUTOFF})
    assert dry.to_dict()["totals"] == real.to_dict()["totals"]
    assert dry.totals()["rows_removed"] == 22 + 6


def test_a_window_before_the_purge_is_refused_not_read_as_empty(store: MonitoringStore) -> None:
    old = Window(T0, T0 + HOUR)
    assert store.window_summary("churn", old).rows == 6
    purge(store, {"churn": CUTOFF})
    assert store.purged_before("churn") == CUTOFF
    with pytest.raises(InvalidArgument, match=r"starts before 2024-05-01T13:30:00Z.*purged by the retention"):
        store.window_summary("churn", old)
    with pytest.raises(InvalidArgument, match="purged"):
        store.labelled("churn", old)
    assert store.window_summary("churn", Window(CUTOFF, T0 + 10 * HOUR)).rows == len(_rows(store, "churn"))


def test_a_monitor_run_over_a_purged_window_says_so(runtime: Runtime) -> None:
    deps = MonitoringDeps.from_runtime(runtime)
    _log(deps.store.predictions, "churn", T0)
    purge(deps.store, {"churn": CUTOFF})
    ref = {"window": {"start": "2024-05-01T14:00:00Z", "end": "2024-05-01T18:00:00Z"}}
    cfg = MonitorConfig.parse({"reference": ref})
    with pytest.raises(InvalidArgument, match="purged by the retention policy"):
        run_monitor(deps, "churn", now_ms=T0 + HOUR, windows=["1h"], config=cfg)
    with runtime.uow() as uow:
        assert uow.monitoring.runs("churn") == []  # nothing recorded as "no drift"
    recent = run_monitor(deps, "churn", now_ms=T0 + 10 * HOUR, windows=["1h"], config=cfg)
    assert recent.runs[0].metrics["rows"] == 6  # 19:00, 19:20, 19:40


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_each_purge_leaves_an_audit_line(store: MonitoringStore) -> None:
    handler = _Collect()
    logger = logging.getLogger("steward.monitoring.retention")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        purge(store, {"churn": CUTOFF})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    doc = json.loads(JsonFormatter().format(handler.records[0]))
    assert (doc["msg"], doc["audit"], doc["deployment"], doc["cutoff"]) == (
        "monitoring retention purge",
        True,
        "churn",
        "2024-05-01T13:30:00Z",
    )
    assert doc["predictions"]["rows_removed"] == 22 and doc["labels"]["rows_removed"] == 6


def test_a_rewrite_interrupted_after_the_rename_leaves_one_copy_of_each_row(store: MonitoringStore) -> None:
    """The state a crash leaves between the rename and the delete: readers skip the old file."""
    folder = store.folder("predictions", "churn", "2024-05-01T13")
    old = store.segments("churn", "2024-05-01T13")[-1]
    kept = pq.read_table(old).slice(2)
    pq.write_table(kept, folder / "retained-1-abcd.parquet")
    (folder / ".compact-retained-1-abcd.json").write_text(
        json.dumps({"target": "retained-1-abcd.parquet", "replaces": [old.name]})
    )
    assert old not in live_files(folder)
    purge(store, {"churn": CUTOFF})  # finishes the interrupted one first
    assert not old.exists() and not list(folder.glob(".compact-*"))
    live = [p for h in store.hours("churn") for p in store.segments("churn", h)]
    assert sum(pq.read_metadata(p).num_rows for p in live) == len(_rows(store, "churn")) == 60 - 22


def test_compaction_waits_for_a_purge_holding_the_rewrite_lock(store: MonitoringStore) -> None:
    with store.rewrite_lock("predictions", "churn") as held:
        assert held
        assert store.compact(now_ms=T0 + DAY).partitions == 0
        report = purge(store, {"churn": CUTOFF})
        assert report.busy == ["churn/predictions"]
    assert store.compact(now_ms=T0 + DAY).partitions > 0


def test_the_scheduler_purges_daily_with_a_per_deployment_retention(runtime: Runtime) -> None:
    deps = MonitoringDeps.from_runtime(runtime)
    assert deps.store.retention_days == 90
    _log(deps.store.predictions, "short", T0, requests=4)
    _log(deps.store.predictions, "long", T0, requests=4)
    with runtime.uow() as uow:
        configure_monitor(uow, "short", MonitorConfig.parse("options: {retention_days: 1}"))
        uow.commit()
    scheduler = MonitoringScheduler(deps, holder="a")
    results = {r.job: r.status for r in scheduler.tick(T0 + 2 * DAY)}
    assert results[RETENTION_JOB].startswith("ok: 8 rows, 2 segments removed, 0 rewritten, "), results
    assert deps.store.hours("short") == [] and len(_rows(deps.store, "long")) == 8
    assert RETENTION_JOB not in {r.job for r in scheduler.tick(T0 + 2 * DAY + HOUR)}  # once a day
    with runtime.uow() as uow:
        lease = uow.monitoring.lease(RETENTION_JOB)
        assert lease is not None and lease.last_status is not None and lease.last_status.startswith("ok: 8 rows")
    later = {r.job: r.status for r in scheduler.tick(T0 + 91 * DAY)}
    assert later[RETENTION_JOB].startswith("ok: 8 rows") and deps.store.hours("long") == []


# -- the command ------------------------------------------------------------------------------------
def steward(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with cli_home(tmp_path, monkeypatch):
        yield tmp_path


def test_purge_command_reports_the_right_figures(home: Path) -> None:
    store = MonitoringStore(home / "prediction-log", home / "monitoring" / "labels")
    hour = hour_start(hour_key(now_ms() - 30 * HOUR))
    _log(store.predictions, "api", hour - 3 * HOUR, requests=15)  # from 3 h before that hour to 1:40 after
    cutoff = hour + 30 * MINUTE  # the CLI's clock runs a little later: no row within minutes of it
    before = _rows(store, "api")
    size = _data_bytes(store.predictions, store.labels)
    files = _files(store.predictions)
    older = f"{now_ms() - cutoff}ms"

    dry = steward("monitor", "purge", "api", "--older-than", older, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert _files(store.predictions) == files
    out = steward("monitor", "purge", "--older-than", older, "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    gone = {r for r in before if r[2] < cutoff}
    assert _rows(store, "api") == before - gone
    assert doc["totals"] == {
        "rows_removed": len(gone),
        "segments_removed": 7,
        "segments_rewritten": 1,
        "bytes_freed": size - _data_bytes(store.predictions, store.labels),
    }
    assert json.loads(dry.stdout)["totals"] == doc["totals"] and json.loads(dry.stdout)["dry_run"] is True
    assert len(gone) == doc["deployments"]["api"]["predictions"]["rows_removed"] == 22


@pytest.mark.parametrize("value", ["30x", "-1d", "0d", "soon"])
def test_purge_command_names_a_bad_older_than(home: Path, value: str) -> None:
    out = steward("monitor", "purge", "--older-than", value)
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--older-than" in lines[0] and value in lines[0], out.output
