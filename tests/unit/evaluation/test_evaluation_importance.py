"""Permutation importance equals scikit-learn's (seeded); SHAP is optional."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LogisticRegression

from steward.core.errors import InvalidArgument, UserCodeError
from steward.evaluation import permutation_importance, shap_available, shap_importance

from ._datasets import ADULT_FEATURES, adult_scored


def _model_and_data() -> tuple[LogisticRegression, object, np.ndarray]:
    frame = adult_scored().iloc[:800]
    model = LogisticRegression(max_iter=1000).fit(frame[ADULT_FEATURES], frame["label"])
    return model, frame[ADULT_FEATURES], frame["label"].to_numpy()


def test_permutation_importance_equals_sklearn_and_is_sorted() -> None:
    model, x, y = _model_and_data()
    found = permutation_importance(model, x, y, n_repeats=3, random_state=4, scoring="roc_auc")
    expected = sk_permutation_importance(model, x, y, n_repeats=3, random_state=4, scoring="roc_auc")
    by_name = {f.feature: f for f in found}
    for i, name in enumerate(ADULT_FEATURES):
        assert by_name[name].importance == pytest.approx(expected.importances_mean[i], abs=1e-12)
        assert by_name[name].std == pytest.approx(expected.importances_std[i], abs=1e-12)
    assert [f.importance for f in found] == sorted((f.importance for f in found), reverse=True)
    assert found == permutation_importance(model, x, y, n_repeats=3, random_state=4, scoring="roc_auc")


def test_estimator_errors_become_user_code_errors() -> None:
    _, x, y = _model_and_data()
    with pytest.raises(UserCodeError) as info:
        permutation_importance(LogisticRegression(), x, y)  # never fitted
    assert info.value.step == "permutation_importance"
    with pytest.raises(InvalidArgument, match="2-D"):
        permutation_importance(LogisticRegression(), np.zeros(3), y)


def test_shap_is_optional() -> None:
    model, x, _ = _model_and_data()
    installed = importlib.util.find_spec("shap") is not None
    assert shap_available() is installed
    result = shap_importance(model, x, max_samples=50)
    if installed:
        assert result is not None and {f.feature for f in result} == set(ADULT_FEATURES)
    else:
        assert result is None


def test_shap_absent_returns_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("steward.evaluation.importance.shap_available", lambda: False)
    model, x, _ = _model_and_data()
    assert shap_importance(model, x) is None
