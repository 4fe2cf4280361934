"""Dataset drift: Evidently's verdict, BH control, calibration, and the false-alarm rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from steward.core.errors import InvalidArgument, NotFound
from steward.monitoring import _stats
from steward.monitoring.dataset_drift import DatasetDrift
from steward.monitoring.sketches import NumericSketch, sketch_frame

LEVELS = np.array([f"c{i}" for i in range(30)], dtype=object)
ZIPF = 1 / np.arange(1, 31) ** 1.1
ZIPF /= ZIPF.sum()


def _undrifted(n: int, rng: np.random.Generator, columns: tuple[str, ...]) -> pd.DataFrame:
    """Skewed, heavy-tailed, discrete and high-cardinality columns: where fixed thresholds and
    goodness-of-fit tests raise false alarms."""
    make = {
        "normal": lambda: rng.normal(size=n),
        "t5": lambda: rng.standard_t(5, n),
        "exp": lambda: rng.exponential(size=n),
        "poisson": lambda: rng.poisson(3, n).astype(float),
        "zipf30": lambda: LEVELS[rng.choice(30, n, p=ZIPF)],
        "binary": lambda: np.where(rng.random(n) < 0.2, "yes", "no"),
    }
    return pd.DataFrame({c: make[c]() for c in columns})


ALL = ("normal", "t5", "exp", "poisson", "zipf30", "binary")
# (rows per window, replicates, columns): every size from 500 to 1,000,000, both sides of
# Evidently's switch at 1,000 reference rows, and the worst case of a single column.
PLAN = [
    (500, 150, ALL),
    (1_000, 100, ALL),
    (1_001, 100, ALL),
    (3_000, 40, ALL),
    (30_000, 10, ALL),
    (300_000, 4, ("normal", "poisson", "zipf30")),
    (1_000_000, 3, ("exp", "zipf30")),
]


def test_false_alarm_rate_stays_below_five_percent_from_500_to_a_million_rows() -> None:
    alarms, windows, ratios = 0, 0, []
    for n, replicates, columns in PLAN:
        rng = np.random.default_rng(n)
        size_alarms = 0
        for r in range(replicates):
            detector = DatasetDrift(random_state=r).fit(_undrifted(n, rng, columns))
            report = detector.score(_undrifted(n, rng, columns))
            size_alarms += report.drifted
            if n > 1_000:
                ratios += [c.statistic / c.threshold for c in report.columns]
        assert size_alarms / replicates <= 0.05, (n, size_alarms)
        alarms += size_alarms
        windows += replicates
    assert alarms / windows <= 0.05
    # Past 1,000 rows every undrifted distance stays far from its threshold at large windows.
    assert max(ratios[-(4 * 3 + 3 * 2) :]) < 0.5


def test_single_column_false_alarm_rate_is_the_nominal_level() -> None:
    """One column: the dataset alarms when the column does, at most ``false_alarm_rate`` (up to
    the simulation's own noise: 2 standard errors)."""
    for n in (500, 1_001, 5_000):
        rng = np.random.default_rng(n)
        alarms = sum(
            DatasetDrift(random_state=r)
            .fit(_undrifted(n, rng, ("zipf30",)))
            .score(_undrifted(n, rng, ("zipf30",)))
            .drifted
            for r in range(200)
        )
        assert alarms / 200 <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 200), (n, alarms)


def test_evidently_rules_alone_raise_false_alarms_that_calibration_removes() -> None:
    rng = np.random.default_rng(3)
    cols = ("zipf30",)
    raw = calibrated = 0
    for r in range(40):
        ref, cur = _undrifted(1_500, rng, cols), _undrifted(300, rng, cols)
        raw += DatasetDrift(correction="none", calibrate=False, random_state=r).fit(ref).score(cur).drifted
        calibrated += DatasetDrift(random_state=r).fit(ref).score(cur).drifted
    assert raw >= 30  # JS >= 0.1 is noise for 30 categories in 300 rows
    assert calibrated <= 3


def _drifted_pair(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)
    ref = _undrifted(n, rng, ALL)
    cur = _undrifted(n, rng, ALL)
    cur["normal"] = cur["normal"] + 0.5
    cur["t5"] = cur["t5"] * 1.5
    cur["exp"] = cur["exp"] + 0.5
    cur["zipf30"] = LEVELS[rng.choice(30, n, p=ZIPF[::-1])]
    return ref, cur


@pytest.mark.parametrize("n", [600, 20_000])
def test_real_drift_is_detected_on_both_sides_of_the_switch(n: int) -> None:
    ref, cur = _drifted_pair(n)
    report = DatasetDrift().fit(ref).score(cur)
    assert report.drifted
    assert {c.column for c in report.columns if c.drifted} >= {"normal", "t5", "exp", "zipf30"}
    assert not report.column("binary").drifted
    assert report.share_drifted == report.n_drifted / 6


