from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from steward.core.errors import InvalidArgument
from steward.datasets import canonical_row_order, fingerprint


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [39, 50, 38, 53, 28],
            "income": [1.5, np.nan, -0.0, 2.25, 3.0],
            "sex": ["Male", "Female", None, "Male", "Female"],
            "flag": [True, False, True, True, False],
        }
    )


def test_same_content_same_digest_whatever_the_column_and_row_order() -> None:
    df = frame()
    shuffled = df.sample(frac=1.0, random_state=3)[["sex", "flag", "income", "age"]]
    assert fingerprint(df) == fingerprint(shuffled)


def test_digest_ignores_row_groups_and_chunking() -> None:
    df = frame()
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, row_group_size=2)
    chunked = pq.read_table(io.BytesIO(buf.getvalue()))
    assert chunked.column("age").num_chunks > 1
    assert fingerprint(chunked) == fingerprint(df)


def test_csv_and_parquet_of_one_table_share_a_digest(tmp_path) -> None:
    df = frame()
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_parquet(tmp_path / "d.parquet", index=False)
    assert fingerprint(pd.read_csv(tmp_path / "d.csv")) == fingerprint(pd.read_parquet(tmp_path / "d.parquet"))


def test_categorical_and_string_columns_hash_alike_and_int_widths_too() -> None:
    df = frame()
    other = df.astype({"sex": "category", "age": "int32"})
    assert fingerprint(df) == fingerprint(other)


def test_nan_is_missing_and_negative_zero_is_zero() -> None:
    a = pd.DataFrame({"x": [0.0, np.nan]})
    b = pa.table({"x": pa.array([-0.0, None], pa.float64())})
    assert fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.assign(age=d["age"] + 1),
        lambda d: d.rename(columns={"age": "years"}),
        lambda d: d.astype({"age": "float64"}),
        lambda d: d.iloc[:-1],
        lambda d: pd.concat([d, d.iloc[:1]]),
        lambda d: d.assign(sex=d["sex"].fillna("")),
    ],
    ids=["value", "name", "type", "fewer-rows", "duplicated-row", "missing-vs-empty"],
)
def test_any_content_change_changes_the_digest(change) -> None:  # type: ignore[no-untyped-def]
    df = frame()
    assert fingerprint(change(df)) != fingerprint(df)


def test_duplicate_column_names_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="unique"):
        fingerprint(pa.table([pa.array([1]), pa.array([2])], names=["a", "a"]))


def test_canonical_row_order_is_order_free() -> None:
    df = frame()
    a = canonical_row_order(df)
    b = canonical_row_order(df.iloc[::-1])
    pd.testing.assert_frame_equal(a, b)


def test_datetimes_hash_by_instant() -> None:
    a = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2021-06-01"])})
    b = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2021-06-01"]).as_unit("s")})
    assert fingerprint(a) == fingerprint(b)
