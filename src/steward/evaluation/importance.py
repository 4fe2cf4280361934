"""Feature importance: seeded permutation importance, and SHAP when ``shap`` is installed.

Both call the user's estimator, so its failures become ``UserCodeError`` (step
``permutation_importance`` or ``shap_importance``). SHAP is optional: :func:`shap_available`
says whether it can be used, and :func:`shap_importance` returns ``None`` without it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steward.core.errors import InvalidArgument, StewardError, UserCodeError
from steward.evaluation._validation import check_positive_int

__all__ = ["FeatureImportance", "permutation_importance", "shap_available", "shap_importance"]


@dataclass(frozen=True)
class FeatureImportance:
    """Importance of one feature: mean and spread over repeats (or mean |SHAP value|)."""

    feature: str
    importance: float
    std: float
    method: str


def _feature_names(X: Any) -> list[str]:  # noqa: N803
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    shape = np.shape(X)
    if len(shape) != 2 or shape[0] == 0:
        raise InvalidArgument(f"The 'X' parameter must be a non-empty 2-D table. Got shape {shape} instead.", field="X")
    return [f"x{i}" for i in range(shape[1])]


def permutation_importance(
    estimator: Any,
    X: Any,  # noqa: N803 - the name scikit-learn users know
    y: Any,
    *,
    scoring: str | None = None,
    n_repeats: int = 5,
    random_state: int | None = 0,
    sample_weight: Any = None,
    n_jobs: int | None = None,
) -> list[FeatureImportance]:
    """Drop in score when each feature is shuffled (scikit-learn's ``permutation_importance``).

    Sorted from most to least important.
    """
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    names = _feature_names(X)
    check_positive_int(n_repeats, "n_repeats")
    try:
        result = sk_permutation_importance(
            estimator,
            X,
            y,
            scoring=scoring,
            n_repeats=n_repeats,
            random_state=random_state,
            sample_weight=sample_weight,
            n_jobs=n_jobs,
        )
    except StewardError:
        raise
    except Exception as exc:
        raise UserCodeError(step="permutation_importance", cause=exc) from exc
    found = [
        FeatureImportance(feature=name, importance=float(mean), std=float(std), method="permutation")
        for name, mean, std in zip(names, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(found, key=lambda f: -f.importance)


def shap_available() -> bool:
    """Whether the optional ``shap`` package can be imported."""
    return importlib.util.find_spec("shap") is not None


def shap_importance(
    estimator: Any,
    X: Any,  # noqa: N803
    *,
    max_samples: int = 500,
    random_state: int | None = 0,
) -> list[FeatureImportance] | None:
    """Mean absolute SHAP value per feature on up to ``max_samples`` rows; ``None`` without shap.

    Uses ``shap.Explainer`` on ``predict_proba`` (positive class) when the estimator has it,
    else on ``predict``, with the sampled rows as background data.
    """
    if not shap_available():
        return None
    shap: Any = importlib.import_module("shap")
    names = _feature_names(X)
    check_positive_int(max_samples, "max_samples")
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X), columns=names)
    sample = frame.sample(n=min(max_samples, len(frame)), random_state=random_state)
    predict = getattr(estimator, "predict_proba", None) or estimator.predict
    try:
        explanation = shap.Explainer(predict, sample)(sample)
    except Exception as exc:
        raise UserCodeError(step="shap_importance", cause=exc) from exc
    values = np.abs(np.asarray(explanation.values, dtype=np.float64))
    if values.ndim == 3:  # one slice per output class: explain the positive (last) class
        values = values[:, :, -1]
    found = [
        FeatureImportance(
            feature=name, importance=float(values[:, i].mean()), std=float(values[:, i].std()), method="shap"
        )
        for i, name in enumerate(names)
    ]
    return sorted(found, key=lambda f: -f.importance)
