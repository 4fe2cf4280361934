"""The whole analysis of a two-variant experiment from per-unit data."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from steward.core.errors import InvalidArgument
from steward.experiments import (
    ABDesign,
    Decision,
    GuardrailSpec,
    GuardrailStatus,
    analyze_ab,
    cuped_ttest,
    sample_ratio_mismatch,
    welch_ttest,
)


def make_frame(
    seed: int = 0, n_control: int = 4000, n_treatment: int = 4000, effect: float = 0.5, latency_shift: float = 0.0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_control + n_treatment
    treated = np.repeat([False, True], [n_control, n_treatment])
    pre = rng.normal(20.0, 5.0, n)
    return pd.DataFrame(
        {
            "variant": np.where(treated, "treatment", "control"),
            "revenue": 5.0 + 0.8 * pre + effect * treated + rng.normal(0.0, 3.0, n),
            "pre_revenue": pre,
            "converted": rng.binomial(1, np.where(treated, 0.12, 0.10)),
            "latency_ms": rng.normal(120.0, 15.0, n) + latency_shift * treated,
            "errors": np.zeros(n),
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


def arms(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    treated = (frame["variant"] == "treatment").to_numpy()
    values = frame[column].to_numpy(dtype=float)
    return values[~treated], values[treated]


def test_mean_metric_matches_the_building_blocks(frame: pd.DataFrame) -> None:
    analysis = analyze_ab(frame, ABDesign(mde=0.3, planned_n=8000), metric_column="revenue")
    control, treatment = arms(frame, "revenue")
    assert analysis.primary == welch_ttest(control, treatment)
    assert analysis.srm == sample_ratio_mismatch([4000, 4000], [0.5, 0.5])
    assert analysis.sample_size_reached and analysis.planned_n == 8000
    assert analysis.cuped is None and analysis.sequential is None
    assert analysis.recommendation.decision is Decision.SHIP


def test_arrays_in_a_mapping_work_like_a_data_frame(frame: pd.DataFrame) -> None:
    columns = {name: frame[name].to_numpy() for name in ("variant", "revenue")}
    from_mapping = analyze_ab(columns, metric_column="revenue")
    from_frame = analyze_ab(frame, metric_column="revenue")
    assert from_mapping.to_dict() == from_frame.to_dict()


def test_proportion_metric_uses_the_ztest(frame: pd.DataFrame) -> None:
    analysis = analyze_ab(frame, ABDesign(metric_type="proportion", mde=0.01), metric_column="converted")
    control, treatment = arms(frame, "converted")
    z, p = proportions_ztest([treatment.sum(), control.sum()], [treatment.size, control.size])
    assert analysis.primary.test == "two_proportion_z"
    assert (analysis.primary.statistic, analysis.primary.p_value) == pytest.approx((z, p), rel=1e-9)
    # power analysis from the observed control rate: ~15k per arm needed, 4k present
    assert analysis.planned_n is not None and analysis.planned_n > 20_000
    assert not analysis.sample_size_reached
    assert analysis.recommendation.decision is Decision.KEEP_RUNNING


def test_a_covariate_turns_on_cuped(frame: pd.DataFrame) -> None:
    analysis = analyze_ab(frame, metric_column="revenue", covariate_column="pre_revenue")
    control, treatment = arms(frame, "revenue")
    x_c, x_t = arms(frame, "pre_revenue")
    assert analysis.cuped == cuped_ttest(control, treatment, x_c, x_t)
    assert analysis.primary == analysis.cuped.adjusted
    assert analysis.unadjusted == welch_ttest(control, treatment)
    assert analysis.cuped.variance_reduction > 0.6
    assert any("CUPED" in note for note in analysis.notes)


def test_sample_ratio_mismatch_blocks_shipping() -> None:
    analysis = analyze_ab(make_frame(n_control=4000, n_treatment=4400), metric_column="revenue")
    assert analysis.srm.mismatch
    assert analysis.recommendation.decision is Decision.DO_NOT_SHIP


def test_a_latency_regression_blocks_shipping() -> None:
    design = ABDesign(guardrails=(GuardrailSpec("latency_ms", margin=2.0), GuardrailSpec("errors", margin=0.001)))
    analysis = analyze_ab(make_frame(latency_shift=6.0), design, metric_column="revenue")
    status = {g.name: g.status for g in analysis.guardrails}
    assert status == {"latency_ms": GuardrailStatus.FAIL, "errors": GuardrailStatus.PASS}
    assert analysis.recommendation.decision is Decision.DO_NOT_SHIP


def test_sequential_design_reads_the_always_valid_test(frame: pd.DataFrame) -> None:
    design = ABDesign(
        sequential=True,
        mde=0.3,
        guardrails=(GuardrailSpec("latency_ms", margin=3.0), GuardrailSpec("errors", margin=0.01)),
    )
    analysis = analyze_ab(frame, design, metric_column="revenue", covariate_column="pre_revenue")
    assert analysis.sequential is not None
    assert analysis.sequential.n_control == 4000 and analysis.sequential.tau is not None
    # the always-valid interval is wider than the fixed-horizon one, and contains it here
    assert analysis.sequential.ci_low < analysis.primary.ci_low < analysis.primary.ci_high < analysis.sequential.ci_high
    assert all(g.effect.__class__.__name__ in {"SequentialResult", "ConstantComparison"} for g in analysis.guardrails)
    assert analysis.recommendation.decision is Decision.SHIP


def test_the_analysis_is_json_safe(frame: pd.DataFrame) -> None:
    design = ABDesign(sequential=True, tau=0.2, guardrails=(GuardrailSpec("errors", margin=0.0),))
    analysis = analyze_ab(frame, design, metric_column="revenue", covariate_column="pre_revenue")
    as_dict = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert as_dict["recommendation"]["decision"] in {"ship", "do_not_ship", "keep_running"}
    assert as_dict["design"]["guardrails"][0]["name"] == "errors"
    assert as_dict["guardrails"][0]["effect"]["test"] == "constant"
    assert as_dict["sequential"]["test"] == "msprt"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metric_column": "missing"}, "metric_column"),
        ({"variant_column": "missing"}, "variant_column"),
        ({"covariate_column": "missing"}, "covariate_column"),
    ],
)
def test_missing_columns_are_named(frame: pd.DataFrame, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        analyze_ab(frame, **{"metric_column": "revenue", **kwargs})
    assert info.value.field == field


def test_unknown_variants_are_rejected(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgument, match="'holdout'") as info:
        analyze_ab(frame.assign(variant=frame["variant"].replace({"control": "holdout"})), metric_column="revenue")
    assert info.value.field == "variant_column"


def test_an_empty_arm_is_rejected(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgument, match="control arm") as info:
        analyze_ab(frame[frame["variant"] == "treatment"], metric_column="revenue")
    assert info.value.field == "data"


def test_a_proportion_metric_must_be_binary(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgument, match="0/1") as info:
        analyze_ab(frame, ABDesign(metric_type="proportion"), metric_column="revenue")
    assert info.value.field == "metric_column"


def test_missing_values_are_rejected(frame: pd.DataFrame) -> None:
    broken = frame.assign(revenue=frame["revenue"].where(frame.index != 3))
    with pytest.raises(InvalidArgument, match="finite") as info:
        analyze_ab(broken, metric_column="revenue")
    assert info.value.field == "metric_column"


def test_unequal_arrays_are_rejected() -> None:
    with pytest.raises(InvalidArgument) as info:
        analyze_ab({"variant": ["control", "treatment"], "metric": [1.0]})
    assert info.value.field == "data"
