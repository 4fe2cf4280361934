"""The analysis of a two-variant experiment from per-unit data, in one JSON-safe result.

:func:`analyze_ab` takes one row per unit (a pandas DataFrame, or a mapping of column name to
array) with the variant, the primary metric and, optionally, a pre-period covariate and
guardrail metrics, plus an :class:`ABDesign`. It runs

- the sample-ratio-mismatch check against the design's split;
- the fixed-horizon test (Welch's t-test for means, the two-proportion z-test for 0/1
  metrics), CUPED-adjusted (Welch on adjusted values) when a covariate column is given;
- with ``sequential=True``, the always-valid mSPRT on the same values;
- a test per guardrail;
- the recommendation.

The planned sample size is ``design.planned_n``, or else the power analysis for ``design.mde``
with the control arm's observed variance (or rate). The mSPRT's mixing std is ``design.tau``,
or else derived from the MDE: at the planned size the standard error of the difference is
``mde / (z_(1-alpha/2) + z_power)``, and :func:`~steward.experiments.sequential.mixture_tau`
makes the interval narrowest there. It does not depend on the data, so re-running the analysis
as data arrives is safe peeking. Each guardrail's mixture comes from its margin the same way.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> frame = pd.DataFrame({
    ...     "variant": np.repeat(["control", "treatment"], 5000),
    ...     "metric": np.concatenate([rng.normal(10, 2, 5000), rng.normal(10.3, 2, 5000)]),
    ... })
    >>> analysis = analyze_ab(frame, ABDesign(mde=0.2, planned_n=8000))
    >>> analysis.recommendation.decision.value, analysis.srm.mismatch
    ('ship', False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from steward.core.errors import InvalidArgument
from steward.experiments._json import fields_dict
from steward.experiments._validation import (
    FloatArray,
    check_alpha,
    check_binary,
    check_choice,
    check_float,
    check_int,
    check_sample,
    check_split,
)
from steward.experiments.analysis import (
    MeanComparison,
    ProportionComparison,
    two_proportion_ztest,
    welch_ttest,
)
from steward.experiments.cuped import CupedResult, cuped_ttest
from steward.experiments.power import sample_size_means, sample_size_proportions
from steward.experiments.recommend import Effect, Guardrail, Recommendation, recommend
from steward.experiments.sequential import SequentialResult, SequentialTest, mixture_tau
from steward.experiments.srm import SRMResult, sample_ratio_mismatch

METRIC_TYPES = ("mean", "proportion")
Comparison = MeanComparison | ProportionComparison


@dataclass(frozen=True)
class GuardrailSpec:
    """A guardrail metric: ``column`` (default ``name``) must not regress by more than ``margin``."""

    name: str
    margin: float
    column: str | None = None
    higher_is_better: bool = False
    metric_type: str = "mean"

    def __post_init__(self) -> None:
        owner = f"GuardrailSpec {self.name!r}"
        check_float(self.margin, name="margin", owner=owner, low=0.0, low_open=False)
        check_choice(self.metric_type, name="metric_type", owner=owner, choices=METRIC_TYPES)

    @property
    def source(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class ABDesign:
    """What the experiment set out to do, fixed before the first look.

    ``weights`` is the configured split (control, treatment); ``planned_n`` the planned number
    of units in both arms; ``mde`` the minimum effect worth shipping (absolute, metric units).
    """

    control: str = "control"
    treatment: str = "treatment"
    weights: tuple[float, float] = (0.5, 0.5)
    metric_type: str = "mean"
    alpha: float = 0.05
    power: float = 0.8
    mde: float | None = None
    planned_n: int | None = None
    higher_is_better: bool = True
    sequential: bool = False
    tau: float | None = None
    srm_threshold: float = 0.001
    guardrails: tuple[GuardrailSpec, ...] = ()

    def __post_init__(self) -> None:
        owner = "ABDesign"
        if self.control == self.treatment:
            raise InvalidArgument(
                f"The 'treatment' parameter of {owner} must differ from 'control'. Got {self.treatment!r}.",
                field="treatment",
            )
        object.__setattr__(self, "weights", check_split(self.weights, name="weights", owner=owner, size=2))
        check_choice(self.metric_type, name="metric_type", owner=owner, choices=METRIC_TYPES)
        check_alpha(self.alpha, owner=owner)
        check_float(self.power, name="power", owner=owner, low=0.0, high=1.0)
        check_float(self.srm_threshold, name="srm_threshold", owner=owner, low=0.0, high=1.0)
        if self.mde is not None:
            check_float(self.mde, name="mde", owner=owner, low=0.0)
        if self.planned_n is not None:
            check_int(self.planned_n, name="planned_n", owner=owner, low=4)
        if self.tau is not None:
            check_float(self.tau, name="tau", owner=owner, low=0.0)
        if self.sequential and self.tau is None and self.mde is None and self.planned_n is None:
            raise InvalidArgument(
                f"A sequential {owner} needs 'tau', 'mde' or 'planned_n' to fix its mixing "
                "distribution before the first look. Got none of them.",
                field="tau",
            )
        object.__setattr__(self, "guardrails", tuple(self.guardrails))

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)


@dataclass(frozen=True)
class ConstantComparison:
    """A guardrail metric that did not vary within either arm: the difference is exact."""

    n_control: int
    n_treatment: int
    mean_control: float
    mean_treatment: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    test: str = "constant"

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)


@dataclass(frozen=True)
class ABAnalysis:
    """Everything known about a two-variant experiment at one look."""

    design: ABDesign
    n_control: int
    n_treatment: int
    srm: SRMResult
    primary: Comparison
    unadjusted: Comparison
    cuped: CupedResult | None
    sequential: SequentialResult | None
    planned_n: int | None
    sample_size_reached: bool
    guardrails: list[Guardrail]
    recommendation: Recommendation
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (infinite or undefined numbers become ``None``)."""
        return fields_dict(self)


