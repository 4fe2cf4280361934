"""A window's prediction and score drift: the test Evidently picks by type and sample size, as
for features, overridable per column; and the numbers alert rules read from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from steward.core.errors import InvalidArgument
from steward.monitoring.analysis import DriftOptions, analyse
from steward.monitoring.models import MonitorConfig
from steward.monitoring.reference import Reference, reference_from_frame
from steward.monitoring.windows import Window


def _side(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = np.clip(rng.beta(2, 5, n) + shift, 0, 1)
    return pd.DataFrame({"x": rng.normal(size=n), "score": score, "prediction": np.where(score > 0.5, "yes", "no")})


def _run(n: int, options: DriftOptions | None = None, shift: float = 0.1) -> tuple[Reference, Reference, object]:
    ref = reference_from_frame(_side(n, 1), description="ref")
    cur = reference_from_frame(_side(n, 2, shift), description="cur")
    out = analyse("d", Window(0, 1000), "1d", cur.summary, ref, options=options)
    return ref, cur, out


def test_small_references_get_evidentlys_tests_and_they_equal_scipys() -> None:
    _, _, out = _run(600)
    pred, score = out.prediction_drift, out.score_drift  # type: ignore[attr-defined]
    assert pred.method == "z" and score.method == "ks"  # binary prediction; a continuous score
    a, b = _side(600, 1)["score"].to_numpy(), np.clip(_side(600, 2, 0.1)["score"].to_numpy(), 0, 1)
    expected = stats.ks_2samp(a, b)
    assert score.statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert score.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    metrics = out.metrics()  # type: ignore[attr-defined]
    # A p-value test: rules read its effect size (KS D), on the same scale as the distances.
    assert metrics["score_drift"] == pytest.approx(score.effect_size) and metrics["score_drift_detected"] == 1.0
    assert metrics["prediction_drift"] == pytest.approx(pred.effect_size)


def test_large_references_get_distances() -> None:
    _, _, out = _run(3000)
    pred, score = out.prediction_drift, out.score_drift  # type: ignore[attr-defined]
    assert pred.method == "jensenshannon" and score.method == "wasserstein"
    ref_pred = _side(3000, 1)["prediction"].value_counts(normalize=True).sort_index()
    cur_pred = _side(3000, 2, 0.1)["prediction"].value_counts(normalize=True).sort_index()
    assert pred.statistic == pytest.approx(jensenshannon(ref_pred.to_numpy(), cur_pred.to_numpy()), abs=1e-9)
    assert out.metrics()["prediction_drift"] == pytest.approx(pred.statistic)  # type: ignore[attr-defined]


def test_prediction_and_score_tests_can_be_overridden_as_columns_are() -> None:
    opts = DriftOptions(prediction_method="psi", score_method="jensenshannon", score_threshold=0.5)
    _, _, out = _run(600, opts)
    pred, score = out.prediction_drift, out.score_drift  # type: ignore[attr-defined]
    assert pred.method == "psi" and score.method == "jensenshannon"
    assert score.threshold == 0.5 and not score.drifted  # the shift is real, the threshold is not reached


def test_an_unknown_method_is_refused_when_configured() -> None:
    with pytest.raises(InvalidArgument, match=r"options\.score_method.*must be one of"):
        MonitorConfig.parse("options: {score_method: bogus}")
