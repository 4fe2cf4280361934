"""Segment files of the monitoring store: atomic writes, the summary cached beside each
segment, and compaction with a manifest, so that readers never count a row twice.

Compaction of a partition writes the merged file under a temporary name, then a manifest
(``.compact-<id>.json``) naming the files it replaces, renames the merged file into place, and
deletes the replaced files and the manifest. :func:`live_files` leaves out every file a
manifest names when the manifest's own file exists; :func:`finish_interrupted` completes (or
undoes) what a crash left between those steps.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from steward.monitoring.summaries import SegmentSummary

COMPACT_PREFIX = "compact-"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name and rename it into place."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def summary_path(segment: Path) -> Path:
    return segment.with_name(f".{segment.name}.summary")


def _manifests(folder: Path) -> Iterator[tuple[Path, Path, list[str]]]:
    for manifest in folder.glob(f".{COMPACT_PREFIX}*.json"):
        try:
            doc = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        yield manifest, folder / str(doc["target"]), [str(n) for n in doc["replaces"]]


def live_files(folder: Path) -> list[Path]:
    """Segments of a partition, without those a finished compaction replaced."""
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    replaced: set[str] = set()
    for _, target, names in _manifests(folder):
        if target.exists():
            replaced.update(names)
    return [p for p in files if p.name not in replaced]


def finish_interrupted(folder: Path) -> None:
    """Complete or undo compactions a crash interrupted."""
    for manifest, target, names in _manifests(folder):
        if target.exists():
            for name in names:
                for path in (folder / name, summary_path(folder / name)):
                    path.unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
    for tmp in folder.glob(f".{COMPACT_PREFIX}*.tmp"):
        if tmp.stat().st_mtime < time.time() - 3600:
            tmp.unlink(missing_ok=True)


def compact_folder(
    folder: Path, files: Sequence[Path], summary_of: Callable[[Path], SegmentSummary] | None = None
) -> int:
    """Merge ``files`` of one partition into one file and return its rows (see
    :meth:`~steward.monitoring.store.MonitoringStore.compact`); ``summary_of`` gives each
    source's summary, merged into the new file's."""
    schemas = [pq.read_schema(p) for p in files]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    name = f"{COMPACT_PREFIX}{int(time.time() * 1000)}-{uuid.uuid4().hex[:8]}.parquet"
    target = folder / name
    tmp = folder / f".{name}.tmp"
    rows = 0
    summary: SegmentSummary | None = None
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for path in files:  # one source at a time: memory stays at one segment
            t = pq.read_table(path)
            writer.write_table(_conform(t, schema))
            rows += t.num_rows
            if summary_of is not None:
                part = summary_of(path)
                summary = part if summary is None else summary.merge(part)
    if summary is not None:
        write_atomic(summary_path(target), summary.to_bytes())
    manifest = folder / f".{name.removesuffix('.parquet')}.json"
    write_atomic(manifest, json.dumps({"target": name, "replaces": [p.name for p in files]}).encode())
    os.replace(tmp, target)
    for path in files:
        path.unlink(missing_ok=True)
        summary_path(path).unlink(missing_ok=True)
    manifest.unlink(missing_ok=True)
    return rows


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for fld in schema:
        if fld.name in table.column_names:
            col = table[fld.name]
            columns.append(col if col.type == fld.type else col.cast(fld.type))
        else:
            columns.append(pa.nulls(table.num_rows, fld.type))
    return pa.table(columns, schema=schema)
