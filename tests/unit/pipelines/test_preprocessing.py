from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from steward.core.errors import InvalidArgument
from steward.pipelines.preprocessing import build_model, build_preprocessor, infer_feature_types, make_estimator
from steward.pipelines.spec import EstimatorSpec, PreprocessingSpec
from steward.pipelines.transformers import QuantileClipper


def frame() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    n = 300
    x = pd.DataFrame(
        {
            "num": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "cat": rng.choice(np.array(["a", "b", "c", None], dtype=object), n),
            "flag": rng.random(n) < 0.5,
        }
    )
    return x, pd.Series(rng.integers(0, 2, n))


@pytest.mark.parametrize("encode", ["onehot", "ordinal", "target"])
@pytest.mark.parametrize("scale", ["standard", "minmax", "robust", "none"])
def test_every_preprocessing_option_fits_and_handles_unseen_categories(encode: str, scale: str) -> None:
    x, y = frame()
    spec = PreprocessingSpec.model_validate(
        {"numeric": {"scale": scale, "clip_quantiles": [0.05, 0.95]}, "categorical": {"encode": encode}}
    )
    types = infer_feature_types(x, list(x.columns))
    assert types == {"num": "numeric", "cat": "categorical", "flag": "boolean"}
    model = build_model(build_preprocessor(types, spec, task="classification", seed=0), LogisticRegression())
    model.fit(x, y)
    unseen = x.head(2).assign(cat=["zzz", None])
    assert np.isfinite(model.predict_proba(unseen)).all()


def test_quantile_clipper_learns_bounds_in_fit() -> None:
    clip = QuantileClipper(0.1, 0.9).fit(np.arange(11, dtype=float).reshape(-1, 1))
    assert clip.transform(np.array([[-5.0], [50.0]])).ravel().tolist() == [1.0, 9.0]


def test_make_estimator_sets_the_seed_and_names_bad_paths() -> None:
    est = make_estimator(EstimatorSpec(estimator="sklearn.ensemble.RandomForestClassifier"), seed=7)
    assert est.random_state == 7
    assert isinstance(make_estimator(EstimatorSpec(estimator="sklearn.linear_model.Ridge"), seed=7), Ridge)
    with pytest.raises(InvalidArgument, match="Cannot import 'nope'") as info:
        make_estimator(EstimatorSpec(estimator="nope.Model"), seed=0)
    assert info.value.field == "model.estimator"
    with pytest.raises(InvalidArgument, match="Bad params") as info:
        make_estimator(EstimatorSpec(estimator="sklearn.linear_model.Ridge", params={"bogus": 1}), seed=0)
    assert info.value.field == "model.params"
    with pytest.raises(InvalidArgument, match="xgboost"):
        make_estimator(EstimatorSpec(estimator="xgboost_missing_pkg.XGBClassifier"), seed=0)


def test_datetime_features_are_refused_with_advice() -> None:
    df = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2020-01-02"])})
    with pytest.raises(InvalidArgument, match="time_column"):
        infer_feature_types(df, ["t"])