@dataclass(frozen=True)
class _Arms:
    control: FloatArray
    treatment: FloatArray


def _frame(data: pd.DataFrame | Mapping[str, ArrayLike]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, Mapping):
        raise InvalidArgument(
            "The 'data' parameter of analyze_ab must be a pandas DataFrame or a mapping of column "
            f"name to array. Got {type(data).__name__}.",
            field="data",
        )
    try:
        return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})
    except ValueError as exc:
        raise InvalidArgument(f"The 'data' columns of analyze_ab must have equal lengths: {exc}", field="data") from exc


def _column(frame: pd.DataFrame, name: str, parameter: str) -> pd.Series:
    if name not in frame.columns:
        raise InvalidArgument(
            f"The {parameter!r} parameter of analyze_ab names column {name!r}, which the data lacks "
            f"(columns: {', '.join(map(str, frame.columns))}).",
            field=parameter,
        )
    return frame[name]


def _arms(frame: pd.DataFrame, is_treatment: FloatArray, name: str, parameter: str, binary: bool) -> _Arms:
    values = _column(frame, name, parameter).to_numpy()
    array = check_sample(values, name=name, owner="analyze_ab", noun="column", field=parameter, min_size=0)
    if binary:
        check_binary(array, name=name, owner="analyze_ab", noun="column", field=parameter)
    mask = is_treatment.astype(bool)
    return _Arms(control=array[~mask], treatment=array[mask])


def _assignment(frame: pd.DataFrame, column: str, design: ABDesign) -> FloatArray:
    labels = _column(frame, column, "variant_column").astype(str).to_numpy()
    known = (labels == design.control) | (labels == design.treatment)
    if not known.all():
        unknown = sorted(set(labels[~known].tolist()))[:5]
        raise InvalidArgument(
            f"The {column!r} column of analyze_ab must hold only {design.control!r} and "
            f"{design.treatment!r}. Got also {', '.join(map(repr, unknown))}.",
            field="variant_column",
        )
    return np.asarray(labels == design.treatment, dtype=np.float64)


def _fixed(arms: _Arms, metric_type: str, alpha: float) -> Comparison:
    if metric_type == "proportion":
        return two_proportion_ztest(
            int(arms.control.sum()), arms.control.size, int(arms.treatment.sum()), arms.treatment.size, alpha=alpha
        )
    return welch_ttest(arms.control, arms.treatment, alpha=alpha)


def _planned_n(design: ABDesign, arms: _Arms, notes: list[str]) -> int | None:
    if design.planned_n is not None:
        return design.planned_n
    if design.mde is None:
        notes.append("No planned sample size ('planned_n' or 'mde'): the fixed-horizon result is read as final.")
        return None
    ratio = design.weights[1] / design.weights[0]
    if design.metric_type == "proportion":
        rate = float(arms.control.mean()) if arms.control.size else 0.0
        if not 0.0 < rate < 1.0 or not 0.0 <= rate + design.mde <= 1.0:
            notes.append(f"No planned sample size: the control rate {rate} leaves no room for the MDE.")
            return None
        size = sample_size_proportions(rate, design.mde, alpha=design.alpha, power=design.power, ratio=ratio)
        source = f"control rate {rate:.4g}"
    else:
        std = float(np.std(arms.control, ddof=1)) if arms.control.size >= 2 else 0.0
        if std == 0.0:
            notes.append("No planned sample size: the control arm shows no variance yet.")
            return None
        size = sample_size_means(design.mde, std, alpha=design.alpha, power=design.power, ratio=ratio)
        source = f"control std {std:.4g}"
    notes.append(f"Planned sample size {size.n_total} from the power analysis (MDE {design.mde}, {source}).")
    return size.n_total


def _tau_for(effect: float, design: ABDesign) -> float:
    z = float(stats.norm.isf(design.alpha / 2.0)) + float(stats.norm.ppf(design.power))
    return mixture_tau(design.alpha, (effect / z) ** 2)


