"""Decoding request payloads against a signature: every form, and a 422 naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from steward.serving.app import decode
from steward.serving.inputs import InputSchema
from steward.serving.models import InputError

NUMERIC = InputSchema.from_signature(
    {
        "inputs": [
            {"name": "a", "type": "double"},
            {"name": "b", "type": "long"},
            {"name": "c", "type": "double", "nullable": True},
        ]
    }
)
MIXED = InputSchema.from_signature(
    {
        "inputs": [
            {"name": "age", "type": "long"},
            {"name": "sex", "type": "string", "categories": ["F", "M"]},
            {"name": "ok", "type": "boolean"},
            {"name": "w", "type": "double", "nullable": True},
        ]
    }
)


def test_numeric_records_become_one_float_matrix() -> None:
    batch = NUMERIC.from_records([{"a": 1.5, "b": 2, "c": None}, {"c": 0.0, "b": 3.0, "a": -1}])
    assert batch.n == 2 and batch.columns is None and batch.matrix is not None
    np.testing.assert_array_equal(batch.matrix, [[1.5, 2.0, np.nan], [-1.0, 3.0, 0.0]])


def test_mixed_records_become_typed_columns() -> None:
    batch = MIXED.from_records([{"age": 30, "sex": "F", "ok": True, "w": None}])
    assert batch.columns is not None
    assert batch.columns["age"].dtype == np.float64 and batch.columns["sex"].dtype == object
    assert batch.columns["ok"].dtype == bool and np.isnan(batch.columns["w"][0])


@pytest.mark.parametrize(
    ("payload", "mlflow"),
    [
        ([{"a": 1, "b": 2, "c": 3}], False),
        ({"records": [{"a": 1, "b": 2, "c": 3}]}, False),
        ({"columns": {"a": [1], "b": [2], "c": [3]}}, False),
        ({"a": 1, "b": 2, "c": 3}, False),
        ({"dataframe_split": {"columns": ["c", "a", "b"], "data": [[3, 1, 2]]}}, True),
        ({"dataframe_records": [{"a": 1, "b": 2, "c": 3}]}, True),
        ({"instances": [{"a": 1, "b": 2, "c": 3}]}, True),
        ({"instances": [[1, 2, 3]]}, True),
        ({"inputs": {"a": [1], "b": [2], "c": [3]}}, True),
        ({"inputs": [{"a": 1, "b": 2, "c": 3}]}, True),
        ({"inputs": [[1, 2, 3]], "params": {}}, True),
    ],
)
def test_every_payload_form_decodes_to_the_same_row(payload: object, mlflow: bool) -> None:
    batch = decode(NUMERIC, payload, mlflow=mlflow)
    assert batch.matrix is not None
    np.testing.assert_array_equal(batch.matrix, [[1.0, 2.0, 3.0]])


BAD = [
    ([{"a": 1, "b": 2}], "c", "missing field 'c'"),
    ([{"a": 1, "b": 2, "c": 3, "d": 4}], "d", "unknown field 'd'"),
    ([{"a": "1", "b": 2, "c": 3}], "a", "Field 'a' must be a number"),
    ([{"a": True, "b": 2, "c": 3}], "a", "got a boolean"),
    ([{"a": 1, "b": 2.5, "c": 3}], "b", "must be an integer"),
    ([{"a": None, "b": 2, "c": 3}], "a", "must not be null"),
    ([{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": [2], "c": 3}], "b", "row 1"),
    ({"columns": {"a": [1, 2], "b": [2], "c": [3]}}, "columns", "equal lengths"),
    ({"columns": {"a": [1], "b": [2]}}, "c", "missing field 'c'"),
    ([], "records", "no rows"),
    ([1, 2], "records", "must be an object"),
    ("x", "body", "JSON object"),
]


@pytest.mark.parametrize(("payload", "field", "words"), BAD)
def test_bad_payload_names_the_field(payload: object, field: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        decode(NUMERIC, payload, mlflow=False)
    assert info.value.field == field
    assert words in info.value.message


MLFLOW_BAD = [
    ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}, "c"),
    ({"dataframe_split": {"columns": ["a", "b", "c", "z"], "data": [[1, 2, 3, 4]]}}, "z"),
    ({"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2]]}}, "dataframe_split.data"),
    ({"instances": [[1, 2]]}, "instances"),
    ({"dataframe_records": [{"a": 1, "b": "x", "c": 1}]}, "b"),
    ({"records": [{"a": 1, "b": 2, "c": 3}]}, "body"),
    ({"inputs": [[1, 2, 3]], "instances": [[1, 2, 3]]}, "body"),
]


@pytest.mark.parametrize(("payload", "field"), MLFLOW_BAD)
def test_bad_mlflow_payload_names_the_field(payload: object, field: str) -> None:
    with pytest.raises(InputError) as info:
        decode(NUMERIC, payload, mlflow=True)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"age": 30, "sex": 1, "ok": True, "w": 1.0}, "sex"),
        ({"age": 30, "sex": "F", "ok": "yes", "w": 1.0}, "ok"),
        ({"age": 30.5, "sex": "F", "ok": True, "w": 1.0}, "age"),
        ({"age": 30, "sex": None, "ok": True, "w": 1.0}, "sex"),
        ({"age": 30, "ok": True, "w": 1.0}, "sex"),
    ],
)
def test_mixed_schema_errors_name_the_field(record: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        MIXED.from_records([record])
    assert info.value.field == field


def test_unknown_category_is_accepted_for_the_model_to_handle() -> None:
    # Unseen categories are drift, not malformed requests: the pipeline's encoder decides
    # (OneHotEncoder(handle_unknown="ignore")), and the prediction log keeps the value.
    batch = MIXED.from_records([{"age": 30, "sex": "X", "ok": False, "w": 0.5}])
    assert batch.columns is not None and batch.columns["sex"].tolist() == ["X"]


def test_signature_with_duplicate_names_is_refused() -> None:
    with pytest.raises(InputError, match="twice"):
        InputSchema.from_signature({"inputs": [{"name": "a", "type": "double"}] * 2})
