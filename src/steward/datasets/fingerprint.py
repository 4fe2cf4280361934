"""Content fingerprints of tables: the identity of a dataset version.

The digest is the sha256 of a canonical columnar form of the table:

- columns are sorted by name; each contributes its name, its *logical* type and its values;
- logical types: ``long`` (any integer width), ``double`` (any float width; NaN counts as
  missing), ``boolean``, ``string`` (str, large_string, categorical / dictionary), ``datetime``
  (any unit and zone, compared as UTC nanoseconds);
- values are encoded per type in a fixed little-endian byte form, with a validity mask for
  missing values;
- **rows are sorted canonically** (by every column, in name order, missing last) before
  hashing, so the digest does not depend on row order, on chunking / row groups, or on the
  file format: a CSV and a Parquet file that load into the same typed table share a digest.
  A dataset version is therefore a multiset of rows; duplicated rows count.

>>> import pandas as pd
>>> a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
>>> b = pd.DataFrame({"y": ["b", "a"], "x": [2, 1]})
>>> fingerprint(a) == fingerprint(b)
True
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from steward.core.errors import InvalidArgument

FINGERPRINT_VERSION = 1


def logical_type(dtype: pa.DataType) -> str:
    """The logical type of an Arrow type: long, double, boolean, string or datetime."""
    if pa.types.is_dictionary(dtype):
        return logical_type(dtype.value_type)
    if pa.types.is_integer(dtype):
        return "long"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "double"
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_null(dtype):
        return "string"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "datetime"
    raise InvalidArgument(
        f"Columns of Arrow type {dtype} cannot be fingerprinted; use numbers, booleans, strings or timestamps.",
        field="data",
    )


def to_arrow(data: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if not isinstance(data, pd.DataFrame):
        raise InvalidArgument(f"Expected a pandas DataFrame or Arrow table, got {type(data).__name__}.")
    return pa.Table.from_pandas(data, preserve_index=False)


def _canonical_column(arr: pa.ChunkedArray) -> tuple[str, pa.Array]:
    kind = logical_type(arr.type)
    col = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if kind == "long":
        col = col.cast(pa.int64())
    elif kind == "double":
        col = col.cast(pa.float64())
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, pa.float64()), col)
        # -0.0 and 0.0 are the same value
        col = pc.add(col, pa.scalar(0.0))
    elif kind == "string":
        col = col.cast(pa.large_string())
    elif kind == "datetime":
        if pa.types.is_date(col.type):
            col = col.cast(pa.timestamp("s"))
        col = col.cast(pa.timestamp("ns", tz=col.type.tz)).cast(pa.int64())
    return kind, col


def canonical_table(data: pd.DataFrame | pa.Table) -> tuple[pa.Table, dict[str, str]]:
    """Columns in name order with canonical types, rows in canonical order; plus the logical
    type of each column."""
    table = to_arrow(data)
    names = [str(n) for n in table.column_names]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InvalidArgument(f"Column names must be unique. Got duplicates {dupes}.", field="data")
    types: dict[str, str] = {}
    cols: dict[str, pa.Array] = {}
    for name, arr in zip(names, table.columns, strict=True):
        types[name], cols[name] = _canonical_column(arr)
    order = sorted(cols)
    canon = pa.table({n: cols[n] for n in order})
    if canon.num_rows > 1 and order:
        idx = pc.sort_indices(canon, sort_keys=[(n, "ascending") for n in order])
        canon = canon.take(idx)
    return canon, {n: types[n] for n in order}


def _column_bytes(kind: str, col: pa.Array) -> bytes:
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=np.uint8)
    if kind in ("long", "datetime"):
        values = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False), dtype="<i8")
    elif kind == "double":
        values = np.asarray(pc.fill_null(col, 0.0).to_numpy(zero_copy_only=False), dtype="<f8")
    elif kind == "boolean":
        values = np.asarray(pc.fill_null(col, False).to_numpy(zero_copy_only=False), dtype=np.uint8)
    else:
        filled = pc.fill_null(col, "")
        lengths = np.asarray(pc.binary_length(filled).to_numpy(zero_copy_only=False), dtype="<i8")
        body = b"".join(s.encode("utf-8") for s in filled.to_pylist())
        return valid.tobytes() + lengths.tobytes() + body
    return valid.tobytes() + values.tobytes()


def fingerprint(data: pd.DataFrame | pa.Table) -> str:
    """The sha256 hex digest of the table's canonical columnar form (see the module doc)."""
    canon, types = canonical_table(data)
    h = hashlib.sha256(f"steward-table-v{FINGERPRINT_VERSION}\n".encode())
    h.update(struct.pack("<q", canon.num_rows))
    for name in canon.column_names:
        kind = types[name]
        header = f"{name}\x00{kind}\x00".encode()
        h.update(struct.pack("<q", len(header)))
        h.update(header)
        body = _column_bytes(kind, canon.column(name).combine_chunks())
        h.update(struct.pack("<q", len(body)))
        h.update(body)
    return h.hexdigest()


def canonical_row_order(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with rows in the canonical order the fingerprint uses, index reset.

    Training sorts its input this way, so that one dataset version always trains the same
    model whatever the row order of the file it came from."""
    if len(df) < 2 or df.shape[1] == 0:
        return df.reset_index(drop=True)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    cols = {}
    for name, arr in zip(table.column_names, table.columns, strict=True):
        cols[str(name)] = _canonical_column(arr)[1]
    canon = pa.table(cols)
    idx = pc.sort_indices(canon, sort_keys=[(n, "ascending") for n in sorted(cols)]).to_numpy()
    return df.iloc[np.asarray(idx)].reset_index(drop=True)


def describe_types(data: pd.DataFrame | pa.Table) -> dict[str, Any]:
    table = to_arrow(data)
    return {str(n): logical_type(t) for n, t in zip(table.column_names, table.schema.types, strict=True)}
