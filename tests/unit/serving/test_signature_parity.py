"""The server's JSON decoder and the model format's ``validate_input`` agree on the signature:
what one refuses, the other refuses, naming the same field."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from steward.core.errors import InvalidArgument
from steward.pipelines import model_format
from steward.serving.inputs import InputSchema
from steward.serving.models import InputError

SIGNATURE = model_format.Signature(
    inputs=[
        model_format.InputField("age", "long", None, False),
        model_format.InputField("hours", "double", None, True),
        model_format.InputField("sex", "string", ["Female", "Male"], False),
        model_format.InputField("member", "boolean", None, False),
    ],
    outputs={},
    task="classification",
    classes=[0, 1],
)
GOOD = {"age": 40, "hours": 38.5, "sex": "Female", "member": True}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": None}, "age"),
        ({"age": "forty"}, "age"),
        ({"age": 40.5}, "age"),
        ({"hours": "long"}, "hours"),
        ({"sex": None}, "sex"),
        ({"member": "yes"}, "member"),
        ({"extra": 1}, "extra"),
        ({"sex": ...}, "sex"),
    ],
)
def test_both_refuse_and_name_the_same_field(change: dict[str, Any], field: str) -> None:
    record = {**GOOD, **{k: v for k, v in change.items() if v is not ...}}
    for k, v in change.items():
        if v is ...:
            del record[k]
    with pytest.raises(InputError) as ours:
        InputSchema.from_signature(SIGNATURE.to_dict()).from_records([record])
    with pytest.raises(InvalidArgument) as theirs:
        model_format.validate_input(pd.DataFrame([record]), SIGNATURE)
    assert ours.value.field == theirs.value.field == field


def test_both_accept_a_good_record_with_a_null_where_nullable_and_an_unseen_category() -> None:
    record = {**GOOD, "hours": None, "sex": "Unknown"}
    batch = InputSchema.from_signature(SIGNATURE.to_dict()).from_records([record])
    frame = model_format.validate_input(pd.DataFrame([record]), SIGNATURE)
    assert batch.columns is not None and list(batch.columns) == list(frame.columns)
    assert model_format.unseen_categories(frame, SIGNATURE) == {"sex": ["Unknown"]}
