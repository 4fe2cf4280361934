"""SHAP importance of a trained pipeline, per input column (the ``shap`` extra).

A Steward model is ``Pipeline([("preprocess", ColumnTransformer), ("model", estimator)])``
taking raw columns, strings included, which SHAP's maskers cannot perturb. So the estimator is
explained on the preprocessed matrix (``shap.TreeExplainer`` for tree ensembles: exact and fast;
otherwise ``shap.Explainer`` picks the algorithm for the estimator), and the SHAP values of the
columns one input produces (its one-hot columns, say) are summed per row before taking the
mean absolute value: SHAP values are additive, so the sum is that input's contribution.
For classifiers the values explain the positive (last) class, in the estimator's output space
(log-odds for gradient boosting).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from steward.core.errors import UserCodeError
from steward.evaluation import shap_available, shap_importance
from steward.pipelines.transformers import EncodedLabels

_OTHER_SAMPLES = 100  # model-agnostic explainers cost rows x evaluations: fewer rows


def input_groups(preprocess: ColumnTransformer) -> dict[str, list[int]]:
    """Which output columns of a fitted ColumnTransformer come from which input column."""
    groups: dict[str, list[int]] = {}
    for name, transformer, columns in preprocess.transformers_:
        out = preprocess.output_indices_.get(name, slice(0, 0))
        if transformer == "drop" or out.stop <= out.start:
            continue
        cols = [str(c) for c in columns]
        if hasattr(transformer, "get_feature_names_out"):
            names = [str(n) for n in transformer.get_feature_names_out(cols)]
        else:
            names = cols
        for offset, produced in enumerate(names):
            # the longest input name that this output is named after (``workclass_Private``)
            owners = [c for c in cols if produced == c or produced.startswith(f"{c}_")]
            owner = max(owners, key=len) if owners else produced
            groups.setdefault(owner, []).append(out.start + offset)
    return groups


def _values(explainer_output: Any) -> np.ndarray:
    values = np.asarray(getattr(explainer_output, "values", explainer_output), dtype=np.float64)
    if values.ndim == 3:  # one slice per output class: explain the positive (last) class
        values = values[:, :, -1]
    return values


def _explain(estimator: Any, matrix: np.ndarray, seed: int) -> np.ndarray:
    shap: Any = importlib.import_module("shap")
    try:
        return _values(shap.TreeExplainer(estimator)(matrix, check_additivity=False))
    except Exception:  # not a tree model shap knows: let shap choose (linear, permutation, ...)
        pass
    rows = matrix[: min(_OTHER_SAMPLES, len(matrix))]
    try:
        return _values(shap.Explainer(estimator, rows, seed=seed)(rows))
    except Exception:
        predict = getattr(estimator, "predict_proba", None) or estimator.predict
        return _values(shap.Explainer(predict, rows, seed=seed)(rows))


def pipeline_shap(model: Any, X: pd.DataFrame, *, max_samples: int = 500, seed: int = 0) -> list[dict[str, Any]] | None:  # noqa: N803
    """Mean |SHAP value| per input column on a seeded sample of at most ``max_samples`` rows,
    largest first; None without the ``shap`` extra."""
    if not shap_available():
        return None
    steps = model.steps if isinstance(model, Pipeline) else []
    if len(steps) != 2 or not isinstance(steps[0][1], ColumnTransformer):
        found = shap_importance(model, X, max_samples=max_samples, random_state=seed) or []
        return [{"feature": f.feature, "importance": f.importance, "std": f.std, "method": f.method} for f in found]
    preprocess, estimator = steps[0][1], steps[1][1]
    if isinstance(estimator, EncodedLabels):  # explain the fitted classifier inside
        estimator = estimator.estimator_
    sample = X.sample(n=min(max_samples, len(X)), random_state=seed)
    try:
        matrix = np.asarray(preprocess.transform(sample), dtype=np.float64)
        values = _explain(estimator, matrix, seed)
    except Exception as exc:
        raise UserCodeError(step="shap_importance", cause=exc) from exc
    out = []
    for feature, columns in input_groups(preprocess).items():
        per_row = np.abs(values[:, columns].sum(axis=1))
        mean, std = float(per_row.mean()), float(per_row.std())
        out.append({"feature": feature, "importance": mean, "std": std, "method": "shap"})
    return sorted(out, key=lambda f: -f["importance"])
