"""Turn a column into group codes: one group per category, or quantile bins for numbers.

A numeric column (not boolean) with more than ``n_bins`` distinct values is cut at its
quantiles into at most ``n_bins`` bins labelled ``[low, high)`` (the last bin is closed); any
other column gets one group per value, sorted. Missing values form their own group
``<missing>``. A column with only missing values is an error: it cannot be sliced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from steward.core.errors import InvalidArgument
from steward.evaluation._validation import IntArray

MISSING = "<missing>"


@dataclass(frozen=True)
class Grouping:
    """Group code per row and a label per code."""

    name: str
    codes: IntArray
    labels: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(series.dtype)


def group_column(values: Any, name: str, *, n_bins: int | None = 4, field: str = "slice_columns") -> Grouping:
    """Codes for ``values`` (a Series or 1-D array); ``n_bins=None`` never bins numbers."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    missing = series.isna().to_numpy()
    if missing.all():
        raise InvalidArgument(
            f"The column {name!r} has only missing values ({missing.shape[0]} rows); it cannot be used to group rows.",
            field=field,
            column=name,
        )
    if n_bins is not None and _is_numeric(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.unique(numbers[~missing]).shape[0] > n_bins:
            return _quantile_bins(numbers, missing, name, n_bins)
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels = [str(u) for u in uniques]
    return _with_missing(name, np.asarray(codes, dtype=np.intp), labels, missing)


def _quantile_bins(numbers: NDArray[np.float64], missing: NDArray[np.bool_], name: str, n_bins: int) -> Grouping:
    present = numbers[~missing]
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, n_bins + 1)))
    inner = edges[1:-1]
    codes = np.searchsorted(inner, np.where(missing, edges[0], numbers), side="right").astype(np.intp)
    labels = [
        f"[{_fmt(edges[i])}, {_fmt(edges[i + 1])}{']' if i == edges.shape[0] - 2 else ')'}"
        for i in range(edges.shape[0] - 1)
    ]
    codes[missing] = -1
    return _with_missing(name, codes, labels, missing)


def _with_missing(name: str, codes: IntArray, labels: list[str], missing: NDArray[np.bool_]) -> Grouping:
    if missing.any():
        codes = np.where(missing, len(labels), codes).astype(np.intp)
        labels = [*labels, MISSING]
    return Grouping(name=name, codes=codes, labels=tuple(labels))


def combine(first: Grouping, second: Grouping) -> tuple[IntArray, int]:
    """Codes of the cross product of two groupings, and the number of possible combinations."""
    return first.codes * second.n_groups + second.codes, first.n_groups * second.n_groups


def frame_columns(frame: pd.DataFrame | None, columns: Any, n_rows: int, field: str) -> dict[str, pd.Series]:
    """Look up ``columns`` in ``frame`` (a name, a list of names, or a mapping name -> values)."""
    if columns is None:
        return {}
    if isinstance(columns, pd.DataFrame):
        result = {str(c): columns[c].reset_index(drop=True) for c in columns.columns}
    elif isinstance(columns, dict):
        result = {str(k): pd.Series(np.asarray(v)) for k, v in columns.items()}
    else:
        names = [columns] if isinstance(columns, str) else list(columns)
        if frame is None:
            raise InvalidArgument(
                f"The {field!r} parameter names columns {names!r} but no 'frame' was given.", field=field
            )
        unknown = [c for c in names if c not in frame.columns]
        if unknown:
            raise InvalidArgument(
                f"The {field!r} parameter names columns missing from 'frame': {unknown!r}. "
                f"Available: {list(frame.columns)[:20]!r}.",
                field=field,
            )
        result = {str(c): frame[c].reset_index(drop=True) for c in names}
    for name, series in result.items():
        if series.shape[0] != n_rows:
            raise InvalidArgument(
                f"The column {name!r} of {field!r} has {series.shape[0]} rows but the predictions have {n_rows}.",
                field=field,
            )
    return result
