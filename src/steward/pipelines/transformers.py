"""Transformers of Steward's own that end up inside saved models. Their import path is part
of the model format: keep them here, keep them picklable, keep their learned state in ``_``
attributes (scikit-learn conventions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
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
