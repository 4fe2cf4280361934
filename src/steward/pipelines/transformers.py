"""Transformers of Steward's own that end up inside saved models. Their import path is part
of the model format: keep them here, keep them picklable, keep their learned state in ``_``
attributes (scikit-learn conventions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

MISSING = "__missing__"


class QuantileClipper(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Clip each column to the [lower, upper] quantiles learned in ``fit`` (outlier clipping).

    >>> import numpy as np
    >>> QuantileClipper(0.0, 0.5).fit(np.array([[1.0], [2.0], [3.0]])).transform(np.array([[9.0]]))
    array([[2.]])
    """

    def __init__(self, lower: float = 0.01, upper: float = 0.99) -> None:
        self.lower = lower
        self.upper = upper

    def fit(self, X: Any, y: Any = None) -> QuantileClipper:  # noqa: N803
        values = np.asarray(X, dtype=float)
        self.n_features_in_ = values.shape[1]
        with np.errstate(all="ignore"):
            all_nan = np.isnan(values).all(axis=0)
            safe = np.where(all_nan[None, :], 0.0, values)
            self.lower_ = np.nanquantile(safe, self.lower, axis=0)
            self.upper_ = np.nanquantile(safe, self.upper, axis=0)
        return self

    def transform(self, X: Any) -> np.ndarray:  # noqa: N803
        check_is_fitted(self, ["lower_", "upper_"])
        return np.asarray(np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)


def as_float(x: Any) -> np.ndarray:
    """Booleans (possibly with missing values) as 0.0 / 1.0 / NaN."""
    arr = np.asarray(x, dtype=object)
    out = np.full(arr.shape, np.nan)
    mask = np.vectorize(lambda v: v is not None and v == v, otypes=[bool])(arr) if arr.size else arr.astype(bool)
    out[mask] = arr[mask].astype(float)
    return out


def as_text(x: Any) -> np.ndarray:
    """Categories as strings, missing values as the explicit category ``__missing__``."""
    arr = np.asarray(x, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    missing = np.asarray(pd.isna(arr), dtype=bool)
    out = arr.astype(str).astype(object)
    out[missing] = MISSING
    return np.asarray(out)


class EncodedLabels(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier fitted on labels encoded ``0 .. k-1`` that predicts the original labels.

    XGBoost's classifiers refuse any other labels (``'>50K'``, say), which a spec's target often
    is. The wrapper's params are the wrapped estimator's own, so a search's ``model__max_depth``
    reaches it unchanged.

    >>> from sklearn.linear_model import LogisticRegression
    >>> m = EncodedLabels(LogisticRegression()).fit([[0.0], [1.0], [2.0], [3.0]], ["no", "no", "yes", "yes"])
    >>> [str(c) for c in m.classes_], [str(c) for c in m.predict([[0.0], [3.0]])]
    (['no', 'yes'], ['no', 'yes'])
    """

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"estimator": self.estimator}
        if deep and self.estimator is not None:
            out.update(self.estimator.get_params(deep=True))
        return out

    def set_params(self, **params: Any) -> EncodedLabels:
        if "estimator" in params:
            self.estimator = params.pop("estimator")
        if params:
            self.estimator.set_params(**params)
        return self

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabels:  # noqa: N803
        self.encoder_ = LabelEncoder().fit(y)
        self.estimator_ = clone(self.estimator).fit(X, self.encoder_.transform(y), **fit_params)
        self.classes_ = self.encoder_.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        check_is_fitted(self, "estimator_")
        codes = np.asarray(self.estimator_.predict(X)).astype(int)
        return np.asarray(self.encoder_.inverse_transform(codes))

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict_proba(X))


def needs_encoded_labels(estimator: Any) -> bool:
    """Whether a classifier only accepts labels ``0 .. k-1`` (XGBoost's)."""
    return type(estimator).__module__.split(".")[0] == "xgboost"
