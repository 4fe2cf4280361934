"""Schema and per-column profile of a table: what a dataset version looks like, kept as the
reference that monitoring later compares live data with.

The profile is plain JSON: per column its logical type, count, missing count and fraction,
distinct count; numbers get min, max, mean, std, quantiles and a histogram over fixed bin
edges (the edges are what drift statistics reuse); strings get the frequency of their most
common values; datetimes their range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from steward.datasets.fingerprint import describe_types

MAX_CATEGORIES = 50
HISTOGRAM_BINS = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _num(v: Any) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def schema_of(df: pd.DataFrame) -> dict[str, Any]:
    """``{"columns": [{"name", "type", "nullable"}]}`` in column order.

    >>> schema_of(pd.DataFrame({"a": [1, None]}))["columns"][0]
    {'name': 'a', 'type': 'double', 'nullable': True}
    """
    types = describe_types(df)
    return {
        "columns": [{"name": str(c), "type": types[str(c)], "nullable": bool(df[c].isna().any())} for c in df.columns]
    }


def _numeric_profile(s: pd.Series) -> dict[str, Any]:
    values = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {}
    lo, hi = float(values.min()), float(values.max())
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1) if hi > lo else np.array([lo, lo + 1.0])
    counts, _ = np.histogram(values, bins=edges)
    qs = np.quantile(values, QUANTILES)
    return {
        "min": lo,
        "max": hi,
        "mean": _num(values.mean()),
        "std": _num(values.std(ddof=1)) if values.size > 1 else 0.0,
        "quantiles": {f"p{round(q * 100):02d}": _num(v) for q, v in zip(QUANTILES, qs, strict=True)},
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def _categorical_profile(s: pd.Series) -> dict[str, Any]:
    counts = s.dropna().astype(str).value_counts()
    top = counts.head(MAX_CATEGORIES)
    return {
        "top": {str(k): int(v) for k, v in top.items()},
        "other_count": int(counts.iloc[MAX_CATEGORIES:].sum()),
    }


def profile_of(df: pd.DataFrame) -> dict[str, Any]:
    """Per-column statistics; see the module doc.

    >>> p = profile_of(pd.DataFrame({"a": [1.0, 2.0, None], "b": ["x", "x", "y"]}))
    >>> p["num_rows"], p["columns"]["a"]["missing"], p["columns"]["b"]["top"]
    (3, 1, {'x': 2, 'y': 1})
    """
    types = describe_types(df)
    n = len(df)
    cols: dict[str, Any] = {}
    for c in df.columns:
        s = df[c]
        kind = types[str(c)]
        missing = int(s.isna().sum())
        entry: dict[str, Any] = {
            "type": kind,
            "count": n - missing,
            "missing": missing,
            "missing_fraction": (missing / n) if n else 0.0,
            "distinct": int(s.nunique(dropna=True)),
        }
        if kind in ("long", "double"):
            entry.update(_numeric_profile(s))
        elif kind == "boolean":
            entry["true_fraction"] = _num(s.dropna().astype(bool).mean()) if n - missing else None
        elif kind == "string":
            entry.update(_categorical_profile(s))
        elif kind == "datetime" and n - missing:
            ts = pd.to_datetime(s.dropna())
            entry.update({"min": ts.min().isoformat(), "max": ts.max().isoformat()})
        cols[str(c)] = entry
    return {"num_rows": n, "num_columns": df.shape[1], "columns": cols}
