"""Always-valid inference: a test and confidence interval that stay valid however often you look.

A fixed-horizon p-value is valid only at the sample size planned in advance; checking it after
every batch and stopping at the first ``p < 0.05`` rejects a true null far more often than 5%
of the time. The mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis
and Walsh ("Always valid inference", 2017; Optimizely's stats engine) does not have that flaw.

With ``d`` the observed difference ``treatment - control``, ``V`` its variance (each arm's
variance over its size, plug-in estimates) and a normal mixing distribution ``N(theta0, tau**2)``
over the true difference, the mixture likelihood ratio against ``H0: difference = theta0`` is::

    Lambda = sqrt(V / (V + tau**2)) * exp(tau**2 * (d - theta0)**2 / (2 V (V + tau**2)))

Under ``H0`` it is a nonnegative martingale, so by Ville's inequality the chance that it *ever*
reaches ``1 / alpha`` is at most ``alpha``. Hence

- the always-valid p-value ``p_n = min(p_{n-1}, 1 / Lambda_n)`` (``p_0 = 1``): stopping at any
  look with ``p_n <= alpha`` keeps the false-positive rate at most ``alpha``;
- the confidence sequence, the values ``theta0`` not rejected at level ``alpha``,
  ``d +- sqrt(2 V (V + tau**2) / tau**2 * (log(1 / alpha) + log((V + tau**2) / V) / 2))``,
  intersected over the looks, covers the true difference at every look at once with
  probability at least ``1 - alpha``. (An empty intersection, possible only when the model is
  wrong, e.g. an effect that changes over time, falls back to the current look's interval.)

``tau`` is the scale of effects you expect. Given a planned sample size instead, ``tau`` is
chosen so that the interval is narrowest at that size (Howard et al. 2021,
:func:`mixture_tau`): ``tau**2 = r V_planned`` with ``r = 2 log(1/alpha) + log(1 + r)``. The
guarantee holds exactly for normal data of known variance and, as with any z-test, through the
central limit theorem otherwise; fix ``tau`` (or the planned size) before the first look.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> test = SequentialTest(alpha=0.05, planned_n=20_000)
    >>> for _ in range(10):
    ...     test = test.update(rng.normal(10.0, 2.0, 1000), rng.normal(10.2, 2.0, 1000))
    >>> result = test.result()
    >>> result.significant, round(result.difference, 2), result.ci_low > 0
    (True, 0.21, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

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
)

METRICS = ("mean", "proportion")


def mixture_tau(alpha: float, planned_variance: float) -> float:
    """The mixing std ``tau`` that makes the confidence sequence narrowest at ``planned_variance``.

    ``planned_variance`` is the variance of the difference estimate at the planned sample size
    (``s_c**2 / n_c + s_t**2 / n_t``).

    >>> round(mixture_tau(0.05, 1.0), 4)
    2.8657
    """
    alpha_ = check_alpha(alpha, owner="mixture_tau")
    v = check_float(planned_variance, name="planned_variance", owner="mixture_tau", low=0.0)
    two_log = 2.0 * math.log(1.0 / alpha_)
    r = two_log
    for _ in range(100):  # a contraction: the derivative of log(1 + r) is below 1
        r = two_log + math.log1p(r)
    return math.sqrt(r * v)


def _safe(variance: FloatArray) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    informative = variance > 0.0
    return informative, np.where(informative, variance, 1.0).astype(np.float64)


def mixture_log_likelihood_ratio(
    difference: ArrayLike, variance: ArrayLike, tau: float, null_difference: float = 0.0
) -> FloatArray:
    """``log Lambda`` of each look (elementwise); 0 (no evidence) where the variance is 0."""
    owner = "mixture_log_likelihood_ratio"
    tau = check_float(tau, name="tau", owner=owner, low=0.0)
    null_difference = check_float(null_difference, name="null_difference", owner=owner)
    d = np.asarray(difference, dtype=np.float64)
    informative, v = _safe(np.asarray(variance, dtype=np.float64))
    t2 = tau * tau
    # extreme scales (a variance near 1e-308, a tiny tau) overflow to inf: overwhelming evidence,
    # or none; both are the right answer, so numpy need not warn
    with np.errstate(divide="ignore", over="ignore"):
        llr = 0.5 * np.log(v / (v + t2)) + t2 * (d - null_difference) ** 2 / (2.0 * v * (v + t2))
    return np.where(informative, llr, 0.0)


def _radius(variance: FloatArray, tau: float, alpha: float) -> FloatArray:
    informative, v = _safe(variance)
    t2 = tau * tau
    with np.errstate(divide="ignore", over="ignore"):  # see mixture_log_likelihood_ratio
        radius = np.sqrt(2.0 * v * (v + t2) / t2 * (math.log(1.0 / alpha) + 0.5 * np.log((v + t2) / v)))
    return np.where(informative, radius, np.inf)


def always_valid_p_values(
    differences: ArrayLike,
    variances: ArrayLike,
    tau: float,
    *,
    null_difference: float = 0.0,
    axis: int = -1,
) -> FloatArray:
    """Always-valid p-values of a sequence of looks along ``axis`` (running minimum of ``1 / Lambda``).

    Vectorised: ``differences`` of shape ``(experiments, looks)`` give every experiment's
    p-value path at once.
    """
    llr = mixture_log_likelihood_ratio(differences, variances, tau, null_difference)
    return np.minimum.accumulate(np.exp(-np.maximum(llr, 0.0)), axis=axis)


def _intersect(
    low: FloatArray, high: FloatArray, run_low: FloatArray, run_high: FloatArray
) -> tuple[FloatArray, FloatArray]:
    empty = run_low > run_high
    return np.where(empty, low, run_low), np.where(empty, high, run_high)


def confidence_sequence(
    differences: ArrayLike,
    variances: ArrayLike,
    tau: float,
    *,
    alpha: float = 0.05,
    axis: int = -1,
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds of the ``1 - alpha`` confidence sequence along ``axis``."""
    alpha = check_alpha(alpha, owner="confidence_sequence")
    tau = check_float(tau, name="tau", owner="confidence_sequence", low=0.0)
    d = np.asarray(differences, dtype=np.float64)
    radius = _radius(np.asarray(variances, dtype=np.float64), tau, alpha)
    low, high = d - radius, d + radius
    run_low = np.maximum.accumulate(low, axis=axis)
    run_high = np.minimum.accumulate(high, axis=axis)
    return _intersect(low, high, run_low, run_high)


