"""Sample size and power of a two-arm experiment for a minimum detectable effect (MDE).

Both designs use the normal approximation, as ``statsmodels.stats.power`` does:

- **means**: the z-test of a difference in means with a common standard deviation ``std``; the
  standardized effect is ``d = mde / std`` (``statsmodels.stats.power.NormalIndPower``).
- **proportions**, ``method="pooled"`` (default): the two-proportion z-test that
  :func:`~steward.experiments.analysis.two_proportion_ztest` runs, pooled variance under the
  null and unpooled under the alternative (``statsmodels.stats.proportion.power_proportions_2indep``
  and ``samplesize_proportions_2indep_onetail``, the textbook formula of Fleiss without
  continuity correction). ``method="arcsine"`` uses Cohen's ``h = 2 asin(sqrt(p_t)) -
  2 asin(sqrt(p_c))`` with ``NormalIndPower`` (``proportion_effectsize``).

``ratio`` is ``n_treatment / n_control``. Power counts both tails of a two-sided test; sample
sizes use the closed form that ignores the far tail (its share of the power is negligible
whenever the answer is useful), then round each arm up.

Example:
    >>> size = sample_size_proportions(baseline=0.10, mde=0.01)
    >>> size.n_control, size.n_treatment
    (14751, 14751)
    >>> round(power_proportions(baseline=0.10, mde=0.01, n_control=14751), 3)
    0.8
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

from steward.core.errors import InvalidArgument
from steward.experiments._json import fields_dict
from steward.experiments._validation import (
    check_alpha,
    check_alternative,
    check_choice,
    check_float,
)

PROPORTION_METHODS = ("pooled", "arcsine")


@dataclass(frozen=True)
class SampleSize:
    """Units needed per arm to detect the MDE with the requested power.

    ``n_control_exact`` is the unrounded solution; ``effect_size`` is the standardized effect
    (``d`` for means, Cohen's ``h`` for arcsine, ``difference / null std`` for pooled).
    """

    n_control: int
    n_treatment: int
    n_total: int
    n_control_exact: float
    difference: float
    effect_size: float
    alpha: float
    power: float
    ratio: float
    alternative: str
    design: str

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)


@dataclass(frozen=True)
class _Design:
    difference: float
    std_null: float  # std of the difference estimate times sqrt(n_control), under H0
    std_alt: float  # the same under the alternative
    effect_size: float


def _check_common(alpha: object, ratio: object, alternative: object, owner: str) -> tuple[float, float, str]:
    return (
        check_alpha(alpha, owner=owner),
        check_float(ratio, name="ratio", owner=owner, low=0.0),
        check_alternative(alternative, owner=owner),
    )


def _means_design(mde: object, std: object, ratio: float, owner: str) -> _Design:
    diff = check_float(mde, name="mde", owner=owner)
    sd = check_float(std, name="std", owner=owner, low=0.0)
    spread = sd * math.sqrt(1.0 + 1.0 / ratio)
    return _Design(diff, spread, spread, diff / sd)


def _proportions_design(
    baseline: object, mde: object, relative: bool, ratio: float, method: object, owner: str
) -> _Design:
    p_c = check_float(baseline, name="baseline", owner=owner, low=0.0, high=1.0)
    change = check_float(mde, name="mde", owner=owner)
    check_choice(method, name="method", owner=owner, choices=PROPORTION_METHODS)
    p_t = p_c * (1.0 + change) if relative else p_c + change
    if not 0.0 <= p_t <= 1.0:
        raise InvalidArgument(
            f"The 'mde' parameter of {owner} must keep the treatment rate in [0, 1]. Got mde={change!r} "
            f"on baseline {p_c!r} ({'relative' if relative else 'absolute'}), a rate of {p_t!r}.",
            field="mde",
        )
    if method == "arcsine":
        h = 2.0 * math.asin(math.sqrt(p_t)) - 2.0 * math.asin(math.sqrt(p_c))
        spread = math.sqrt(1.0 + 1.0 / ratio)
        return _Design(h, spread, spread, h)
    pooled = (p_c + ratio * p_t) / (1.0 + ratio)
    std_null = math.sqrt(pooled * (1.0 - pooled) * (1.0 + 1.0 / ratio))
    std_alt = math.sqrt(p_c * (1.0 - p_c) + p_t * (1.0 - p_t) / ratio)
    return _Design(p_t - p_c, std_null, std_alt, (p_t - p_c) / std_null)


def _power(design: _Design, n_control: float, alpha: float, alternative: str) -> float:
    tail_alpha = alpha / 2.0 if alternative == "two-sided" else alpha
    crit = float(stats.norm.isf(tail_alpha))
    ratio = design.std_null / design.std_alt
    shift = design.difference * math.sqrt(n_control) / design.std_alt
    result = 0.0
    if alternative in ("two-sided", "greater"):
        result += float(stats.norm.sf(crit * ratio - shift))
    if alternative in ("two-sided", "less"):
        result += float(stats.norm.cdf(-crit * ratio - shift))
    return result


def _sample_size(
    design: _Design, alpha: float, power: float, ratio: float, alternative: str, name: str, owner: str
) -> SampleSize:
    diff = design.difference
    if diff == 0.0 or (alternative == "greater" and diff < 0) or (alternative == "less" and diff > 0):
        raise InvalidArgument(
            f"The 'mde' parameter of {owner} must be a non-zero change in the direction of "
            f"alternative={alternative!r}. Got a difference of {diff!r}.",
            field="mde",
        )
    tail_alpha = alpha / 2.0 if alternative == "two-sided" else alpha
    z_alpha = float(stats.norm.isf(tail_alpha))
    z_power = float(stats.norm.ppf(power))
    exact = (max(z_alpha * design.std_null + z_power * design.std_alt, 0.0) / diff) ** 2
    n_control = max(1, _ceil(exact))
    n_treatment = max(1, _ceil(exact * ratio))
    return SampleSize(
        n_control=n_control,
        n_treatment=n_treatment,
        n_total=n_control + n_treatment,
        n_control_exact=exact,
        difference=diff,
        effect_size=design.effect_size,
        alpha=alpha,
        power=power,
        ratio=ratio,
        alternative=alternative,
        design=name,
    )


def _ceil(x: float) -> int:
    # 392.00000000000006 is 392 computed with rounding error, not a reason for a 393rd unit
    return math.ceil(x * (1.0 - 1e-12))


def _check_n(n_control: object, owner: str) -> float:
    return check_float(n_control, name="n_control", owner=owner, low=0.0)


def sample_size_means(
    mde: float,
    std: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> SampleSize:
    """Units per arm for a difference in means of ``mde`` when the metric's std is ``std``.

    >>> sample_size_means(mde=0.5, std=10.0).n_control
    6280
    """
    owner = "sample_size_means"
    alpha_, ratio_, alt = _check_common(alpha, ratio, alternative, owner)
    power_ = check_float(power, name="power", owner=owner, low=0.0, high=1.0)
    return _sample_size(_means_design(mde, std, ratio_, owner), alpha_, power_, ratio_, alt, "means", owner)


def power_means(
    mde: float,
    std: float,
    n_control: float,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> float:
    """Power of the z-test for a difference in means of ``mde`` with ``n_control`` control units."""
    owner = "power_means"
    alpha_, ratio_, alt = _check_common(alpha, ratio, alternative, owner)
    return _power(_means_design(mde, std, ratio_, owner), _check_n(n_control, owner), alpha_, alt)


def minimum_detectable_effect_means(
    std: float,
    n_control: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> float:
    """The smallest difference in means detected with ``power`` (closed form, one tail).

    >>> round(minimum_detectable_effect_means(std=10.0, n_control=6280), 3)
    0.5
    """
    owner = "minimum_detectable_effect_means"
    alpha_, ratio_, alt = _check_common(alpha, ratio, alternative, owner)
    power_ = check_float(power, name="power", owner=owner, low=0.0, high=1.0)
    sd = check_float(std, name="std", owner=owner, low=0.0)
    n = _check_n(n_control, owner)
    tail_alpha = alpha_ / 2.0 if alt == "two-sided" else alpha_
    z = float(stats.norm.isf(tail_alpha)) + float(stats.norm.ppf(power_))
    return max(z, 0.0) * sd * math.sqrt((1.0 + 1.0 / ratio_) / n)


def sample_size_proportions(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    method: str = "pooled",
) -> SampleSize:
    """Units per arm to detect a change ``mde`` of a conversion rate from ``baseline``.

    ``mde`` is absolute (``0.01``: from 10% to 11%) unless ``relative`` (``0.1``: 10% to 11%).
    """
    owner = "sample_size_proportions"
    alpha_, ratio_, alt = _check_common(alpha, ratio, alternative, owner)
    power_ = check_float(power, name="power", owner=owner, low=0.0, high=1.0)
    design = _proportions_design(baseline, mde, relative, ratio_, method, owner)
    return _sample_size(design, alpha_, power_, ratio_, alt, f"proportions-{method}", owner)


def power_proportions(
    baseline: float,
    mde: float,
    n_control: float,
    *,
    relative: bool = False,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    method: str = "pooled",
) -> float:
    """Power of the two-proportion z-test for a change ``mde`` from ``baseline``."""
    owner = "power_proportions"
    alpha_, ratio_, alt = _check_common(alpha, ratio, alternative, owner)
    design = _proportions_design(baseline, mde, relative, ratio_, method, owner)
    return _power(design, _check_n(n_control, owner), alpha_, alt)
