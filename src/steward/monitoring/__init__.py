"""Production monitoring: drift statistics, performance estimation (pure domain code).

Mergeable sketches summarise windows of a prediction log; univariate detectors, dataset drift,
multivariate drift, concept drift and label-free performance estimation work on them.
"""

from steward.monitoring.concept import ConceptDrift, ConceptDriftResult, two_proportion_z_test
from steward.monitoring.dataset_drift import DatasetDrift, DatasetDriftReport
from steward.monitoring.drift import (
    DRIFT_METHODS,
    ChiSquareDrift,
    DriftDetector,
    DriftResult,
    JensenShannonDrift,
    KSDrift,
    PsiDrift,
    WassersteinDrift,
    ZTestDrift,
    default_method,
    make_detector,
    register_drift_method,
)
from steward.monitoring.multivariate import (
    DomainClassifierDrift,
    MultivariateDriftResult,
    MultivariateReport,
    ReconstructionDrift,
    multivariate_drift,
)
from steward.monitoring.performance_estimation import CBPE, PerformanceEstimate
from steward.monitoring.sketches import (
    DEFAULT_SAMPLE_CAP,
    CategoricalSketch,
    ColumnSketch,
    NumericSketch,
    sketch_column,
    sketch_frame,
)

__all__ = [
    "CBPE",
    "DEFAULT_SAMPLE_CAP",
    "DRIFT_METHODS",
    "CategoricalSketch",
    "ChiSquareDrift",
    "ColumnSketch",
    "ConceptDrift",
    "ConceptDriftResult",
    "DatasetDrift",
    "DatasetDriftReport",
    "DomainClassifierDrift",
    "DriftDetector",
    "DriftResult",
    "JensenShannonDrift",
    "KSDrift",
    "MultivariateDriftResult",
    "MultivariateReport",
    "NumericSketch",
    "PerformanceEstimate",
    "PsiDrift",
    "ReconstructionDrift",
    "WassersteinDrift",
    "ZTestDrift",
    "default_method",
    "make_detector",
    "multivariate_drift",
    "register_drift_method",
    "sketch_column",
    "sketch_frame",
    "two_proportion_z_test",
]