@dataclass(frozen=True)
class SequentialResult:
    """The state of an always-valid test after its latest look."""

    metric: str
    n_looks: int
    n_control: int
    n_treatment: int
    mean_control: float
    mean_treatment: float
    difference: float
    std_error: float
    tau: float | None
    null_difference: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float
    test: str = "msprt"

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha

    def to_dict(self) -> dict[str, Any]:
        return {**fields_dict(self), "significant": self.significant}


class SequentialTest:
    """mSPRT for the difference in means or proportions, updated one batch of units at a time.

    Parameters:
        alpha: the false-positive rate to keep, whenever you look.
        metric: ``"mean"`` (any numbers; sample variance) or ``"proportion"`` (0/1 values).
        tau: std of the normal mixture over the difference, in the metric's units.
        planned_n: planned number of units in both arms together; used to choose ``tau`` (see
            :func:`mixture_tau`) from the first batches when ``tau`` is not given.
        null_difference: the difference under the null hypothesis.

    Learned state (after :meth:`update`): ``n_looks_``, ``n_control_``, ``n_treatment_``,
    ``mean_control_``, ``mean_treatment_``, ``m2_control_``, ``m2_treatment_`` (sums of
    squared deviations), ``tau_``, ``difference_``, ``variance_``, ``p_value_``, ``ci_low_``,
    ``ci_high_``, ``running_low_``, ``running_high_`` (the raw running intersection).
    """

    n_looks_: int
    n_control_: int
    n_treatment_: int
    mean_control_: float
    mean_treatment_: float
    m2_control_: float
    m2_treatment_: float
    tau_: float | None
    difference_: float
    variance_: float
    p_value_: float
    ci_low_: float
    ci_high_: float
    running_low_: float
    running_high_: float

    def __init__(
        self,
        alpha: float = 0.05,
        metric: str = "mean",
        tau: float | None = None,
        planned_n: int | None = None,
        null_difference: float = 0.0,
    ) -> None:
        self.alpha = alpha
        self.metric = metric
        self.tau = tau
        self.planned_n = planned_n
        self.null_difference = null_difference

    def get_params(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "metric": self.metric,
            "tau": self.tau,
            "planned_n": self.planned_n,
            "null_difference": self.null_difference,
        }

    def _validate(self) -> None:
        owner = type(self).__name__
        check_alpha(self.alpha, owner=owner)
        check_choice(self.metric, name="metric", owner=owner, choices=METRICS)
        check_float(self.null_difference, name="null_difference", owner=owner)
        if self.tau is not None:
            check_float(self.tau, name="tau", owner=owner, low=0.0)
        if self.planned_n is not None:
            check_int(self.planned_n, name="planned_n", owner=owner, low=2)
        if self.tau is None and self.planned_n is None:
            raise InvalidArgument(
                f"{owner} needs the 'tau' parameter (the mixing std, in the metric's units) or "
                "'planned_n' (to derive it); fix one before the first look. Got neither.",
                field="tau",
            )

    def _start(self) -> None:
        self._validate()
        self.n_looks_ = 0
        self.n_control_ = self.n_treatment_ = 0
        self.mean_control_ = self.mean_treatment_ = 0.0
        self.m2_control_ = self.m2_treatment_ = 0.0
        self.tau_ = None if self.tau is None else float(self.tau)
        self.difference_ = 0.0
        self.variance_ = 0.0
        self.p_value_ = 1.0
        self.running_low_, self.running_high_ = -math.inf, math.inf
        self.ci_low_, self.ci_high_ = -math.inf, math.inf

    def _batch(self, values: ArrayLike, name: str) -> FloatArray:
        array = check_sample(values, name=name, owner=type(self).__name__, min_size=0)
        if self.metric == "proportion":
            check_binary(array, name=name, owner=type(self).__name__)
        return array

    def _merge(self, arm: int, batch: FloatArray) -> None:
        n_a = self.n_control_ if arm == 0 else self.n_treatment_
        mean_a = self.mean_control_ if arm == 0 else self.mean_treatment_
        n_b = int(batch.size)
        if n_b == 0:
            return
        mean_b = float(np.mean(batch))
        m2_b = float(np.sum((batch - mean_b) ** 2))
        n = n_a + n_b
        delta = mean_b - mean_a
        mean = mean_a + delta * n_b / n
        m2 = (self.m2_control_ if arm == 0 else self.m2_treatment_) + m2_b + delta * delta * n_a * n_b / n
        if arm == 0:
            self.n_control_, self.mean_control_, self.m2_control_ = n, mean, m2
        else:
            self.n_treatment_, self.mean_treatment_, self.m2_treatment_ = n, mean, m2

    def _arm_variance(self, arm: int) -> float | None:
        n = self.n_control_ if arm == 0 else self.n_treatment_
        if self.metric == "proportion":
            if n == 0:
                return None
            p = self.mean_control_ if arm == 0 else self.mean_treatment_
            return p * (1.0 - p)
        m2 = self.m2_control_ if arm == 0 else self.m2_treatment_
        return m2 / (n - 1) if n >= 2 else None

    def update(self, control: ArrayLike, treatment: ArrayLike) -> Self:
        """Add one batch of per-unit values of each arm (either may be empty) and look."""
        if not hasattr(self, "n_looks_"):
            self._start()
        c = self._batch(control, "control")
        t = self._batch(treatment, "treatment")
        self._merge(0, c)
        self._merge(1, t)
        self.n_looks_ += 1
        self.difference_ = self.mean_treatment_ - self.mean_control_
        s_c, s_t = self._arm_variance(0), self._arm_variance(1)
        if s_c is None or s_t is None:
            self.variance_ = 0.0
            return self
        self.variance_ = s_c / self.n_control_ + s_t / self.n_treatment_
        if self.tau_ is None and self.variance_ > 0.0:
            assert self.planned_n is not None
            n = self.n_control_ + self.n_treatment_
            planned = (s_c * n / self.n_control_ + s_t * n / self.n_treatment_) / self.planned_n
            self.tau_ = mixture_tau(float(self.alpha), planned)
        if self.tau_ is None or self.variance_ == 0.0:
            return self
        variance = np.asarray(self.variance_)
        llr = float(mixture_log_likelihood_ratio(self.difference_, variance, self.tau_, self.null_difference))
        self.p_value_ = min(self.p_value_, math.exp(-max(llr, 0.0)))
        radius = float(_radius(variance, self.tau_, float(self.alpha)))
        low, high = self.difference_ - radius, self.difference_ + radius
        self.running_low_, self.running_high_ = max(self.running_low_, low), min(self.running_high_, high)
        empty = self.running_low_ > self.running_high_
        self.ci_low_, self.ci_high_ = (low, high) if empty else (self.running_low_, self.running_high_)
        return self

    def result(self) -> SequentialResult:
        """The latest look as a :class:`SequentialResult`."""
        if not hasattr(self, "n_looks_"):
            raise InvalidArgument(
                f"{type(self).__name__} has no looks yet; call update() with a batch first.",
                field="update",
            )
        return SequentialResult(
            metric=str(self.metric),
            n_looks=self.n_looks_,
            n_control=self.n_control_,
            n_treatment=self.n_treatment_,
            mean_control=self.mean_control_,
            mean_treatment=self.mean_treatment_,
            difference=self.difference_,
            std_error=math.sqrt(self.variance_),
            tau=self.tau_,
            null_difference=float(self.null_difference),
            p_value=self.p_value_,
            ci_low=self.ci_low_,
            ci_high=self.ci_high_,
            alpha=float(self.alpha),
        )
