"""Drift on real data (ACS employment, Massachusetts 2015): injected drift is found, a random
split of the same data raises no alarm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from steward.monitoring.dataset_drift import DatasetDrift
from steward.monitoring.multivariate import DomainClassifierDrift, ReconstructionDrift

from ._acs import FEATURES, reference


def _split(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    data = reference()[FEATURES].sample(2 * n, random_state=seed).reset_index(drop=True)
    return data.iloc[:n].reset_index(drop=True), data.iloc[n:].reset_index(drop=True)


def _inject(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Older and more spread ages; a different schooling mix (more degrees)."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["AGEP"] = (out["AGEP"] - out["AGEP"].mean()) * 1.3 + out["AGEP"].mean() + 6
    schl = out["SCHL"].astype(str).to_numpy()
    swap = rng.random(len(out)) < 0.4
    schl[swap] = rng.choice(["21", "22", "24"], swap.sum())
    out["SCHL"] = pd.Categorical(schl)
    out["MAR"] = out["MAR"].astype(str).replace({"1": "5"})
    return out


@pytest.mark.parametrize("n", [800, 20_000])
def test_injected_drift_is_detected_on_acs(n: int) -> None:
    ref, cur = _split(n, seed=1)
    drifted = _inject(cur, seed=2)
    report = DatasetDrift(numerical_columns=["AGEP"], categorical_columns=FEATURES[1:]).fit(ref).score(drifted)
    flagged = {c.column for c in report.columns if c.drifted}
    assert {"AGEP", "SCHL", "MAR"} <= flagged
    assert flagged <= {"AGEP", "SCHL", "MAR", "RELP", "ESP"}  # RELP / ESP correlate with age and marriage


@pytest.mark.parametrize(("n", "seed"), [(500, 3), (800, 4), (5_000, 5), (30_000, 6)])
def test_no_alarm_on_a_random_split_of_acs(n: int, seed: int) -> None:
    ref, cur = _split(n, seed)
    report = DatasetDrift(numerical_columns=["AGEP"], categorical_columns=FEATURES[1:]).fit(ref).score(cur)
    assert not report.drifted
    assert report.n_drifted == 0


def test_multivariate_detectors_on_acs() -> None:
    ref, cur = _split(3_000, seed=7)
    drifted = _inject(cur, seed=8)
    with threadpool_limits(limits=1):  # gradient boosting's OpenMP threads crawl on a busy machine
        _check_multivariate(ref, cur, drifted)


def _check_multivariate(ref: pd.DataFrame, cur: pd.DataFrame, drifted: pd.DataFrame) -> None:
    for detector in (DomainClassifierDrift(), ReconstructionDrift()):
        assert not detector.fit(ref).score(cur).drifted, type(detector).__name__
        assert detector.fit(ref).score(drifted).drifted, type(detector).__name__
