"""The monitoring store: the prediction log, ground truth joined to it, and summaries of both.

Layout (Hive-style partitions, append-only Parquet segments, read with pyarrow and DuckDB)::

    <predictions>/deployment=<name>/hour=<YYYY-MM-DDTHH>/part-*.parquet       the model server's log
    <predictions>/deployment=<name>/hour=<...>/.part-*.parquet.summary        cached summary, beside
    <labels>/deployment=<name>/hour=<ingest hour>/labels-*.parquet            ground truth

``<predictions>`` is the model server's prediction-log folder (``STEWARD_HOME/prediction-log``
by default), so whatever ``steward serve`` logs is monitored without a copy. Ground truth is
partitioned by the hour it arrived: a label cannot arrive before its prediction, so the labels
of a window that starts at ``t`` are all in partitions from ``hour(t)`` on.

Summaries. Each segment's :class:`~steward.monitoring.summaries.SegmentSummary` is computed
once, on first use, and cached beside the segment (``.<segment>.summary``); a window's summary
merges the cached summaries of the segments inside it, and summarises on the fly only the rows
of the segments cut by its edges.

Compaction. The model server writes a segment per second per deployment; :meth:`compact`
rewrites the segments of each closed hour into one file. It writes the new file and a manifest
naming the files it replaces, renames the new file into place, then deletes the old ones and
the manifest. Readers of this store skip files named by a manifest whose file exists, so they
never count a row twice, even after a crash between the steps (the next compaction finishes
the job). Plain glob readers (``serving.prediction_log.scan_sql``) may see both for the
milliseconds between the rename and the deletes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from steward.core.config import Settings
from steward.core.errors import InvalidArgument
from steward.monitoring.segments import compact_folder, finish_interrupted, live_files, summary_path, write_atomic
from steward.monitoring.summaries import SUMMARY_SAMPLE_CAP, SegmentSummary, summarise
from steward.monitoring.windows import (
    HOUR,
    MINUTE,
    Window,
    format_ms,
    hour_fully_inside,
    hour_key,
    hour_start,
    hours_of,
)

T = TypeVar("T")
_RETRIES = 3
RETENTION_MARK = ".retention.json"
LOCK_NAME = ".rewrite.lock"


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


_DEPLOYMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_deployment(deployment: str) -> str:
    """A deployment name as the model server accepts it (it names a folder here)."""
    if not isinstance(deployment, str) or not _DEPLOYMENT.match(deployment):
        raise InvalidArgument(
            "A deployment name is 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit. "
            f"Got {deployment!r} instead.",
            field="deployment",
        )
    return deployment


@dataclass
class CompactionResult:
    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)


class MonitoringStore:
    """Prediction log + labels + summaries on a local folder (see the module docstring).

    Parameters:
        predictions: the prediction-log root the model server writes.
        labels: the root of ingested ground truth.
        sample_cap: bottom-k sample size of the numeric sketches in summaries.
        retention_days: default retention of raw rows (0 keeps them forever); a monitor's
            ``options.retention_days`` overrides it for its deployment.
    """

    def __init__(
        self,
        predictions: str | Path,
        labels: str | Path,
        *,
        sample_cap: int = SUMMARY_SAMPLE_CAP,
        retention_days: int = 0,
    ) -> None:
        self.predictions = Path(predictions)
        self.labels = Path(labels)
        self.sample_cap = sample_cap
        self.retention_days = retention_days

    @classmethod
    def from_settings(cls, settings: Settings) -> MonitoringStore:
        home = Path(settings.home).resolve()
        return cls(
            home / "prediction-log",
            home / "monitoring" / "labels",
            retention_days=settings.monitoring_retention_days,
        )

    # -- listing ------------------------------------------------------------------------------
    def deployments(self) -> list[str]:
        """Deployments with at least one hour partition of predictions."""
        if not self.predictions.is_dir():
            return []
        return sorted(p.name.split("=", 1)[1] for p in self.predictions.glob("deployment=*") if p.is_dir())

    def all_deployments(self) -> list[str]:
        """Deployments with predictions or labels."""
        return sorted(set(self._deployments("predictions")) | set(self._deployments("labels")))

    def hours(self, deployment: str, table: str = "predictions") -> list[str]:
        """The hour partitions of a deployment, in order."""
        root = self._root(table) / f"deployment={check_deployment(deployment)}"
        if not root.is_dir():
            return []
        return sorted(p.name.split("=", 1)[1] for p in root.glob("hour=*") if p.is_dir())

    def segments(self, deployment: str, hour: str, table: str = "predictions") -> list[Path]:
        """The live segments of one partition (files replaced by a compaction left out)."""
        return live_files(self._folder(table, deployment, hour))

    def window_segments(self, deployment: str, window: Window, table: str = "predictions") -> list[Path]:
        hours = set(self.hours(deployment, table))
        return [p for h in hours_of(window) if h in hours for p in self.segments(deployment, h, table)]

    def folder(self, table: str, deployment: str, hour: str) -> Path:
        """The folder of one hour partition."""
        return self._folder(table, deployment, hour)

    def _root(self, table: str) -> Path:
        if table == "predictions":
            return self.predictions
        if table == "labels":
            return self.labels
        raise InvalidArgument(f"The table must be 'predictions' or 'labels'. Got {table!r}.", field="table")

    def _folder(self, table: str, deployment: str, hour: str) -> Path:
        return self._root(table) / f"deployment={check_deployment(deployment)}" / f"hour={hour}"

    # -- summaries ----------------------------------------------------------------------------
    def segment_summary(self, path: Path) -> SegmentSummary:
        """The cached summary of a segment, computed and cached on first use."""
        cache = summary_path(path)
        try:
            summary = SegmentSummary.from_bytes(cache.read_bytes())
            if summary.sample_cap == self.sample_cap:
                return summary
        except (FileNotFoundError, ValueError, KeyError, OSError):
            pass
        summary = summarise(pq.read_table(path), sample_cap=self.sample_cap, seed=zlib.crc32(path.name.encode()))
        write_atomic(cache, summary.to_bytes())
        return summary

    def window_summary(self, deployment: str, window: Window) -> SegmentSummary:
        """The merged summary of every prediction inside ``window`` (see the module docstring)."""
        self.check_retained(deployment, window)
        return _retry(lambda: self._window_summary(deployment, window))

    def _window_summary(self, deployment: str, window: Window) -> SegmentSummary:
        total = SegmentSummary(sample_cap=self.sample_cap)
        known = set(self.hours(deployment))
        for hour in hours_of(window):
            if hour not in known:
                continue
            whole = hour_fully_inside(hour, window)
            for path in self.segments(deployment, hour):
                part = self.segment_summary(path)
                if part.ts_min_ms is None or part.ts_max_ms is None:
                    continue
                if whole or window.covers(part.ts_min_ms, part.ts_max_ms):
                    total = total.merge(part)
                elif window.overlaps(part.ts_min_ms, part.ts_max_ms):
                    rows = _filter_time(pq.read_table(path), window)
                    seed = zlib.crc32(f"{path.name}:{window.start_ms}:{window.end_ms}".encode())
                    total = total.merge(summarise(rows, sample_cap=self.sample_cap, seed=seed))
        return total

    def totals(
        self, deployment: str, cache: dict[str, SegmentTotals] | None = None, seen: set[str] | None = None
    ) -> SegmentTotals:
        """Counts over the whole log of a deployment (rows per model version, requests, latency
        bins): read from the cached summaries, and from ``cache`` (by segment path) when given,
        since segments never change; ``seen`` collects the paths read (to prune the cache)."""
        total = SegmentTotals()
        for hour in self.hours(deployment):
            for path in self.segments(deployment, hour):
                key = str(path)
                if seen is not None:
                    seen.add(key)
                part = cache.get(key) if cache is not None else None
                if part is None:
                    try:
                        part = SegmentTotals.of(self.segment_summary(path))
                    except FileNotFoundError:  # compacted meanwhile; its replacement is counted next time
                        continue
                    if cache is not None:
                        cache[key] = part
                total = total.add(part)
        return total

    def summarise_pending(self, *, deployment: str | None = None, limit: int | None = None) -> int:
        """Compute the summaries not cached yet (a background job); returns how many."""
        done = 0
        for dep in [deployment] if deployment else self.deployments():
            for hour in self.hours(dep):
                for path in self.segments(dep, hour):
                    if limit is not None and done >= limit:
                        return done
                    if not summary_path(path).exists():
                        try:
                            self.segment_summary(path)
                            done += 1
                        except FileNotFoundError:  # compacted meanwhile
                            continue
        return done

    # -- reading rows -------------------------------------------------------------------------
    def scan(self, deployment: str, window: Window, table: str = "predictions") -> str | None:
        """A DuckDB table expression over the segments of ``window`` (None if there are none)."""
        files = self.window_segments(deployment, window, table)
        if not files:
            return None
        listing = ", ".join(_quote(p) for p in files)
        return f"read_parquet([{listing}], union_by_name = true)"

    def labelled(self, deployment: str, window: Window) -> pa.Table:
        """Predictions of ``window`` (primary rows) with their ground truth, when it arrived:
        ``request_id, row, timestamp, model_version, prediction, prediction_value, score, label,
        label_value, correct`` (label columns null when no label has arrived yet). The latest
        label of a row wins."""
        self.check_retained(deployment, window)
        return _retry(lambda: self._labelled(deployment, window))

    def _labelled(self, deployment: str, window: Window) -> pa.Table:
        import duckdb

        preds = self.scan(deployment, window)
        if preds is None:
            return _empty_labelled()
        first = hour_key(window.start_ms)
        label_files = [
            p for h in self.hours(deployment, "labels") if h >= first for p in self.segments(deployment, h, "labels")
        ]
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            cols = set(con.sql(f"select * from {preds} limit 0").columns)
            score = "case when len(probabilities) = 2 then probabilities[2] end" if "probabilities" in cols else "null"
            value = "prediction_value" if "prediction_value" in cols else "null"
            role = "coalesce(role, 'primary') = 'primary'" if "role" in cols else "true"
            p = (
                "select request_id, coalesce(row, 0)::integer as row, epoch_ms(timestamp) as timestamp, "
                f"model_version, prediction, {value}::double as prediction_value, {score}::double as score "
                f"from {preds} where timestamp >= make_timestamp(?::bigint * 1000)::timestamptz "
                f"and timestamp < make_timestamp(?::bigint * 1000)::timestamptz and {role}"
            )
            if not label_files:
                nulls = "null::varchar as label, null::double as label_value, null::boolean as correct"
                sql = f"select *, {nulls} from ({p})"
            else:
                labels = "read_parquet([" + ", ".join(_quote(f) for f in label_files) + "], union_by_name = true)"
                sql = (
                    f"with p as ({p}), l as (select request_id, coalesce(row, 0)::integer as row, label, label_value "
                    f"from {labels} qualify row_number() over (partition by request_id, coalesce(row, 0) "
                    "order by ingested_at desc) = 1) "
                    "select p.*, l.label, l.label_value, "
                    "case when l.label is null then null when l.label_value is not null and p.prediction_value "
                    "is not null then l.label_value = p.prediction_value else l.label = p.prediction end as correct "
                    "from p left join l using (request_id, row)"
                )
            rel = con.sql(sql + " order by timestamp, request_id, row", params=[window.start_ms, window.end_ms])
            result: pa.Table = rel.to_arrow_table()
            return result

    # -- retention ----------------------------------------------------------------------------
    def purged_before(self, deployment: str) -> int | None:
        """The cutoff of the last purge that removed predictions of ``deployment`` (None if none)."""
        mark = self.predictions / f"deployment={check_deployment(deployment)}" / RETENTION_MARK
        try:
            return int(json.loads(mark.read_text())["purged_before_ms"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def mark_purged(self, deployment: str, cutoff_ms: int) -> None:
        """Record that rows before ``cutoff_ms`` are gone (the mark only moves forward)."""
        folder = self.predictions / f"deployment={check_deployment(deployment)}"
        if folder.is_dir() and cutoff_ms > (self.purged_before(deployment) or 0):
            write_atomic(folder / RETENTION_MARK, json.dumps({"purged_before_ms": cutoff_ms}).encode())

    def check_retained(self, deployment: str, window: Window) -> None:
        """Refuse a window reaching before the last purge: its rows are gone, and an empty or
        partial window must not read as "no drift"."""
        cutoff = self.purged_before(deployment)
        if cutoff is not None and window.start_ms < cutoff:
            raise InvalidArgument(
                f"The window {format_ms(window.start_ms)}/{format_ms(window.end_ms)} of deployment {deployment!r} "
                f"starts before {format_ms(cutoff)}, and the prediction log before that time was purged by the "
                "retention policy (STEWARD_MONITORING_RETENTION_DAYS or the monitor's options.retention_days). "
                f"Ask for a window that starts on or after {format_ms(cutoff)}.",
                field="window",
            )

    @contextmanager
    def rewrite_lock(self, table: str, deployment: str, *, timeout_s: float = 0.0) -> Iterator[bool]:
        """Hold the deployment's rewrite lock (compaction, purge); yields False if another process
        still holds it after ``timeout_s``."""
        folder = self._root(table) / f"deployment={check_deployment(deployment)}"
        if not folder.is_dir():  # nothing to rewrite; creating it would invent a deployment
            yield True
            return
        with open(folder / LOCK_NAME, "a+b") as fh:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # -- writing ------------------------------------------------------------------------------
    def write_segment(self, table_name: str, deployment: str, hour: str, table: pa.Table, prefix: str) -> Path:
        """Write one immutable segment (temporary name, then renamed into place)."""
        folder = self._folder(table_name, deployment, hour)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{prefix}-{int(time.time() * 1000)}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = folder / f".{name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, folder / name)
        return folder / name

    # -- compaction ---------------------------------------------------------------------------
    def compact(
        self, *, now_ms: int, deployment: str | None = None, grace_ms: int = 10 * MINUTE, table: str = "predictions"
    ) -> CompactionResult:
        """Rewrite the segments of every closed hour (ended ``grace_ms`` ago) into one file."""
        result = CompactionResult()
        for dep in [deployment] if deployment else self._deployments(table):
            with self.rewrite_lock(table, dep) as locked:
                if locked:  # else a purge is rewriting it: the next compaction does this one
                    self._compact_deployment(result, table, dep, now_ms, grace_ms)
        return result

    def _compact_deployment(self, result: CompactionResult, table: str, dep: str, now_ms: int, grace_ms: int) -> None:
        for hour in self.hours(dep, table):
            if hour_start(hour) + HOUR + grace_ms > now_ms:
                continue
            folder = self._folder(table, dep, hour)
            try:
                finish_interrupted(folder)
                files = live_files(folder)
                if len(files) < 2:
                    continue
                rows = compact_folder(folder, files, self.segment_summary if table == "predictions" else None)
            except (OSError, pa.ArrowInvalid) as exc:  # one bad partition must not stop the rest
                result.errors.append(f"{folder}: {exc}")
                continue
            result.partitions += 1
            result.files_in += len(files)
            result.files_out += 1
            result.rows += rows

    def _deployments(self, table: str) -> list[str]:
        root = self._root(table)
        return sorted(p.name.split("=", 1)[1] for p in root.glob("deployment=*")) if root.is_dir() else []


@dataclass(frozen=True)
class SegmentTotals:
    """The additive part of a summary: what Prometheus counters and histograms need."""

    versions: tuple[tuple[str, int], ...] = ()
    requests: int = 0
    latency_bins: tuple[int, ...] = ()
    latency_sum_ms: float = 0.0

    @classmethod
    def of(cls, s: SegmentSummary) -> SegmentTotals:
        lat = s.latency
        bins = tuple(int(b) for b in lat.bin_counts_) if lat is not None and lat.bin_counts_ is not None else ()
        total_ms = lat.mean_ * lat.count_ if lat is not None and lat.count_ else 0.0
        return cls(tuple(sorted(s.versions.items())), s.requests, bins, total_ms)

    def add(self, other: SegmentTotals) -> SegmentTotals:
        versions = dict(self.versions)
        for k, v in other.versions:
            versions[k] = versions.get(k, 0) + v
        if not self.latency_bins:
            bins = other.latency_bins
        elif not other.latency_bins:
            bins = self.latency_bins
        else:
            bins = tuple(a + b for a, b in zip(self.latency_bins, other.latency_bins, strict=True))
        return SegmentTotals(
            tuple(sorted(versions.items())),
            self.requests + other.requests,
            bins,
            self.latency_sum_ms + other.latency_sum_ms,
        )


def _filter_time(table: pa.Table, window: Window) -> pa.Table:
    ts = pc.cast(table["timestamp"], pa.int64())
    mask = pc.and_(pc.greater_equal(ts, window.start_ms), pc.less(ts, window.end_ms))
    return table.filter(mask)


def _empty_labelled() -> pa.Table:
    return pa.table(
        {
            "request_id": pa.array([], pa.string()),
            "row": pa.array([], pa.int32()),
            "timestamp": pa.array([], pa.int64()),
            "model_version": pa.array([], pa.string()),
            "prediction": pa.array([], pa.string()),
            "prediction_value": pa.array([], pa.float64()),
            "score": pa.array([], pa.float64()),
            "label": pa.array([], pa.string()),
            "label_value": pa.array([], pa.float64()),
            "correct": pa.array([], pa.bool_()),
        }
    )


def _retry(fn: Callable[[], T]) -> T:
    """Run a read again when a compaction removed a file it had listed."""
    for attempt in range(_RETRIES):
        try:
            return fn()
        except FileNotFoundError:
            if attempt == _RETRIES - 1:
                raise
        except Exception as exc:  # DuckDB reports a vanished file as an IOException
            if ("No files found" not in str(exc) and "No such file" not in str(exc)) or attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")
