"""Bad input raises InvalidArgument naming the parameter, the rule and the value."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from steward.core.errors import InvalidArgument
from steward.experiments import (
    ABDesign,
    Assigner,
    GuardrailSpec,
    SequentialTest,
    always_valid_p_values,
    confidence_sequence,
    cuped_ttest,
    mixture_tau,
    power_means,
    relative_lift,
    sample_ratio_mismatch,
    sample_size_means,
    sample_size_proportions,
    two_proportion_ztest,
    welch_ttest,
)

OK = [1.0, 2.0, 3.0]
CASES: list[tuple[str, Callable[[], Any], str]] = [
    # (case, call, field named)
    ("empty control arm", lambda: welch_ttest([], OK), "control"),
    ("one-unit treatment arm", lambda: welch_ttest(OK, [1.0]), "treatment"),
    ("zero variance in both arms", lambda: welch_ttest([2.0, 2.0], [3.0, 3.0, 3.0]), "treatment"),
    ("NaN in an arm", lambda: welch_ttest([1.0, math.nan], OK), "control"),
    ("2-D arm", lambda: welch_ttest(np.ones((2, 2)), OK), "control"),
    ("text in an arm", lambda: welch_ttest(["a", "b"], OK), "control"),
    ("alpha of 0", lambda: welch_ttest(OK, OK, alpha=0.0), "alpha"),
    ("alpha of 1", lambda: welch_ttest(OK, OK, alpha=1.0), "alpha"),
    ("alpha above 1", lambda: two_proportion_ztest(1, 10, 2, 10, alpha=1.5), "alpha"),
    ("alpha as text", lambda: welch_ttest(OK, OK, alpha="0.05"), "alpha"),  # type: ignore[arg-type]
    ("unknown alternative", lambda: welch_ttest(OK, OK, alternative="two_sided"), "alternative"),
    ("no successes at all", lambda: two_proportion_ztest(0, 100, 0, 100), "successes_treatment"),
    ("only successes", lambda: two_proportion_ztest(100, 100, 50, 50), "successes_treatment"),
    ("more successes than units", lambda: two_proportion_ztest(11, 10, 1, 10), "successes_control"),
    ("empty proportion arm", lambda: two_proportion_ztest(0, 0, 1, 10), "n_control"),
    ("split not summing to 1", lambda: Assigner(salt="s", weights=(0.5, 0.4)), "weights"),
    ("negative weight", lambda: Assigner(salt="s", weights=(1.5, -0.5)), "weights"),
    ("one weight per variant", lambda: Assigner(salt="s", weights=(1.0,)), "weights"),
    ("duplicate variants", lambda: Assigner(salt="s", variants=("a", "a")), "variants"),
    ("a single variant", lambda: Assigner(salt="s", variants=("a",)), "variants"),
    ("empty salt", lambda: Assigner(salt=""), "salt"),
    ("srm split not summing to 1", lambda: sample_ratio_mismatch([10, 10], [0.6, 0.5]), "weights"),
    ("srm zero weight", lambda: sample_ratio_mismatch([10, 0], [1.0, 0.0]), "weights"),
    ("srm without units", lambda: sample_ratio_mismatch([0, 0], [0.5, 0.5]), "observed"),
    ("srm negative count", lambda: sample_ratio_mismatch([-1, 5], [0.5, 0.5]), "observed"),
    ("srm threshold of 0", lambda: sample_ratio_mismatch([5, 5], [0.5, 0.5], threshold=0.0), "threshold"),
    ("zero mde", lambda: sample_size_means(0.0, 1.0), "mde"),
    ("mde against the alternative", lambda: sample_size_means(-1.0, 1.0, alternative="greater"), "mde"),
    ("zero std", lambda: sample_size_means(1.0, 0.0), "std"),
    ("power of 1", lambda: sample_size_means(1.0, 1.0, power=1.0), "power"),
    ("zero ratio", lambda: power_means(1.0, 1.0, 100, ratio=0.0), "ratio"),
    ("negative sample size", lambda: power_means(1.0, 1.0, -5), "n_control"),
    ("baseline of 0", lambda: sample_size_proportions(0.0, 0.01), "baseline"),
    ("rate beyond 1", lambda: sample_size_proportions(0.95, 0.1), "mde"),
    ("unknown method", lambda: sample_size_proportions(0.1, 0.01, method="exact"), "method"),
    ("sequential alpha", lambda: SequentialTest(alpha=2.0, tau=1.0).update(OK, OK), "alpha"),
    ("sequential metric", lambda: SequentialTest(metric="median", tau=1.0).update(OK, OK), "metric"),
    ("negative tau", lambda: SequentialTest(tau=-1.0).update(OK, OK), "tau"),
    ("neither tau nor planned size", lambda: SequentialTest().update(OK, OK), "tau"),
    ("non-binary proportion", lambda: SequentialTest(metric="proportion", tau=0.1).update([0, 2], [1]), "control"),
    ("planned size of 1", lambda: SequentialTest(planned_n=1).update(OK, OK), "planned_n"),
    ("mixture alpha", lambda: mixture_tau(0.0, 1.0), "alpha"),
    ("zero mixing std", lambda: always_valid_p_values([0.1], [0.01], 0.0), "tau"),
    ("interval alpha", lambda: confidence_sequence([0.1], [0.01], 1.0, alpha=1.0), "alpha"),
    ("lift alternative", lambda: relative_lift(1.0, 0.1, 1.1, 0.1, alternative="both"), "alternative"),
    ("constant covariate", lambda: cuped_ttest(OK, OK, [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]), "control_covariate"),
    ("covariate of another length", lambda: cuped_ttest(OK, OK, OK, [1.0, 2.0]), "treatment_covariate"),
    ("design split", lambda: ABDesign(weights=(0.6, 0.6)), "weights"),
    ("design alpha", lambda: ABDesign(alpha=0.0), "alpha"),
    ("design metric type", lambda: ABDesign(metric_type="ratio"), "metric_type"),
    ("same arm twice", lambda: ABDesign(control="a", treatment="a"), "treatment"),
    ("sequential without a mixture", lambda: ABDesign(sequential=True), "tau"),
    ("guardrail margin", lambda: GuardrailSpec("latency", margin=-1.0), "margin"),
]


@pytest.mark.parametrize(("call", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_names_the_parameter(call: Callable[[], Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.field == field
    assert f"'{field}'" in info.value.message
    assert isinstance(info.value, ValueError)
