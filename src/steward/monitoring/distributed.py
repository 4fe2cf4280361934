"""Dataset drift over Parquet data too large for one process, on a Dask cluster.

Each partition is sketched where it lives (``sketch_frame``); the sketches are merged in a
tree (the merge is associative), and only the merged column sketches, a few MB whatever the
data's size, come back to the caller for :class:`~steward.monitoring.dataset_drift.DatasetDrift`.
No worker ever holds more than one partition, so the data can exceed the cluster's memory.

    >>> from distributed import Client  # doctest: +SKIP
    >>> report = drift_on_dask("ref/*.parquet", "cur/*.parquet", Client("tcp://scheduler:8786"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from steward.monitoring.dataset_drift import DatasetDrift, DatasetDriftReport
from steward.monitoring.sketches import DEFAULT_SAMPLE_CAP, ColumnKind, ColumnSketch, sketch_frame


def _sketch_partition(
    frame: pd.DataFrame, kinds: Mapping[str, ColumnKind], sample_cap: int, seed: np.random.SeedSequence
) -> dict[str, ColumnSketch]:
    return sketch_frame(frame, kinds, sample_cap=sample_cap, random_state=seed)


def _merge(parts: Sequence[dict[str, ColumnSketch]]) -> dict[str, ColumnSketch]:
    merged = dict(parts[0])
    for part in parts[1:]:
        for column, sketch in part.items():
            merged[column] = merged[column].merge(sketch)  # type: ignore[arg-type]
    return merged


def _kinds(dtypes: pd.Series, columns: Sequence[str] | None, categorical: Sequence[str]) -> dict[str, ColumnKind]:
    names = list(columns) if columns else list(dtypes.index)
    out: dict[str, ColumnKind] = {}
    for name in names:
        dtype = dtypes[name]
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        out[name] = "numerical" if numeric and name not in categorical else "categorical"
    return out


def sketch_on_dask(
    path: str | Sequence[str],
    client: Any,
    *,
    kinds: Mapping[str, ColumnKind] | None = None,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    random_state: int = 0,
    fan_in: int = 8,
) -> dict[str, ColumnSketch]:
    """Column sketches of a Parquet dataset, computed partition by partition on ``client``."""
    import dask.dataframe as dd
    from dask.delayed import delayed

    frame = dd.read_parquet(path, columns=list(kinds) if kinds else None)
    kinds = dict(kinds) if kinds else _kinds(frame.dtypes, None, ())
    parts = frame.to_delayed()
    seeds = np.random.SeedSequence(random_state).spawn(len(parts))
    level = [delayed(_sketch_partition)(p, kinds, sample_cap, s) for p, s in zip(parts, seeds, strict=True)]
    while len(level) > 1:
        level = [delayed(_merge)(level[i : i + fan_in]) for i in range(0, len(level), fan_in)]
    result: dict[str, ColumnSketch] = client.compute(level[0]).result()
    return result


def drift_on_dask(
    reference: str | Sequence[str],
    current: str | Sequence[str],
    client: Any,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    detector: DatasetDrift | None = None,
    sample_cap: int = DEFAULT_SAMPLE_CAP,
    random_state: int = 0,
) -> DatasetDriftReport:
    """Dataset drift of two Parquet datasets, sketched on the cluster, decided here."""
    import dask.dataframe as dd

    kinds = _kinds(dd.read_parquet(reference).dtypes, columns, categorical)
    ref = sketch_on_dask(reference, client, kinds=kinds, sample_cap=sample_cap, random_state=random_state)
    cur = sketch_on_dask(current, client, kinds=kinds, sample_cap=sample_cap, random_state=random_state + 1)
    return (detector or DatasetDrift(random_state=random_state)).fit(ref).score(cur)
