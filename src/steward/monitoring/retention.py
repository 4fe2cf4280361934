"""Retention of the monitoring store: raw prediction-log rows and labels older than a cutoff go.

A partition (hour) that ends before the cutoff is deleted whole; a segment of the partition
that holds the cutoff is deleted if all its rows are older, and rewritten without them if it
straddles the cutoff. A rewrite follows compaction's manifest protocol
(:mod:`steward.monitoring.segments`): the new file under a temporary name, a manifest naming
the file it replaces, the rename, then the delete. A crash leaves the old or the new segment,
never neither, and readers skip a replaced file as soon as its replacement exists. Each
deployment's folder is rewritten under :meth:`MonitoringStore.rewrite_lock`, the lock
compaction takes, so no two processes rewrite the same segment.

Predictions are cut by ``timestamp``, labels by ``ingested_at`` (they are partitioned by the
hour they arrived, which is never before their prediction's). Monitor runs and reports stored
in the database are kept. A dry run reads the same files and changes nothing; its figures
(bytes freed included: a straddling segment is rewritten into memory) are those a real purge
would report.

>>> report = purge(store, {"churn": now - 90 * DAY})  # doctest: +SKIP
>>> report.totals()["rows_removed"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steward.monitoring.segments import COMPACT_PREFIX, finish_interrupted, live_files, summary_path, write_atomic
from steward.monitoring.store import MonitoringStore
from steward.monitoring.windows import DAY, HOUR, format_ms, hour_start

if TYPE_CHECKING:
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.monitoring.retention")
TABLES = {"predictions": "timestamp", "labels": "ingested_at"}


@dataclass
class TablePurge:
    """What a purge removed (or would remove) from one table of one deployment."""

    segments_removed: int = 0
    segments_rewritten: int = 0
    rows_removed: int = 0
    bytes_freed: int = 0


@dataclass
class PurgeReport:
    dry_run: bool
    cutoffs: dict[str, int]
    tables: dict[str, dict[str, TablePurge]] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        out = asdict(TablePurge())
        for per_table in self.tables.values():
            for counts in per_table.values():
                for key, value in asdict(counts).items():
                    out[key] += value
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "deployments": {
                dep: {
                    "cutoff": format_ms(self.cutoffs[dep]),
                    "cutoff_ms": self.cutoffs[dep],
                    **{t: asdict(c) for t, c in self.tables.get(dep, {}).items()},
                }
                for dep in sorted(self.cutoffs)
            },
            "totals": self.totals(),
            "busy": self.busy,
            "errors": self.errors,
        }


def retention_cutoffs(
    uow: UnitOfWork, store: MonitoringStore, now_ms: int, *, deployment: str | None = None
) -> dict[str, int]:
    """The cutoff of every deployment in the store (or of ``deployment``): its monitor's
    ``options.retention_days`` if set, else the store's default; 0 days (keep) is left out."""
    overrides: dict[str, int] = {
        r.deployment: int(r.options["retention_days"])
        for r in uow.monitoring.monitors()
        if isinstance(r.options, dict) and r.options.get("retention_days") is not None
    }
    deployments = [deployment] if deployment else store.all_deployments()
    out = {}
    for dep in deployments:
        days = overrides.get(dep, store.retention_days)
        if days > 0:
            out[dep] = now_ms - days * DAY
    return out


def purge(
    store: MonitoringStore, cutoffs: dict[str, int], *, dry_run: bool = False, lock_timeout_s: float = 0.0
) -> PurgeReport:
    """Remove the rows older than ``cutoffs[deployment]`` from both tables of each deployment."""
    report = PurgeReport(dry_run=dry_run, cutoffs=dict(cutoffs))
    for dep, cutoff in sorted(cutoffs.items()):
        for table, column in TABLES.items():
            # A dry run only reads (and leaves no lock file behind).
            lock = contextlib.nullcontext(True) if dry_run else store.rewrite_lock(table, dep, timeout_s=lock_timeout_s)
            with lock as locked:
                if not locked:
                    report.busy.append(f"{dep}/{table}")
                    continue
                counts = _purge_table(store, table, column, dep, cutoff, dry_run, report.errors)
            report.tables.setdefault(dep, {})[table] = counts
            if table == "predictions" and counts.rows_removed and not dry_run:
                store.mark_purged(dep, cutoff)
        counts_all = report.tables.get(dep, {})
        log.info(
            "monitoring retention purge",
            extra={
                "ctx_audit": True,
                "ctx_deployment": dep,
                "ctx_cutoff": format_ms(cutoff),
                "ctx_dry_run": dry_run,
                **{f"ctx_{t}": asdict(c) for t, c in counts_all.items()},
            },
        )
    return report


