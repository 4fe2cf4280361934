"""Sample-ratio mismatch (SRM): do the arms hold the share of units the split promised?

A mismatch means assignment or logging is broken (a redirect that loses users in one arm, a
bot filter that acts after assignment, a crash in one variant), and then no comparison of the
arms can be trusted. The check is Pearson's chi-square goodness of fit of the observed counts
against ``total * weights`` (``scipy.stats.chisquare``), flagged at ``p < threshold``. The
default threshold of 0.001 is strict on purpose: the check runs on every experiment and every
look, and a false alarm stops a healthy experiment.

Example:
    >>> sample_ratio_mismatch([5000, 5200], weights=[0.5, 0.5]).mismatch
    False
    >>> sample_ratio_mismatch([5000, 5600], weights=[0.5, 0.5]).mismatch
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from steward.core.errors import InvalidArgument
from steward.experiments._json import fields_dict
from steward.experiments._validation import check_float, check_int, check_split

DEFAULT_SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SRMResult:
    """The chi-square goodness-of-fit test of observed arm sizes against the configured split."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    weights: tuple[float, ...]
    observed_shares: tuple[float, ...]
    statistic: float
    dof: int
    p_value: float
    threshold: float
    mismatch: bool

    def to_dict(self) -> dict[str, Any]:
        return fields_dict(self)


def sample_ratio_mismatch(
    observed: Sequence[int],
    weights: Sequence[float],
    *,
    threshold: float = DEFAULT_SRM_THRESHOLD,
) -> SRMResult:
    """Test the arm sizes ``observed`` against the traffic split ``weights`` (positive, summing to 1)."""
    owner = "sample_ratio_mismatch"
    threshold_ = check_float(threshold, name="threshold", owner=owner, low=0.0, high=1.0)
    if not isinstance(observed, Sequence) or isinstance(observed, str) or len(observed) < 2:
        raise InvalidArgument(
            f"The 'observed' parameter of {owner} must hold the unit count of two or more arms. "
            f"Got {observed!r} instead.",
            field="observed",
        )
    counts = tuple(check_int(c, name="observed", owner=owner, low=0) for c in observed)
    split = check_split(weights, name="weights", owner=owner, size=len(counts), allow_zero=False)
    total = sum(counts)
    if total == 0:
        raise InvalidArgument(
            f"The 'observed' parameter of {owner} must count at least one unit. Got {list(counts)!r}.",
            field="observed",
        )
    expected = tuple(total * w for w in split)
    statistic = sum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True))
    dof = len(counts) - 1
    p_value = float(stats.chi2.sf(statistic, dof))
    return SRMResult(
        observed=counts,
        expected=expected,
        weights=split,
        observed_shares=tuple(c / total for c in counts),
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        threshold=threshold_,
        mismatch=p_value < threshold_,
    )
