"""The preprocessing half of a model: a ColumnTransformer built from the spec, fitted inside
the same scikit-learn Pipeline as the estimator, so serving applies exactly the training
transformations.

Unseen categories at prediction time: one-hot encoding maps them to all zeros (or the
"infrequent" column when categories were grouped), ordinal encoding to -1, target
encoding to the training prior. ``model_format.validate_input`` reports them first.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from steward.core.errors import InvalidArgument
from steward.pipelines.spec import EstimatorSpec, FeatureType, PreprocessingSpec
from steward.pipelines.transformers import MISSING, QuantileClipper, as_float, as_text


def infer_feature_types(df: pd.DataFrame, columns: list[str]) -> dict[str, FeatureType]:
    out: dict[str, FeatureType] = {}
    for c in columns:
        dtype = df[c].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[c] = "boolean"
        elif pd.api.types.is_numeric_dtype(dtype):
            out[c] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            raise InvalidArgument(
                f"Feature {c!r} is a datetime; derive numeric features from it, or use it as "
                "split.time_column and list it in data.drop.",
                field="data.features",
            )
        else:
            out[c] = "categorical"
    return out


def _numeric(spec: PreprocessingSpec) -> Pipeline:
    p = spec.numeric
    steps: list[tuple[str, Any]] = []
    if p.clip_quantiles is not None:
        steps.append(("clip", QuantileClipper(p.clip_quantiles[0], p.clip_quantiles[1])))
    if p.impute != "none":
        steps.append(("impute", SimpleImputer(strategy=p.impute)))
    scalers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    if p.scale != "none":
        steps.append(("scale", scalers[p.scale]()))
    return Pipeline(steps or [("identity", "passthrough")])


def _categorical(spec: PreprocessingSpec, task: str, seed: int) -> Pipeline:
    p = spec.categorical
    steps: list[tuple[str, Any]] = [
        # every category as a string, missing values as one explicit category
        ("as_text", FunctionTransformer(as_text, feature_names_out="one-to-one")),
    ]
    if p.impute == "most_frequent":
        steps.append(("impute", SimpleImputer(strategy="most_frequent", missing_values=MISSING)))
    encoder: Any
    if p.encode == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist" if p.max_categories else "ignore",
            max_categories=p.max_categories,
            sparse_output=False,
        )
    elif p.encode == "ordinal":
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    else:
        encoder = _target_encoder(task, seed)
    steps.append(("encode", encoder))
    return Pipeline(steps)


def _target_encoder(task: str, seed: int) -> TargetEncoder:
    """A seeded TargetEncoder. From scikit-learn 1.9 its cross-fitting shuffle is seeded
    through a CV splitter (``random_state`` is deprecated there)."""
    target_type = "continuous" if task == "regression" else "auto"
    if "shuffle" in TargetEncoder().get_params() and _sklearn_at_least(1, 9):
        splitter = KFold if task == "regression" else StratifiedKFold
        return TargetEncoder(target_type=target_type, cv=splitter(5, shuffle=True, random_state=seed))
    return TargetEncoder(target_type=target_type, random_state=seed)


def _sklearn_at_least(major: int, minor: int) -> bool:
    parts = sklearn.__version__.split(".")
    return (int(parts[0]), int(parts[1])) >= (major, minor)


def build_preprocessor(
    features: Mapping[str, FeatureType], spec: PreprocessingSpec, *, task: str, seed: int
) -> ColumnTransformer:
    numeric = [c for c, t in features.items() if t == "numeric"]
    categorical = [c for c, t in features.items() if t == "categorical"]
    boolean = [c for c, t in features.items() if t == "boolean"]
    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        parts.append(("numeric", _numeric(spec), numeric))
    if categorical:
        parts.append(("categorical", _categorical(spec, task, seed), categorical))
    if boolean:
        bool_steps = [("as_float", FunctionTransformer(as_float, feature_names_out="one-to-one"))]
        bool_steps.append(("impute", SimpleImputer(strategy="most_frequent")))
        parts.append(("boolean", Pipeline(bool_steps), boolean))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=True)


def import_object(path: str, field: str) -> Any:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise InvalidArgument(
            f"{field} must be a full import path like sklearn.linear_model.Ridge. Got {path!r}.", field=field
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = (
            " (install the extra: pip install mlsteward[xgboost] / [lightgbm])"
            if module_name.split(".")[0] in ("xgboost", "lightgbm")
            else ""
        )
        raise InvalidArgument(f"Cannot import {module_name!r} for {field}: {exc}{hint}.", field=field) from None
    if not hasattr(module, attr):
        raise InvalidArgument(f"Module {module_name!r} has no {attr!r} ({field}).", field=field)
    return getattr(module, attr)


def make_estimator(spec: EstimatorSpec, *, seed: int, field: str = "model") -> Any:
    """Instantiate an estimator from its import path and params; ``random_state`` is set to
    the pipeline seed when the estimator takes one and the spec does not say."""
    cls = import_object(spec.estimator, f"{field}.estimator")
    if not (inspect.isclass(cls) and hasattr(cls, "fit")):
        raise InvalidArgument(f"{spec.estimator} is not an estimator class with fit().", field=f"{field}.estimator")
    params = dict(spec.params)
    try:
        accepted = set(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        accepted = set()
    if "random_state" in accepted and "random_state" not in params:
        params["random_state"] = seed
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidArgument(f"Bad params for {spec.estimator}: {exc}.", field=f"{field}.params") from None


def default_baseline(task: str) -> Any:
    return DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor(strategy="mean")


def build_model(preprocessor: ColumnTransformer, estimator: Any) -> Pipeline:
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])