def _purge_table(
    store: MonitoringStore, table: str, column: str, dep: str, cutoff: int, dry_run: bool, errors: list[str]
) -> TablePurge:
    counts = TablePurge()
    for hour in store.hours(dep, table):
        start = hour_start(hour)
        if start >= cutoff:
            break  # partitions are in time order
        folder = store.folder(table, dep, hour)
        try:
            if not dry_run:
                finish_interrupted(folder)
            whole = start + HOUR <= cutoff
            for path in live_files(folder):
                _purge_segment(folder, path, column, cutoff, whole, dry_run, counts)
            if whole and not dry_run:
                _remove_folder(folder)
        except (OSError, pa.ArrowInvalid, KeyError) as exc:  # one bad partition must not stop the rest
            errors.append(f"{folder}: {exc}")
    return counts


def _purge_segment(
    folder: Path, path: Path, column: str, cutoff: int, whole: bool, dry_run: bool, counts: TablePurge
) -> None:
    size = path.stat().st_size + _size(summary_path(path))
    if whole:
        counts.rows_removed += pq.read_metadata(path).num_rows
    else:
        rows = pq.read_table(path)
        keep = pc.fill_null(pc.greater_equal(_millis(rows[column]), cutoff), True)
        kept = rows.filter(keep)
        if kept.num_rows == rows.num_rows:
            return
        counts.rows_removed += rows.num_rows - kept.num_rows
        if kept.num_rows:
            counts.segments_rewritten += 1
            counts.bytes_freed += size - _rewrite(folder, path, kept, dry_run)
            return
    counts.segments_removed += 1
    counts.bytes_freed += size
    if not dry_run:
        path.unlink(missing_ok=True)
        summary_path(path).unlink(missing_ok=True)


def _rewrite(folder: Path, path: Path, kept: pa.Table, dry_run: bool) -> int:
    """Replace ``path`` by ``kept`` (manifest protocol, see the module docstring); its size."""
    if dry_run:
        sink = pa.BufferOutputStream()
        pq.write_table(kept, sink, compression="zstd")
        return int(sink.getvalue().size)
    name = f"retained-{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
    # The compaction prefix on the temporary file and the manifest: finish_interrupted knows them.
    tmp = folder / f".{COMPACT_PREFIX}{name}.tmp"
    manifest = folder / f".{COMPACT_PREFIX}{name.removesuffix('.parquet')}.json"
    pq.write_table(kept, tmp, compression="zstd")
    write_atomic(manifest, json.dumps({"target": name, "replaces": [path.name]}).encode())
    os.replace(tmp, folder / name)
    path.unlink(missing_ok=True)
    summary_path(path).unlink(missing_ok=True)
    manifest.unlink(missing_ok=True)
    return (folder / name).stat().st_size


def _remove_folder(folder: Path) -> None:
    """Delete an emptied partition with its leftovers (summaries, manifests, old temporaries)."""
    if any(p for p in folder.glob("*.parquet") if not p.name.startswith(".")):
        return  # a segment appeared meanwhile: keep the partition, the next purge removes it
    for leftover in folder.iterdir():
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: something arrived meanwhile
        folder.rmdir()


def _millis(col: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(col.type):
        col = pc.cast(col, pa.timestamp("ms", tz=col.type.tz), safe=False)  # sub-millisecond parts dropped
    return pc.cast(col, pa.int64())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
