"""Drift between two CSV or Parquet files (``steward drift --reference A --current B``).

Both files are read in record batches and sketched column by column, so memory holds one
batch and the sketches, never a whole file. Up to ``sample_cap`` rows (100,000 by default)
every statistic equals scipy's on the raw columns; beyond, the sketches' documented
approximations apply (:mod:`steward.monitoring.sketches`).

Column kinds come from the reference's types (numbers numerical, the rest categorical);
``categorical`` forces columns categorical (integer codes, say). ``evidently=True`` applies
Evidently's per-column rules unchanged (no FDR control, no calibrated thresholds).
``multivariate=True`` also keeps a uniform sample of rows of each side while reading (at most
``ROW_SAMPLE``) and adds the domain classifier's AUC and the PCA reconstruction error
(:func:`~steward.monitoring.multivariate.multivariate_drift`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from steward.core.errors import InvalidArgument
from steward.monitoring.dataset_drift import DatasetDrift, DatasetDriftReport
from steward.monitoring.multivariate import MultivariateReport, multivariate_drift
from steward.monitoring.report import dataset_report
from steward.monitoring.sketches import DEFAULT_SAMPLE_CAP, ColumnKind, ColumnSketch, infer_kind, sketch_frame

BATCH_ROWS = 65_536
ROW_SAMPLE = 5_000


@dataclass
class FileDrift:
    report: DatasetDriftReport
    reference: dict[str, ColumnSketch]
    current: dict[str, ColumnSketch]
    multivariate: MultivariateReport | None = None

    def document(self, **context: Any) -> dict[str, Any]:
        doc = dataset_report(self.report, self.reference, self.current, **context)
        if self.multivariate is not None:
            doc["multivariate"] = self.multivariate.to_dict()
        return doc


class RowSample:
    """A uniform sample of at most ``size`` rows of a stream of frames: each row draws a random
    key and the ``size`` smallest keys are kept, so memory holds one batch and the sample."""

    def __init__(self, size: int, random_state: int) -> None:
        self.size = size
        self.rng = np.random.default_rng(random_state)
        self.frame: pd.DataFrame | None = None
        self.keys = np.empty(0)

    def add(self, frame: pd.DataFrame) -> None:
        keys = np.concatenate([self.keys, self.rng.random(len(frame))])
        both = frame if self.frame is None else pd.concat([self.frame, frame], ignore_index=True)
        keep = np.sort(np.argsort(keys, kind="stable")[: self.size])
        self.frame, self.keys = both.iloc[keep].reset_index(drop=True), keys[keep]

    def rows(self) -> pd.DataFrame:
        return self.frame if self.frame is not None else pd.DataFrame()


def _open(path: Path) -> tuple[pa.Schema, Callable[[], Iterator[pa.RecordBatch]], int | None]:
    if not path.is_file():
        raise InvalidArgument(f"No file at {str(path)!r}.", field="path")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        pf = pq.ParquetFile(path)
        return pf.schema_arrow, lambda: pf.iter_batches(batch_size=BATCH_ROWS), pf.metadata.num_rows
    if name.endswith((".csv", ".csv.gz", ".txt")):
        opts = pacsv.ReadOptions(block_size=16 << 20)
        schema = pacsv.open_csv(path, read_options=opts).schema
        # Every batch with the first batch's types, so a column cannot change type halfway.
        convert = pacsv.ConvertOptions(column_types=schema)
        return schema, lambda: iter(pacsv.open_csv(path, read_options=opts, convert_options=convert)), None
    raise InvalidArgument(f"The file must be .csv or .parquet. Got {path.name!r}.", field="path")


def _kinds(schema: pa.Schema, columns: Sequence[str] | None, categorical: Sequence[str]) -> dict[str, ColumnKind]:
    names = list(columns) if columns else [f.name for f in schema]
    missing = [c for c in [*names, *categorical] if c not in schema.names]
    if missing:
        raise InvalidArgument(f"The reference has no columns {missing}.", field="columns")
    empty = pa.table({f.name: pa.array([], f.type) for f in schema if f.name in names})
    kinds: dict[str, ColumnKind] = {}
    for name in names:
        t = schema.field(name).type
        if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_nested(t):
            continue  # times and nested values are not tested
        kinds[name] = "categorical" if name in categorical else infer_kind(empty[name].to_pandas())
    if not kinds:
        raise InvalidArgument("No column to test: give --columns.", field="columns")
    return kinds


def _frames(
    batches: Iterator[pa.RecordBatch],
    names: list[str],
    on_rows: Callable[[int], None],
    categorical: set[str],
    sample: RowSample | None = None,
) -> Iterator[pd.DataFrame]:
    for batch in batches:
        frame = batch.select(names).to_pandas()
        for c in categorical:
            frame[c] = (
                frame[c].astype(object).where(frame[c].notna(), None).map(lambda v: None if v is None else str(v))
            )
        on_rows(batch.num_rows)
        if sample is not None:
            sample.add(frame)
        yield frame


def compare_files(
    reference: str | Path,
    current: str | Path,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
    evidently: bool = False,
    multivariate: bool = False,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    random_state: int = 0,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> FileDrift:
    """Drift of every column of ``current`` against ``reference`` (see the module docstring).
    ``progress(side, rows_done, rows_total)`` is called after each batch."""
    ref_schema, ref_batches, ref_rows = _open(Path(reference))
    cur_schema, cur_batches, cur_rows = _open(Path(current))
    kinds = _kinds(ref_schema, columns, categorical)
    missing = [c for c in kinds if c not in cur_schema.names]
    if missing:
        raise InvalidArgument(f"The current file has no columns {missing}.", field="current")
    names = list(kinds)
    cats = {c for c, k in kinds.items() if k == "categorical"}
    sketches: list[dict[str, ColumnSketch]] = []
    samples: list[RowSample] = []
    for side, batches, total, seed in (
        ("reference", ref_batches, ref_rows, random_state),
        ("current", cur_batches, cur_rows, random_state + 1),
    ):
        done = [0]

        def on_rows(n: int, side: str = side, total: int | None = total, done: list[int] = done) -> None:
            done[0] += n
            if progress is not None:
                progress(side, done[0], total)

        sample = RowSample(ROW_SAMPLE, seed) if multivariate else None
        samples += [sample] if sample is not None else []
        frames = _frames(batches(), names, on_rows, cats, sample)
        sketches.append(sketch_frame(frames, kinds, sample_cap=sample_cap, random_state=seed))
    ref, cur = sketches
    for side, found in (("reference", ref), ("current", cur)):
        empty = [c for c, s in found.items() if s.count_ == 0]
        if empty:
            raise InvalidArgument(f"The {side} file has no values in the columns {empty}.", field=side)
    detector = DatasetDrift(
        methods=methods or None,
        thresholds=thresholds or None,
        drift_share=drift_share,
        correction="none" if evidently else "bh",
        calibrate=not evidently,
        random_state=random_state,
    )
    report = detector.fit(ref).score(cur)
    multi = None
    if multivariate:
        multi = multivariate_drift(samples[0].rows(), samples[1].rows(), columns=names, random_state=random_state)
    return FileDrift(report, ref, cur, multi)
