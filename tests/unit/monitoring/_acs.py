"""The ACS employment data shipped in nannyml's package files (read directly, never imported)."""

from __future__ import annotations

import importlib.util
import pathlib
from functools import cache

import pandas as pd
import pytest


def _folder() -> pathlib.Path:
    spec = importlib.util.find_spec("nannyml")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("nannyml's data files are not installed")
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


@cache
def reference() -> pd.DataFrame:
    """2015: 68,785 rows with the target ``employed`` and a model's predictions."""
    return pd.read_parquet(_folder() / "employment_MA_reference.pq")


@cache
def analysis() -> pd.DataFrame:
    """2016-2018 with the target joined on ``id``."""
    folder = _folder()
    return pd.read_parquet(folder / "employment_MA_analysis.pq").merge(
        pd.read_parquet(folder / "employment_MA_analysis_target.pq"), on="id"
    )


FEATURES = [
    "AGEP",
    "SCHL",
    "MAR",
    "RELP",
    "DIS",
    "ESP",
    "CIT",
    "MIG",
    "MIL",
    "ANC",
    "NATIVITY",
    "DEAR",
    "DEYE",
    "DREM",
    "SEX",
    "RAC1P",
]
