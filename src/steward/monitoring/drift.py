"""Univariate drift detectors: one column of a reference window against a current window.

Each detector is estimator-style: ``__init__`` stores parameters, ``fit(reference)`` keeps a
sketch of the reference (``reference_``), ``score(current)`` returns a :class:`DriftResult`
with the statistic, the p-value (for tests), an effect size, the threshold and the verdict.
Inputs are arrays, pandas Series, or sketches from :mod:`steward.monitoring.sketches`. Raw
arrays are sketched exactly, so every statistic equals scipy's on the same data; sketches past
their sample cap give the approximations documented in :mod:`~steward.monitoring.sketches`.

The statistics and verdict rules are Evidently 0.7's (``legacy/calculations/stattests``):

=============  ========================  ==================================  ==========
method         kinds                     statistic                           drift if
=============  ========================  ==================================  ==========
ks             numerical                 two-sample Kolmogorov-Smirnov       p <= 0.05
chisquare      numerical, categorical    chi-square goodness of fit          p < 0.05
z              numerical, categorical    pooled two-proportion z-test        p < 0.05
wasserstein    numerical                 Wasserstein / max(std(ref), 0.001)  >= 0.1
psi            numerical, categorical    population stability index          >= 0.1
jensenshannon  numerical, categorical    Jensen-Shannon distance (natural)   >= 0.1
=============  ========================  ==================================  ==========

Binning for psi / jensenshannon on numerical columns is Evidently's: Sturges bins over the
union of both windows when the reference has more than 20 distinct values, else value counts
over the union of values. One deliberate difference: chi-square pools cells whose expected
count is below ``min_expected`` (default 5, Cochran's rule); with ``min_expected=0`` it is
Evidently's test, which reports p = 0 whenever the current window holds a category the
reference never had, a frequent false alarm on rare categories.

:func:`default_method` picks the test exactly as Evidently does (column kind, non-null rows of
the reference, distinct values of both windows together). Every detector registers itself in
:data:`DRIFT_METHODS`.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> result = WassersteinDrift().fit(rng.normal(size=2000)).score(rng.normal(0.5, 1, 2000))
    >>> result.method, result.drifted, round(result.statistic, 1)
    ('wasserstein', True, 0.5)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import stats

from steward.core.errors import InvalidArgument
from steward.monitoring import _stats
from steward.monitoring._stats import FloatArray
from steward.monitoring._validation import check_choice, check_float, check_int
from steward.monitoring.sketches import (
    CategoricalSketch,
    ColumnKind,
    ColumnSketch,
    NumericSketch,
    sketch_column,
)

_BOTH: frozenset[ColumnKind] = frozenset({"numerical", "categorical"})
_NUMERICAL: frozenset[ColumnKind] = frozenset({"numerical"})


@dataclass(frozen=True)
class DriftResult:
    """What a detector found for one column.

    ``p_value`` is None for distances. ``p_value_adjusted`` and ``calibrated_threshold`` are set
    by :class:`~steward.monitoring.dataset_drift.DatasetDrift` (multiple-testing control and the
    threshold calibrated on the reference); ``drifted`` is the final verdict.
    """

    method: str
    display_name: str
    kind: ColumnKind
    statistic: float
    p_value: float | None
    effect_size: float
    effect_size_name: str
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    column: str | None = None
    p_value_adjusted: float | None = None
    calibrated_threshold: float | None = None

    @property
    def is_test(self) -> bool:
        return self.p_value is not None


@dataclass(frozen=True)
class _Outcome:
    statistic: float
    p_value: float | None
    effect_size: float


class DriftDetector(ABC):
    """Base of the univariate drift detectors (see the module docstring)."""

    method: ClassVar[str]
    display_name: ClassVar[str]
    kinds: ClassVar[frozenset[ColumnKind]]
    is_test: ClassVar[bool]
    default_threshold: ClassVar[float]
    threshold_high: ClassVar[float] = 1.0
    effect_size_name: ClassVar[str]

    def __init__(self, threshold: float | None = None) -> None:
        self.threshold = threshold

    def get_params(self) -> dict[str, Any]:
        return {"threshold": self.threshold}

    @property
    def threshold_(self) -> float:
        """The threshold in force: the parameter, or the method's default."""
        if self.threshold is None:
            return self.default_threshold
        return check_float(
            self.threshold,
            name="threshold",
            owner=type(self).__name__,
            low=0.0,
            high=self.threshold_high,
            high_open=self.is_test,
        )

    def fit(self, reference: object, kind: ColumnKind | None = None) -> Self:
        """Keep a sketch of the reference column (raw values are sketched exactly)."""
        _ = self.threshold_
        sketch = self._sketch(reference, kind, side="reference")
        self.reference_ = sketch
        self.kind_: ColumnKind = sketch.kind
        return self

    def score(self, current: object) -> DriftResult:
        """Compare a current window with the reference."""
        reference = self._fitted()
        current_sketch = self._sketch(current, reference.kind, side="current")
        outcome = self.compute(reference, current_sketch)
        return DriftResult(
            method=self.method,
            display_name=self.display_name,
            kind=reference.kind,
            statistic=outcome.statistic,
            p_value=outcome.p_value,
            effect_size=outcome.effect_size,
            effect_size_name=self.effect_size_name,
            threshold=self.threshold_,
            drifted=self.decide(outcome.statistic, outcome.p_value, self.threshold_),
            n_reference=reference.count_,
            n_current=current_sketch.count_,
        )

    def decide(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        """Distances drift at ``statistic >= threshold``; tests at ``p < threshold``."""
        if p_value is not None:
            return p_value < threshold
        return statistic >= threshold

    @abstractmethod
    def compute(self, reference: ColumnSketch, current: ColumnSketch) -> _Outcome:
        """The statistic of two sketches of the same kind."""

    def null_distribution(
        self, reference: ColumnSketch, current: ColumnSketch, n_draws: int, rng: np.random.Generator
    ) -> FloatArray | None:
        """Draws of the statistic when both windows come from one distribution (estimated from
        both pooled, as a permutation test does), at the sizes this comparison uses; None for
        tests (their p-values are already calibrated)."""
        return None

    # -- helpers ---------------------------------------------------------------------------
    def _fitted(self) -> ColumnSketch:
        if not hasattr(self, "reference_"):
            raise InvalidArgument(
                f"This {type(self).__name__} is not fitted yet: call fit(reference) first.",
                field="reference",
            )
        return self.reference_

    def _sketch(self, data: object, kind: ColumnKind | None, side: str) -> ColumnSketch:
        sketch = sketch_column(data, kind)
        if kind is not None and sketch.kind != kind:
            raise InvalidArgument(
                f"The {side!r} column of {type(self).__name__} must be {kind}. Got {sketch.kind} instead.",
                field=side,
            )
        if sketch.kind not in self.kinds:
            raise InvalidArgument(
                f"The {side!r} column of {type(self).__name__} must be one of {sorted(self.kinds)}. "
                f"Got {sketch.kind} instead.",
                field=side,
            )
        if sketch.count_ == 0:
            raise InvalidArgument(
                f"The {side!r} column of {type(self).__name__} must hold at least one non-null value. "
                "Got none instead.",
                field=side,
            )
        return sketch


D = TypeVar("D", bound=type[DriftDetector])

DRIFT_METHODS: dict[str, type[DriftDetector]] = {}
"""Every drift method by name; built-ins register themselves like any extension."""


def register_drift_method(cls: D) -> D:
    """Class decorator adding a detector to :data:`DRIFT_METHODS` under ``cls.method``."""
    DRIFT_METHODS[cls.method] = cls
    return cls


# -- counts of both windows, as the peers bin them ------------------------------------------
def _value_counts(sketch: ColumnSketch) -> dict[Hashable, int]:
    if isinstance(sketch, CategoricalSketch):
        return sketch.counts_
    if sketch.value_counts_ is not None:
        return {k: v for k, v in sketch.value_counts_.items()}
    keys, counts = np.unique(sketch.sample_, return_counts=True)
    return dict(zip(keys.tolist(), counts.tolist(), strict=True))


def binned_counts(reference: ColumnSketch, current: ColumnSketch) -> tuple[FloatArray, FloatArray]:
    """Evidently's ``get_binned_data`` as counts: Sturges bins over both windows for numerical
    columns with more than 20 distinct reference values, else counts over the union of values."""
    if isinstance(reference, NumericSketch) and isinstance(current, NumericSketch) and reference.n_unique > 20:
        edges = _stats.sturges_edges(
            min(reference.min_, current.min_),
            max(reference.max_, current.max_),
            reference.count_ + current.count_,
        )
        ref = np.histogram(reference.sample_, edges)[0].astype(np.float64)
        cur = np.histogram(current.sample_, edges)[0].astype(np.float64)
        return ref, cur
    _, ref, cur = _stats.aligned_counts(_value_counts(reference), _value_counts(current))
    return ref, cur


def _multinomial_null(
    ref_counts: FloatArray, cur_counts: FloatArray, n_draws: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    pooled = ref_counts + cur_counts
    p = pooled / pooled.sum()
    r = rng.multinomial(int(ref_counts.sum()), p, size=n_draws).astype(np.float64)
    c = rng.multinomial(int(cur_counts.sum()), p, size=n_draws).astype(np.float64)
    return r, c


def _sorted_uniform_indices(rng: np.random.Generator, rows: int, m: int, n: int) -> npt.NDArray[np.intp]:
    """Rows of ``m`` indices drawn uniformly from ``range(n)``, each row sorted: sorted uniforms
    are normalised cumulative sums of exponentials, so no sort is needed."""
    gaps = np.cumsum(rng.standard_exponential((rows, m + 1)), axis=1)
    u = gaps[:, :-1] / gaps[:, -1:]
    return np.minimum((u * n).astype(np.intp), n - 1)


def n_unique_union(reference: ColumnSketch, current: ColumnSketch) -> int:
    """Distinct non-null values of both windows together (exact up to the sketch's limit)."""
    if isinstance(reference, CategoricalSketch) and isinstance(current, CategoricalSketch):
        return len(reference.counts_.keys() | current.counts_.keys())
    assert isinstance(reference, NumericSketch) and isinstance(current, NumericSketch)
    if reference.value_counts_ is not None and current.value_counts_ is not None:
        return len(reference.value_counts_.keys() | current.value_counts_.keys())
    return max(reference.n_unique, current.n_unique)


def default_method(kind: ColumnKind, n_reference: int, n_unique: int) -> str:
    """Evidently's default test (``stattests/registry.py: _get_default_stattest``).

    Example:
        >>> default_method("numerical", 500, 100), default_method("numerical", 5000, 100)
        ('ks', 'wasserstein')
        >>> default_method("categorical", 500, 2), default_method("categorical", 5000, 2)
        ('z', 'jensenshannon')
    """
    if n_reference <= 1000:
        if kind == "numerical" and n_unique > 5:
            return "ks"
        return "chisquare" if n_unique > 2 else "z"
    if kind == "numerical" and n_unique > 5:
        return "wasserstein"
    return "jensenshannon"


# -- the detectors ------------------------------------------------------------------------
@register_drift_method
class KSDrift(DriftDetector):
    """Two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``, two-sided, method auto);
    drift when ``p <= threshold``. Effect size: the statistic D itself."""

    method = "ks"
    display_name = "K-S p_value"
    kinds = _NUMERICAL
    is_test = True
    default_threshold = 0.05
    effect_size_name = "ks_d"

    def decide(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        return p_value is not None and p_value <= threshold

    def compute(self, reference: ColumnSketch, current: ColumnSketch) -> _Outcome:
        assert isinstance(reference, NumericSketch) and isinstance(current, NumericSketch)
        res = stats.ks_2samp(reference.sorted_sample(), current.sorted_sample())
        return _Outcome(float(res.statistic), float(res.pvalue), float(res.statistic))


@register_drift_method
class ChiSquareDrift(DriftDetector):
    """Chi-square test over the categories of both windows.

    ``test="homogeneity"`` (default) is the two-sample test of the 2 x k table (reference,
    current) x categories, ``scipy.stats.chi2_contingency(table, correction=False)``. It accounts
    for the reference being a sample too. ``test="goodness_of_fit"`` is Evidently's test,
    ``scipy.stats.chisquare(current, reference x n_current / n_reference)``. It treats the
    reference shares as exact, so the test rejects far too often when the data have not
    drifted (about 80% of windows for 30 skewed categories at 500 rows each). Categories whose
    expected count is below ``min_expected`` (default 5, Cochran's rule; 0 turns pooling off)
    are pooled into one cell. Effect size: Cramer's V (homogeneity) or Cohen's w = sqrt(chi2 / n).
    """

    method = "chisquare"
    display_name = "chi-square p_value"
    kinds = _BOTH
    is_test = True
    default_threshold = 0.05
    effect_size_name = "cramers_v"

    def __init__(self, threshold: float | None = None, test: str = "homogeneity", min_expected: float = 5.0) -> None:
        super().__init__(threshold)
        self.test = test
        self.min_expected = min_expected

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "test": self.test, "min_expected": self.min_expected}

    def compute(self, reference: ColumnSketch, current: ColumnSketch) -> _Outcome:
        check_choice(self.test, name="test", owner="ChiSquareDrift", choices={"homogeneity", "goodness_of_fit"})
        min_expected = check_float(
            self.min_expected,
            name="min_expected",
            owner="ChiSquareDrift",
            low=0.0,
            high=math.inf,
            low_open=False,
        )
        _, ref, cur = _stats.aligned_counts(_value_counts(reference), _value_counts(current))
        if self.test == "homogeneity":
            return self._homogeneity(ref, cur, min_expected)
        observed, expected = _stats.pool_small_cells(cur, ref * (cur.sum() / ref.sum()), min_expected)
        if observed.size < 2:
            return _Outcome(0.0, 1.0, 0.0)
        if np.any((expected == 0) & (observed > 0)):
            return _Outcome(math.inf, 0.0, math.inf)
        keep = expected > 0
        res = stats.chisquare(observed[keep], expected[keep])
        chi2 = float(res.statistic)
        return _Outcome(chi2, float(res.pvalue), math.sqrt(chi2 / float(observed.sum())))

    @staticmethod
    def _homogeneity(ref: FloatArray, cur: FloatArray, min_expected: float) -> _Outcome:
        total = ref + cur
        # Pool on the smaller row's expected counts (the binding ones), the same cells in both rows.
        r, c = _pool_like(ref, cur, total * (min(ref.sum(), cur.sum()) / total.sum()), min_expected)
        if r.size < 2:
            return _Outcome(0.0, 1.0, 0.0)
        res = stats.chi2_contingency(np.vstack([r, c]), correction=False)
        chi2 = float(res.statistic)
        return _Outcome(chi2, float(res.pvalue), math.sqrt(chi2 / float(total.sum())))


def _pool_like(
    ref: FloatArray, cur: FloatArray, expected: FloatArray, min_expected: float
) -> tuple[FloatArray, FloatArray]:
    """Pool the same categories in both rows (those :func:`_stats.pool_small_cells` pools)."""
    r, _ = _stats.pool_small_cells(ref, expected, min_expected)
    c, _ = _stats.pool_small_cells(cur, expected, min_expected)
    keep = (r + c) > 0
    return r[keep], c[keep]


@register_drift_method
class ZTestDrift(DriftDetector):
    """Pooled two-proportion z-test on the share of one category (for columns with at most two
    values); two-sided. Effect size: Cohen's h."""

    method = "z"
    display_name = "Z-test p_value"
    kinds = _BOTH
    is_test = True
    default_threshold = 0.05
    effect_size_name = "cohens_h"

    def compute(self, reference: ColumnSketch, current: ColumnSketch) -> _Outcome:
        keys, ref, cur = _stats.aligned_counts(_value_counts(reference), _value_counts(current))
        if len(keys) == 1:
            return _Outcome(0.0, 1.0, 0.0)
        target = min(range(len(keys)), key=lambda i: str(keys[i]))
        n1, n2 = float(ref.sum()), float(cur.sum())
        x1, x2 = float(ref[target]), float(cur[target])
        z, p = _stats.two_proportion_z_test(x1, n1, x2, n2)
        return _Outcome(z, p, _stats.cohens_h(x1 / n1, x2 / n2))


@register_drift_method
class WassersteinDrift(DriftDetector):
    """Wasserstein distance normalised by the reference's standard deviation (floored at 0.001),
    Evidently's "Wasserstein distance (normed)"; the effect size is the statistic."""

    method = "wasserstein"
    display_name = "Wasserstein distance (normed)"
    kinds = _NUMERICAL
    is_test = False
    default_threshold = 0.1
    threshold_high = math.inf
    effect_size_name = "wasserstein_normed"
    calibration_size: ClassVar[int] = 1000

    def compute(self, reference: ColumnSketch, current: ColumnSketch) -> _Outcome:
        assert isinstance(reference, NumericSketch) and isinstance(current, NumericSketch)
        distance = _stats.wasserstein_sorted(reference.sorted_sample(), current.sorted_sample())
        value = distance / max(reference.std_, 0.001)
        return _Outcome(value, None, value)

    def null_distribution(
        self, reference: ColumnSketch, current: ColumnSketch, n_draws: int, rng: np.random.Generator
    ) -> FloatArray | None:
        """Bootstrap two samples from both windows pooled (one distribution, as under no drift)
        with the comparison's effective size ``n_r n_c / (n_r + n_c)``; beyond
        ``calibration_size / 2`` it bootstraps at that size and rescales by the square root of
        the size ratio (the distance shrinks as 1/sqrt(n))."""
        assert isinstance(reference, NumericSketch) and isinstance(current, NumericSketch)
        s_r, s_c = reference.sample_.size, current.sample_.size
        n_eff = s_r * s_c / (s_r + s_c)
        m = max(2, min(round(2 * n_eff), self.calibration_size))
        base = np.sort(np.concatenate([reference.sample_, current.sample_]))
        a = base[_sorted_uniform_indices(rng, n_draws, m, base.size)]
        b = base[_sorted_uniform_indices(rng, n_draws, m, base.size)]
        distances = np.abs(a - b).mean(axis=1) / max(reference.std_, 0.001)
        return np.asarray(distances * math.sqrt(m / 2.0 / n_eff), dtype=np.float64)


@register_drift_method
class PsiDrift(DriftDetector):
    """Population stability index ``sum((r - c) ln(r / c))`` over Evidently's bins with its zero
    replacement. ``bins=None`` bins as Evidently 0.7 does; an int ``bins`` uses that many
    quantile bins of the reference instead (the credit-scoring PSI, e.g. 10)."""

    method = "psi"
    display_name = "PSI"
    kinds = _BOTH
    is_test = False
    default_threshold = 0.1
    threshold_high = math.inf
    effect_size_name = "psi"

    def __init__(self, threshold: float | None = None, bins: int | None = None) -> None:
        super().__init__(threshold)
        self.bins = bins

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "bins": self.bins}

    def counts(self, reference: ColumnSketch, current: ColumnSketch) -> tuple[FloatArray, FloatArray]:
        if self.bins is None or not isinstance(reference, NumericSketch) or not isinstance(current, NumericSketch):
            return binned_counts(reference, current)
        n_bins = check_int(self.bins, name="bins", owner="PsiDrift", low=2)
        inner = np.unique(reference.quantile(np.linspace(0, 1, n_bins + 1)[1:-1].tolist()))
        edges = np.concatenate([[-np.inf], inner, [np.inf]])
        ref = np.histogram(reference.sample_, edges)[0].astype(np.float64)
        cur = np.histogram(current.sample_, edges)[0].astype(np.float64)
        return ref, cur

    def compute(self, reference: ColumnSketch, current: ColumnSketch) -> _Outcome:
        ref, cur = self.counts(reference, current)
        value = _stats.psi(ref / ref.sum(), cur / cur.sum())
        return _Outcome(value, None, value)

    def null_distribution(
        self, reference: ColumnSketch, current: ColumnSketch, n_draws: int, rng: np.random.Generator
    ) -> FloatArray | None:
        r, c = _multinomial_null(*self.counts(reference, current), n_draws, rng)
        return _stats.psi_many(r, c)


@register_drift_method
class JensenShannonDrift(DriftDetector):
    """Jensen-Shannon distance (``scipy.spatial.distance.jensenshannon``, natural log) over
    Evidently's bins, without zero replacement."""

    method = "jensenshannon"
    display_name = "Jensen-Shannon distance"
    kinds = _BOTH
    is_test = False
    default_threshold = 0.1
    effect_size_name = "jensenshannon"

    def compute(self, reference: ColumnSketch, current: ColumnSketch) -> _Outcome:
        ref, cur = binned_counts(reference, current)
        value = _stats.jensenshannon(ref, cur)
        return _Outcome(value, None, value)

    def null_distribution(
        self, reference: ColumnSketch, current: ColumnSketch, n_draws: int, rng: np.random.Generator
    ) -> FloatArray | None:
        r, c = _multinomial_null(*binned_counts(reference, current), n_draws, rng)
        return _stats.jensenshannon_many(r, c)


def make_detector(method: str, threshold: float | None = None) -> DriftDetector:
    """A detector from :data:`DRIFT_METHODS` by name."""
    if method not in DRIFT_METHODS:
        raise InvalidArgument(
            f"The 'method' parameter must be one of {sorted(DRIFT_METHODS)}. Got {method!r} instead.",
            field="method",
        )
    return DRIFT_METHODS[method](threshold=threshold)