def _sequential(arms: _Arms, metric: str, tau: float | None, planned: int | None, alpha: float) -> SequentialResult:
    test = SequentialTest(alpha=alpha, metric=metric, tau=tau, planned_n=planned)
    return test.update(arms.control, arms.treatment).result()


def _guardrail(spec: GuardrailSpec, arms: _Arms, design: ABDesign, planned: int | None) -> Guardrail:
    c, t = arms.control, arms.treatment
    effect: Effect
    if c.size and t.size and np.ptp(c) == 0.0 and np.ptp(t) == 0.0:
        difference = float(t[0] - c[0])
        effect = ConstantComparison(
            c.size, t.size, float(c[0]), float(t[0]), difference, difference, difference,
            1.0 if difference == 0.0 else 0.0, design.alpha,
        )  # fmt: skip
    elif design.sequential:
        if spec.margin == 0.0 and planned is None:
            raise InvalidArgument(
                f"Guardrail {spec.name!r} needs a margin > 0 or a planned sample size for its sequential test.",
                field="guardrails",
            )
        tau = _tau_for(spec.margin, design) if spec.margin > 0.0 else None
        effect = _sequential(arms, spec.metric_type, tau, planned, design.alpha)
    else:
        effect = _fixed(arms, spec.metric_type, design.alpha)
    return Guardrail(spec.name, effect, spec.margin, spec.higher_is_better)


def _fixed_horizon(
    frame: pd.DataFrame,
    is_treatment: FloatArray,
    arms: _Arms,
    design: ABDesign,
    covariate_column: str | None,
    notes: list[str],
) -> tuple[Comparison, Comparison, CupedResult | None, _Arms]:
    """The unadjusted test, the primary one, CUPED's result and the values the mSPRT reads."""
    unadjusted = _fixed(arms, design.metric_type, design.alpha)
    if covariate_column is None:
        return unadjusted, unadjusted, None, arms
    x = _arms(frame, is_treatment, covariate_column, "covariate_column", False)
    cuped = cuped_ttest(arms.control, arms.treatment, x.control, x.treatment, alpha=design.alpha)
    notes.append(f"CUPED on {covariate_column!r} removed {cuped.variance_reduction:.1%} of the variance.")
    theta, x_mean = cuped.theta, cuped.covariate_mean
    adjusted = _Arms(
        arms.control - theta * (x.control - x_mean),
        arms.treatment - theta * (x.treatment - x_mean),
    )
    return unadjusted, cuped.adjusted, cuped, adjusted


def analyze_ab(
    data: pd.DataFrame | Mapping[str, ArrayLike],
    design: ABDesign | None = None,
    *,
    variant_column: str = "variant",
    metric_column: str = "metric",
    covariate_column: str | None = None,
) -> ABAnalysis:
    """Analyse a two-variant experiment from one row per unit (see the module docstring)."""
    design = ABDesign() if design is None else design
    frame = _frame(data)
    is_treatment = _assignment(frame, variant_column, design)
    binary = design.metric_type == "proportion"
    arms = _arms(frame, is_treatment, metric_column, "metric_column", binary)
    notes: list[str] = []
    srm = sample_ratio_mismatch(
        [arms.control.size, arms.treatment.size], list(design.weights), threshold=design.srm_threshold
    )
    for arm, values in (("control", arms.control), ("treatment", arms.treatment)):
        if values.size < 2:
            raise InvalidArgument(
                f"The {arm} arm ({getattr(design, arm)!r}) needs at least 2 units. Got {values.size}.",
                field="data",
            )
    unadjusted, primary, cuped, tested = _fixed_horizon(frame, is_treatment, arms, design, covariate_column, notes)
    planned = _planned_n(design, arms, notes)
    n_total = arms.control.size + arms.treatment.size
    reached = planned is None or n_total >= planned
    sequential: SequentialResult | None = None
    if design.sequential:
        tau = design.tau if design.tau is not None else (None if design.mde is None else _tau_for(design.mde, design))
        metric = "proportion" if binary and cuped is None else "mean"
        sequential = _sequential(tested, metric, tau, planned, design.alpha)
    guardrails = [
        _guardrail(
            spec,
            _arms(frame, is_treatment, spec.source, "guardrails", spec.metric_type == "proportion"),
            design,
            planned,
        )
        for spec in design.guardrails
    ]
    recommendation = recommend(
        sequential if sequential is not None else primary,
        srm=srm,
        guardrails=guardrails,
        mde=design.mde,
        higher_is_better=design.higher_is_better,
        sequential=design.sequential,
        sample_size_reached=reached,
    )
    return ABAnalysis(
        design=design,
        n_control=int(arms.control.size),
        n_treatment=int(arms.treatment.size),
        srm=srm,
        primary=primary,
        unadjusted=unadjusted,
        cuped=cuped,
        sequential=sequential,
        planned_n=planned,
        sample_size_reached=reached,
        guardrails=guardrails,
        recommendation=recommendation,
        notes=notes,
    )
