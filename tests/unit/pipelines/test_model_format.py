from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from steward.core.errors import IntegrityError, InvalidArgument, NotFound
from steward.pipelines import infer_signature, load_model, save_model, unseen_categories, validate_input
from steward.pipelines.preprocessing import build_model, build_preprocessor
from steward.pipelines.spec import PreprocessingSpec

FEATURES = {"age": "numeric", "hours": "numeric", "sex": "categorical", "member": "boolean"}


def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    n = 200
    x = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": np.where(rng.random(n) < 0.1, np.nan, rng.normal(40, 8, n)),
            "sex": rng.choice(np.array(["Female", "Male"], dtype=object), n),
            "member": rng.random(n) < 0.5,
        }
    )
    y = pd.Series(np.where(x["age"] + rng.normal(0, 10, n) > 45, "high", "low"))
    return x, y


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    x, y = data()
    pre = build_preprocessor(FEATURES, PreprocessingSpec(), task="classification", seed=0)
    model = build_model(pre, LogisticRegression()).fit(x, y)
    sig = infer_signature(
        x,
        FEATURES,
        task="classification",
        classes=["high", "low"],
        nullable={"hours": True, "sex": True},
        metadata={"target": "y"},
    )
    return save_model(tmp_path / "model", model, sig)


def test_folder_holds_model_signature_and_requirements(model_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir()) == ["model.joblib", "requirements.txt", "signature.json"]
    doc = json.loads((model_dir / "signature.json").read_text())
    assert doc["task"] == "classification"
    assert doc["classes"] == ["high", "low"]
    assert {i["name"]: i["type"] for i in doc["inputs"]} == {
        "age": "long",
        "hours": "double",
        "sex": "string",
        "member": "boolean",
    }
    assert doc["inputs"][2]["categories"] == ["Female", "Male"]
    assert doc["inputs"][0]["categories"] is None
    assert "scikit-learn==" in (model_dir / "requirements.txt").read_text()


def test_load_model_round_trip_predicts_the_same(model_dir: Path) -> None:
    x, _ = data()
    model, sig = load_model(model_dir)
    frame = validate_input(x, sig)
    assert list(frame.columns) == ["age", "hours", "sex", "member"]
    assert model.predict_proba(frame).shape == (len(x), 2)
    assert sig.metadata == {"target": "y"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda x: x.drop(columns=["age"]), "age", "Missing input field"),
        (lambda x: x.assign(extra=1), "extra", "Unexpected input field"),
        (lambda x: x.assign(age="old"), "age", "must be of type long; got 'old'"),
        (lambda x: x.assign(age=30.5), "age", "must be of type long; got 30.5"),
        (lambda x: x.assign(hours="x"), "hours", "must be of type double"),
        (lambda x: x.assign(member="yes"), "member", "must be of type boolean"),
        (lambda x: x.assign(age=np.nan), "age", "must not be missing"),
    ],
    ids=["missing", "extra", "string-for-long", "fraction-for-long", "string-for-double", "bool", "null"],
)
def test_validate_input_names_the_bad_field(model_dir: Path, change, field: str, message: str) -> None:  # type: ignore[no-untyped-def]
    x, _ = data()
    _, sig = load_model(model_dir)
    with pytest.raises(InvalidArgument, match=message) as info:
        validate_input(change(x.head(5)), sig)
    assert info.value.field == field


def test_extra_columns_can_be_dropped(model_dir: Path) -> None:
    x, _ = data()
    _, sig = load_model(model_dir)
    assert list(validate_input(x.assign(id=1), sig, extra="drop").columns) == sig.names


def test_unseen_category_is_allowed_by_default_and_scored_as_unknown(model_dir: Path) -> None:
    x, _ = data()
    model, sig = load_model(model_dir)
    row = x.head(1).assign(sex="Nonbinary")
    assert unseen_categories(row, sig) == {"sex": ["Nonbinary"]}
    proba = model.predict_proba(validate_input(row, sig))
    assert np.isfinite(proba).all()
    with pytest.raises(InvalidArgument, match="never seen in training") as info:
        validate_input(row, sig, unseen="error")
    assert info.value.field == "sex"


def test_tampered_pickle_is_refused(model_dir: Path) -> None:
    (model_dir / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes() + b"x")
    with pytest.raises(IntegrityError):
        load_model(model_dir)


def test_missing_folder_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_model(tmp_path / "nope")
