"""Multivariate drift: a change in the joint distribution with unchanged marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from steward.core.errors import InvalidArgument, UserCodeError
from steward.monitoring.multivariate import DomainClassifierDrift, ReconstructionDrift


def _frame(n: int, rho: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "c": rng.choice(["x", "y", "z"], n)})


@pytest.fixture(autouse=True)
def _one_thread() -> object:
    # Gradient boosting's OpenMP threads crawl on a busy shared machine.
    with threadpool_limits(limits=1):
        yield


def test_reconstruction_drift_sees_a_flipped_correlation() -> None:
    detector = ReconstructionDrift().fit(_frame(3000, 0.9, 0))
    assert not detector.score(_frame(1000, 0.9, 1)).drifted
    result = detector.score(_frame(1000, -0.9, 2))
    assert result.drifted and result.statistic > result.upper_threshold
    assert detector.get_params()["n_components"] == 0.65


def test_domain_classifier_sees_a_flipped_correlation() -> None:
    detector = DomainClassifierDrift(max_rows=1500).fit(_frame(1500, 0.9, 0))
    same = detector.score(_frame(1500, 0.9, 1))
    assert not same.drifted and 0.4 < same.statistic < 0.6
    assert detector.score(_frame(1500, -0.9, 2)).drifted


def test_domain_classifier_accepts_an_estimator_and_wraps_its_failures() -> None:
    detector = DomainClassifierDrift(estimator=LogisticRegression(), columns=["a", "b"]).fit(_frame(500, 0.0, 0))
    shifted = _frame(500, 0.0, 1).assign(a=lambda f: f["a"] + 1.0)
    assert detector.score(shifted).drifted

    class Broken(LogisticRegression):
        def fit(self, *args: object, **kwargs: object) -> Broken:
            raise RuntimeError("boom")

    with pytest.raises(UserCodeError):
        DomainClassifierDrift(estimator=Broken(), columns=["a"]).fit(_frame(100, 0.0, 0)).score(_frame(100, 0.0, 1))


def test_bad_parameters() -> None:
    with pytest.raises(InvalidArgument, match="'threshold' parameter of DomainClassifierDrift"):
        DomainClassifierDrift(threshold=0.3).fit(_frame(100, 0.0, 0))
    with pytest.raises(InvalidArgument, match="lacks the columns"):
        ReconstructionDrift(columns=["nope"]).fit(_frame(100, 0.0, 0))
