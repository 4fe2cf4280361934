from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from steward.core.errors import InvalidArgument
from steward.pipelines.search import Trial, run_search
from steward.pipelines.spec import SearchSpec, SplitSpec


def problem() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    return x, pd.Series((x["a"] + rng.normal(scale=0.5, size=200) > 0).astype(int))


def model() -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])


SPACE = SearchSpec.model_validate(
    {
        "trials": 4,
        "cv": 3,
        "space": {
            "C": {"type": "float", "low": 0.01, "high": 10.0, "log": True},
            "scale__with_mean": {"type": "categorical", "choices": [True, False]},
        },
    }
)


def test_search_is_seeded_and_reports_every_trial() -> None:
    x, y = problem()
    seen: list[Trial] = []
    a = run_search(model(), x, y, spec=SPACE, split=SplitSpec(), task="classification", seed=1, on_trial=seen.append)
    b = run_search(model(), x, y, spec=SPACE, split=SplitSpec(), task="classification", seed=1)
    assert a.best_params == b.best_params and a.best_score == b.best_score
    assert [t.number for t in seen] == [0, 1, 2, 3]
    assert a.metric == "roc_auc" and a.best_score == max(t.score for t in seen)


def test_unknown_search_parameter_is_refused() -> None:
    x, y = problem()
    spec = SearchSpec.model_validate({"space": {"depth": {"type": "int", "low": 1, "high": 3}}})
    with pytest.raises(InvalidArgument, match="'depth' is not a parameter of the model") as info:
        run_search(model(), x, y, spec=spec, split=SplitSpec(), task="classification", seed=0)
    assert info.value.field == "search.space.depth"
