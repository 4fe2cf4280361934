from __future__ import annotations

import numpy as np
import pandas as pd

from steward.datasets import profile_of, schema_of


def test_schema_names_logical_types_and_nullability() -> None:
    df = pd.DataFrame({"n": [1, 2], "x": [1.0, np.nan], "s": ["a", "b"], "b": [True, False]})
    cols = {c["name"]: (c["type"], c["nullable"]) for c in schema_of(df)["columns"]}
    assert cols == {
        "n": ("long", False),
        "x": ("double", True),
        "s": ("string", False),
        "b": ("boolean", False),
    }


def test_numeric_profile_matches_numpy() -> None:
    values = np.arange(100, dtype=float)
    p = profile_of(pd.DataFrame({"v": values}))["columns"]["v"]
    assert p["mean"] == values.mean()
    assert p["std"] == values.std(ddof=1)
    assert p["quantiles"]["p50"] == np.quantile(values, 0.5)
    assert sum(p["histogram"]["counts"]) == 100
    assert len(p["histogram"]["edges"]) == len(p["histogram"]["counts"]) + 1


def test_categorical_profile_counts_values_and_missing() -> None:
    p = profile_of(pd.DataFrame({"s": ["a", "a", "b", None]}))["columns"]["s"]
    assert p["top"] == {"a": 2, "b": 1}
    assert p["missing"] == 1
    assert p["missing_fraction"] == 0.25


def test_all_missing_column_profiles_without_statistics() -> None:
    p = profile_of(pd.DataFrame({"x": [np.nan, np.nan]}))["columns"]["x"]
    assert p["count"] == 0
    assert "mean" not in p
