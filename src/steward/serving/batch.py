"""Batch inference: score Parquet data with a model version, in bounded memory, resumably,
locally or on a Dask cluster.

The input (one Parquet file or a folder of them) is cut into *units*: row ranges of at most
``unit_rows`` inside one row group. Each unit is scored ``batch_rows`` at a time and written as
its own part file, ``<output>/part-<unit>.parquet`` (under a temporary name, renamed when
complete), so the output folder is itself a Parquet dataset (``duckdb``:
``select * from '<output>/*.parquet'``). The part files are the checkpoint: a rerun after an
interruption skips every unit whose part exists and scores the rest. ``_manifest.json`` pins
the input files (size and modification time), the model version and the unit size, so a rerun
against changed input or another model refuses to mix results; ``_SUCCESS`` marks a finished
job.

Memory is bounded by one row group's column chunks (what Parquet readers decode at once) plus
one batch of predictions. Output rows carry ``row_id`` (the row's position in the input), the
``--keep`` columns, ``prediction`` and, for classifiers, ``proba_<class>`` per class.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from steward.core.errors import Conflict, InvalidArgument, NotFound
from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.loader import LoadedModel
from steward.serving.predictor import Predictor

MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Unit:
    index: int
    file: str
    row_group: int
    start: int  # within the row group
    stop: int
    first_row: int  # position of the unit's first row in the whole input

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class BatchJob:
    input: str
    output: str
    model_name: str
    model_version: str
    batch_rows: int = 65_536
    unit_rows: int = 262_144
    keep: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.batch_rows < 1 or self.unit_rows < self.batch_rows or self.unit_rows % self.batch_rows:
            raise InvalidArgument(
                "The 'unit_rows' must be a positive multiple of 'batch_rows'. "
                f"Got unit_rows={self.unit_rows}, batch_rows={self.batch_rows} instead.",
                field="batch_rows",
            )


@dataclass
class BatchResult:
    output: str
    units: int
    skipped_units: int
    rows: int
    scored_rows: int
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.scored_rows / self.seconds if self.seconds > 0 else 0.0


def input_files(path: str) -> list[str]:
    p = Path(path)
    if p.is_file():
        return [str(p)]
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*.parquet") if f.is_file() and not f.name.startswith((".", "_")))
        if files:
            return files
    raise NotFound("parquet input", path)


def plan_units(files: Sequence[str], unit_rows: int) -> list[Unit]:
    units: list[Unit] = []
    first = 0
    for f in files:
        meta = pq.ParquetFile(f).metadata
        for rg in range(meta.num_row_groups):
            n = meta.row_group(rg).num_rows
            for start in range(0, n, unit_rows):
                stop = min(n, start + unit_rows)
                units.append(Unit(len(units), f, rg, start, stop, first + start))
            first += n
    return units


def check_columns(schema: InputSchema, arrow: pa.Schema, keep: Sequence[str]) -> None:
    names = set(arrow.names)
    missing = [n for n in schema.names if n not in names]
    if missing:
        raise InvalidArgument(
            f"The input lacks column(s) {missing} that the model needs (it takes {list(schema.names)}).",
            field=missing[0],
        )
    for f in schema.fields:
        t = arrow.field(f.name).type
        ok = (
            (f.numeric and (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)))
            or (f.kind == "str" and (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)))
            or (f.kind == "bool" and pa.types.is_boolean(t))
            or f.kind in ("any", "datetime")
        )
        if not ok:
            raise InvalidArgument(f"Column '{f.name}' must be {f.type} for the model; the input has {t}.", field=f.name)
    absent = [k for k in keep if k not in names]
    if absent:
        raise InvalidArgument(f"The --keep column(s) {absent} are not in the input.", field=absent[0])


def to_features(schema: InputSchema, batch: pa.RecordBatch) -> FeatureBatch:
    n = batch.num_rows
    if schema.numeric:
        m = np.empty((n, len(schema.names)), dtype=np.float64)
        for j, name in enumerate(schema.names):
            m[:, j] = _numeric(batch.column(name))
        _check_nulls(schema, {name: m[:, j] for j, name in enumerate(schema.names)})
        return FeatureBatch(n, matrix=m)
    cols: dict[str, np.ndarray[Any, Any]] = {}
    for f in schema.fields:
        col = batch.column(f.name)
        if f.numeric:
            cols[f.name] = _numeric(col)
        else:
            if pa.types.is_dictionary(col.type):
                col = col.dictionary_decode()
            cols[f.name] = col.to_numpy(zero_copy_only=False)
    _check_nulls(schema, cols)
    return FeatureBatch(n, columns=cols)


def _numeric(col: pa.Array) -> np.ndarray[Any, Any]:
    return np.asarray(col.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def _check_nulls(schema: InputSchema, cols: dict[str, np.ndarray[Any, Any]]) -> None:
    for f in schema.fields:
        if f.nullable:
            continue
        col = cols[f.name]
        nulls = int(np.isnan(col).sum()) if col.dtype.kind == "f" else sum(v is None for v in col)
        if nulls:
            raise InvalidArgument(
                f"Column '{f.name}' is not nullable for the model; it has {nulls} null(s).", field=f.name
            )


def score_unit(loaded: LoadedModel, job: BatchJob, unit: Unit, progress: Progress | None = None) -> int:
    """Score one unit and write its part file; return the rows scored."""
    schema = InputSchema.from_signature(loaded.signature)
    predictor = Predictor(loaded.estimator, schema, loaded.signature)
    out = Path(job.output)
    final = out / part_name(unit.index)
    tmp = out / f".{final.name}.tmp"
    writer: pq.ParquetWriter | None = None
    done = 0
    try:
        for batch in _read_unit(unit, [*schema.names, *[k for k in job.keep if k not in schema.index]], job.batch_rows):
            table = _score(predictor, schema, batch, job.keep, unit.first_row + done)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            writer.write_table(table)
            done += batch.num_rows
            if progress is not None:
                progress(batch.num_rows)
    finally:
        if writer is not None:
            writer.close()
    if done != unit.rows:
        raise Conflict(f"Unit {unit.index} of {unit.file} yielded {done} rows; expected {unit.rows}.")
    os.replace(tmp, final)
    return done


def _read_unit(unit: Unit, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    pf = pq.ParquetFile(unit.file)
    batches = pf.iter_batches(batch_size=batch_rows, row_groups=[unit.row_group], columns=columns)
    # Units start on multiples of batch_rows inside their row group.
    skip, count = unit.start // batch_rows, -(-unit.rows // batch_rows)
    yield from _prefetch(islice(batches, skip, skip + count))


def _prefetch(batches: Iterator[pa.RecordBatch], depth: int = 1) -> Iterator[pa.RecordBatch]:
    """Decode the next batch in a thread while the model scores this one (Arrow releases the
    GIL while it reads); at most ``depth`` batches wait, so memory stays bounded."""
    done = object()
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for b in batches:
                if not put(b):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    thread = threading.Thread(target=pump, name="batch-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the consumer stopped early (error, interrupt): let the reader go
        thread.join(timeout=5)


def _score(
    predictor: Predictor, schema: InputSchema, batch: pa.RecordBatch, keep: Sequence[str], first: int
) -> pa.Table:
    pred = predictor.predict(to_features(schema, batch))
    cols: dict[str, Any] = {"row_id": pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))}
    for k in keep:
        cols[k] = batch.column(k)
    p = pred.predictions
    cols["prediction"] = pa.array(p if p.dtype.kind in "biufU" else p.tolist())
    if pred.probabilities is not None and predictor.classes is not None:
        for j, c in enumerate(predictor.classes):
            cols[f"proba_{c}"] = pa.array(pred.probabilities[:, j])
    return pa.table(cols)


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _manifest(job: BatchJob, files: Sequence[str], units: Sequence[Unit]) -> dict[str, Any]:
    return {
        "inputs": [
            {"path": str(Path(f).resolve()), "size": os.path.getsize(f), "mtime_ns": os.stat(f).st_mtime_ns}
            for f in files
        ],
        "model": {"name": job.model_name, "version": job.model_version},
        "unit_rows": job.unit_rows,
        "batch_rows": job.batch_rows,
        "keep": list(job.keep),
        "units": len(units),
        "rows": sum(u.rows for u in units),
    }


def prepare(job: BatchJob, loaded: LoadedModel, *, overwrite: bool = False) -> tuple[list[Unit], list[Unit]]:
    """Check the input against the signature, set up (or resume) the output folder.

    Returns (all units, units still to score).
    """
    files = input_files(job.input)
    check_columns(InputSchema.from_signature(loaded.signature), pq.read_schema(files[0]), job.keep)
    units = plan_units(files, job.unit_rows)
    out = Path(job.output)
    manifest = _manifest(job, files, units)
    if out.exists() and not out.is_dir():
        raise Conflict(f"The output {out} exists and is not a folder of part files.")
    previous = out / MANIFEST
    if previous.exists() and not overwrite:
        if json.loads(previous.read_text()) != manifest:
            raise Conflict(
                f"The output folder {out} holds results of another input, model or unit size; "
                "pass --overwrite to start again."
            )
    else:
        if out.exists():
            for stale in [*out.glob("part-*.parquet"), out / SUCCESS]:
                stale.unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, previous)
    for leftover in out.glob(".part-*.tmp"):
        leftover.unlink()
    todo = [u for u in units if not (out / part_name(u.index)).exists()]
    return units, todo


def finish(job: BatchJob, units: Sequence[Unit], todo: Sequence[Unit], seconds: float) -> BatchResult:
    out = Path(job.output)
    missing = [u.index for u in units if not (out / part_name(u.index)).exists()]
    if missing:
        raise Conflict(f"Units {missing[:10]} of {job.output} have no part file after scoring.")
    (out / SUCCESS).write_text("")
    return BatchResult(
        output=str(out),
        units=len(units),
        skipped_units=len(units) - len(todo),
        rows=sum(u.rows for u in units),
        scored_rows=sum(u.rows for u in todo),
        seconds=seconds,
        files=[str(out / part_name(u.index)) for u in units],
    )


def run_local(job: BatchJob, loaded: LoadedModel, todo: Sequence[Unit], progress: Progress | None = None) -> None:
    for unit in todo:
        score_unit(loaded, job, unit, progress)


def run_dask(
    job: BatchJob, loaded: LoadedModel, todo: Sequence[Unit], address: Any, progress: Progress | None = None
) -> None:
    """Score the units on a Dask cluster. ``address`` is a scheduler address or a ``Client``.

    The model is sent to every worker once; input and output paths must be reachable from the
    workers under the same names (a shared or object-store file system).
    """
    import distributed

    dist: Any = distributed  # untyped package
    if isinstance(address, dist.Client):
        client = address
    else:
        try:
            client = dist.Client(address, timeout=30)
        except (OSError, ValueError, TimeoutError) as exc:
            raise InvalidArgument(f"Cannot reach the Dask scheduler at {address!r}: {exc}", field="dask") from None
    try:
        model = client.scatter(loaded, broadcast=True)
        futures = [client.submit(_score_unit_task, model, asdict(job), asdict(u), pure=False) for u in todo]
        for fut in dist.as_completed(futures):
            rows = fut.result()
            if progress is not None:
                progress(rows)
    finally:
        if client is not address:
            client.close()


def _score_unit_task(loaded: LoadedModel, job: dict[str, Any], unit: dict[str, Any]) -> int:
    return score_unit(loaded, BatchJob(**{**job, "keep": tuple(job["keep"])}), Unit(**unit))
