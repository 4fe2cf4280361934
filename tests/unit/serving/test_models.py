"""Model references and deployment specs."""

from __future__ import annotations

import pytest

from steward.core.errors import InvalidArgument
from steward.serving.models import ModelRef, parse_deployment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("churn@champion", ModelRef("churn", alias="champion")),
        ("churn/3", ModelRef("churn", version=3)),
        ("team/churn/12", ModelRef("team/churn", version=12)),
        ("path:/models/churn", ModelRef("churn", path="/models/churn")),
    ],
)
def test_model_refs_parse(text: str, expected: ModelRef) -> None:
    assert ModelRef.parse(text) == expected
    assert str(ModelRef.parse(text)) == text


@pytest.mark.parametrize("text", ["churn", "churn/0", "churn/x", "@prod", "churn@", "churn@a b", "path:"])
def test_bad_model_refs_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument):
        ModelRef.parse(text)


def test_deployment_is_named_after_the_model_unless_named() -> None:
    assert parse_deployment("churn@prod").name == "churn"
    assert parse_deployment("churn@prod=churn-api").name == "churn-api"
    with pytest.raises(InvalidArgument, match="deployment name"):
        parse_deployment("churn@prod=bad name")
