"""A/B testing statistics (pure domain code): assignment, power, tests, SRM, sequential, CUPED.

- :mod:`~steward.experiments.assignment`: sticky hash-based assignment of units to variants.
- :mod:`~steward.experiments.power`: sample size and power for a minimum detectable effect.
- :mod:`~steward.experiments.analysis`: Welch's t-test, the two-proportion z-test, relative lift.
- :mod:`~steward.experiments.srm`: the sample-ratio-mismatch check.
- :mod:`~steward.experiments.sequential`: always-valid inference (mSPRT), safe to peek.
- :mod:`~steward.experiments.cuped`: variance reduction with a pre-period covariate.
- :mod:`~steward.experiments.recommend`: ship / do not ship / keep running, with reasons.
- :mod:`~steward.experiments.report`: the whole analysis of a two-variant experiment.
"""

from steward.experiments.analysis import (
    MeanComparison,
    ProportionComparison,
    RelativeLift,
    relative_lift,
    two_proportion_ztest,
    welch_ttest,
)
from steward.experiments.assignment import Assigner, bucket, buckets
from steward.experiments.cuped import Cuped, CupedResult, cuped_ttest
from steward.experiments.power import (
    SampleSize,
    minimum_detectable_effect_means,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from steward.experiments.recommend import (
    Decision,
    Effect,
    Guardrail,
    GuardrailStatus,
    Recommendation,
    recommend,
)
from steward.experiments.report import (
    ABAnalysis,
    ABDesign,
    ConstantComparison,
    GuardrailSpec,
    analyze_ab,
)
from steward.experiments.sequential import (
    SequentialResult,
    SequentialTest,
    always_valid_p_values,
    confidence_sequence,
    mixture_log_likelihood_ratio,
    mixture_tau,
)
from steward.experiments.srm import DEFAULT_SRM_THRESHOLD, SRMResult, sample_ratio_mismatch

__all__ = [
    "DEFAULT_SRM_THRESHOLD",
    "ABAnalysis",
    "ABDesign",
    "Assigner",
    "ConstantComparison",
    "Cuped",
    "CupedResult",
    "Decision",
    "Effect",
    "Guardrail",
    "GuardrailSpec",
    "GuardrailStatus",
    "MeanComparison",
    "ProportionComparison",
    "Recommendation",
    "RelativeLift",
    "SRMResult",
    "SampleSize",
    "SequentialResult",
    "SequentialTest",
    "always_valid_p_values",
    "analyze_ab",
    "bucket",
    "buckets",
    "confidence_sequence",
    "cuped_ttest",
    "minimum_detectable_effect_means",
    "mixture_log_likelihood_ratio",
    "mixture_tau",
    "power_means",
    "power_proportions",
    "recommend",
    "relative_lift",
    "sample_ratio_mismatch",
    "sample_size_means",
    "sample_size_proportions",
    "two_proportion_ztest",
    "welch_ttest",
]