def test_benjamini_hochberg_equals_scipy() -> None:
    p = np.random.default_rng(0).uniform(size=50) ** 3
    np.testing.assert_allclose(_stats.benjamini_hochberg(p), stats.false_discovery_control(p), atol=1e-12)


def test_p_value_columns_carry_adjusted_p_values_and_effect_sizes() -> None:
    ref, cur = _drifted_pair(600)
    frame = DatasetDrift().fit(ref).score(cur).to_frame()
    tests = frame[frame["p_value"].notna()]
    assert set(tests["method"]) == {"ks", "chisquare", "z"}
    assert (tests["p_value_adjusted"] >= tests["p_value"]).all()
    np.testing.assert_allclose(tests["p_value_adjusted"], stats.false_discovery_control(tests["p_value"]))
    assert tests["effect_size"].notna().all()


def test_column_level_follows_the_markov_bound() -> None:
    ref, cur = _drifted_pair(2_000)
    report = DatasetDrift().fit(ref).score(cur)
    assert report.column_level == pytest.approx(0.05 * 3 / 6)
    one = DatasetDrift(numerical_columns=["normal"]).fit(ref).score(cur)
    assert one.column_level == pytest.approx(0.05)


def test_without_correction_and_calibration_it_is_evidentlys_rule() -> None:
    ref, cur = _drifted_pair(600)
    report = DatasetDrift(correction="none", calibrate=False).fit(ref).score(cur)
    for c in report.columns:
        assert c.drifted == (c.p_value is not None and (c.p_value <= 0.05 if c.method == "ks" else c.p_value < 0.05))
    assert report.drifted == (report.n_drifted / 6 >= 0.5)


def test_methods_and_thresholds_can_be_overridden_per_column() -> None:
    ref, cur = _drifted_pair(3_000)
    report = DatasetDrift(methods={"normal": "ks", "zipf30": "psi"}, thresholds={"exp": 0.9}).fit(ref).score(cur)
    assert report.column("normal").method == "ks"
    assert report.column("zipf30").method == "psi"
    assert report.column("exp").threshold == 0.9 and not report.column("exp").drifted


def test_batches_and_sketches_give_the_frame_result() -> None:
    ref, cur = _drifted_pair(3_000)
    whole = DatasetDrift(random_state=1).fit(ref).score(cur)
    batched = DatasetDrift(random_state=1).fit(ref.iloc[i : i + 500] for i in range(0, 3_000, 500))
    by_batches = batched.score(cur.iloc[i : i + 700] for i in range(0, 3_000, 700))
    kinds = batched.kinds_
    parts = [sketch_frame(cur.iloc[:1000], kinds, random_state=5), sketch_frame(cur.iloc[1000:], kinds, random_state=6)]
    merged = {c: parts[0][c].merge(parts[1][c]) for c in kinds}  # type: ignore[arg-type]
    by_sketches = batched.score(merged)
    for a, b, c in zip(whole.columns, by_batches.columns, by_sketches.columns, strict=True):
        assert a.statistic == pytest.approx(b.statistic, rel=1e-9) == pytest.approx(c.statistic, rel=1e-9)
        assert a.drifted == b.drifted == c.drifted


def test_windows_past_the_sample_cap_agree_with_exact_statistics() -> None:
    ref, cur = _drifted_pair(50_000)
    exact = DatasetDrift(sample_cap=50_000).fit(ref).score(cur)
    capped = DatasetDrift(sample_cap=5_000).fit(ref).score(cur)
    for a, b in zip(exact.columns, capped.columns, strict=True):
        assert abs(a.statistic - b.statistic) < 0.03, a.column
        assert a.drifted == b.drifted


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"drift_share": 0.0}, "drift_share"),
        ({"false_alarm_rate": 1.0}, "false_alarm_rate"),
        ({"correction": "bonferroni"}, "correction"),
        ({"n_calibration": 5}, "n_calibration"),
        ({"methods": {"normal": "anderson"}}, "methods['normal']"),
        ({"numerical_columns": ["a"], "categorical_columns": ["a"]}, "categorical_columns"),
    ],
)
def test_bad_parameters_name_the_field(params: dict[str, object], field: str) -> None:
    ref, _ = _drifted_pair(600)
    with pytest.raises(InvalidArgument) as info:
        DatasetDrift(**params).fit(ref)  # type: ignore[arg-type]
    assert info.value.field == field


def test_misuse_raises_clear_errors() -> None:
    ref, cur = _drifted_pair(600)
    with pytest.raises(InvalidArgument, match="not fitted"):
        DatasetDrift().score(cur)
    with pytest.raises(InvalidArgument, match="does not apply"):
        DatasetDrift(methods={"zipf30": "wasserstein"}).fit(ref).score(cur)
    with pytest.raises(InvalidArgument, match="no non-null value"):
        DatasetDrift().fit(ref).score(cur.assign(normal=np.nan))
    with pytest.raises(NotFound):
        DatasetDrift().fit(ref).score(cur).column("nope")
    assert isinstance(DatasetDrift().fit(ref).reference_["normal"], NumericSketch)
