"""Ship, do not ship, or keep running: a recommendation with its reasons.

The rules, in order (the first that applies decides; every check adds a reason):

1. **Sample-ratio mismatch** -> do not ship: the arms are not what the split promised, so no
   comparison can be trusted; find the cause and restart.
2. **A guardrail regressed beyond its margin** -> do not ship. A guardrail (error rate,
   latency) *fails* when it is significantly worse (its interval excludes 0 on the bad side)
   and the estimate is worse than the margin; it *passes* when the whole interval is better
   than the margin (non-inferiority); otherwise it is *inconclusive*. Harm may stop an
   experiment early, before the planned sample size.
3. **Fixed horizon before the planned sample size** -> keep running: a fixed-horizon p-value
   is not valid before then (peeking); a sequential test has no such limit.
4. **The primary metric**, ``gain`` being the difference in the good direction:
   - significantly better and the gain at least the MDE (when one is given) -> ship, unless a
     guardrail is inconclusive (keep running until it is shown within its margin);
   - significantly better, but the whole interval below the MDE -> do not ship (real, yet not
     worth it); with the estimate below the MDE and the interval still holding it, a
     sequential test keeps running and a fixed horizon ships (it cannot run on validly);
   - significantly worse -> do not ship;
   - not significant: a sequential test keeps running unless its interval already rules out
     effects as large as the MDE (futility: do not ship); at a fixed horizon's planned size,
     do not ship (no effect found; the reasons say when the interval still holds the MDE,
     i.e. the experiment was underpowered).

Example:
    >>> from steward.experiments.analysis import welch_ttest
    >>> primary = welch_ttest([10.0, 11.0, 9.0, 10.5], [12.0, 12.5, 11.5, 12.2])
    >>> rec = recommend(primary, mde=0.5)
    >>> rec.decision.value, rec.reasons[0].startswith("The primary metric improved")
    ('ship', True)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from steward.experiments._json import jsonable
from steward.experiments._validation import check_float
from steward.experiments.srm import SRMResult


class Effect(Protocol):
    """What a decision needs of a test result (every result of this package has it)."""

    @property
    def difference(self) -> float: ...
    @property
    def ci_low(self) -> float: ...
    @property
    def ci_high(self) -> float: ...
    @property
    def p_value(self) -> float: ...
    @property
    def alpha(self) -> float: ...


class Decision(enum.StrEnum):
    SHIP = "ship"
    DO_NOT_SHIP = "do_not_ship"
    KEEP_RUNNING = "keep_running"


class GuardrailStatus(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


def _g(x: float) -> str:
    return f"{x:.4g}"


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not regress by more than ``margin`` (in its own units, ``>= 0``)."""

    name: str
    effect: Effect
    margin: float
    higher_is_better: bool = False

    def __post_init__(self) -> None:
        check_float(self.margin, name="margin", owner=f"Guardrail {self.name!r}", low=0.0, low_open=False)

    @property
    def regression(self) -> tuple[float, float, float]:
        """The harm (positive = worse) and its interval."""
        e = self.effect
        if self.higher_is_better:
            return -e.difference, -e.ci_high, -e.ci_low
        return e.difference, e.ci_low, e.ci_high

    @property
    def status(self) -> GuardrailStatus:
        harm, low, high = self.regression
        if high <= self.margin:
            return GuardrailStatus.PASS
        if self.effect.p_value <= self.effect.alpha and low > 0.0 and harm > self.margin:
            return GuardrailStatus.FAIL
        return GuardrailStatus.INCONCLUSIVE

    def describe(self) -> str:
        harm, low, high = self.regression
        detail = f"regression {_g(harm)} (interval {_g(low)} to {_g(high)}), margin {_g(self.margin)}"
        return {
            GuardrailStatus.PASS: f"Guardrail {self.name!r} holds: {detail}.",
            GuardrailStatus.FAIL: f"Guardrail {self.name!r} regressed beyond its margin: {detail}.",
            GuardrailStatus.INCONCLUSIVE: f"Guardrail {self.name!r} is not yet shown within its margin: {detail}.",
        }[self.status]

    def to_dict(self) -> dict[str, Any]:
        harm, low, high = self.regression
        result: dict[str, Any] = jsonable(
            {
                "name": self.name,
                "margin": self.margin,
                "higher_is_better": self.higher_is_better,
                "status": self.status,
                "regression": harm,
                "regression_ci_low": low,
                "regression_ci_high": high,
                "effect": self.effect,
            }
        )
        return result


@dataclass(frozen=True)
class Recommendation:
    decision: Decision
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "reasons": list(self.reasons)}


def _primary(
    primary: Effect, mde: float | None, higher_is_better: bool, sequential: bool
) -> tuple[Decision, list[str]]:
    sign = 1.0 if higher_is_better else -1.0
    gain = sign * primary.difference
    low, high = sorted((sign * primary.ci_low, sign * primary.ci_high))
    where = f"{_g(gain)} (interval {_g(low)} to {_g(high)}, p={_g(primary.p_value)})"
    significant = primary.p_value <= primary.alpha
    if significant and gain > 0.0:
        if mde is None or gain >= mde:
            return Decision.SHIP, [f"The primary metric improved significantly by {where}."]
        if high < mde:
            return Decision.DO_NOT_SHIP, [
                f"The primary metric improved by {where}, significant but surely below the minimum "
                f"detectable effect {_g(mde)}: real, yet too small to be worth shipping."
            ]
        if sequential:
            return Decision.KEEP_RUNNING, [
                f"The primary metric improved significantly by {where}, below the minimum detectable "
                f"effect {_g(mde)} that the interval still holds; more data will tell."
            ]
        return Decision.SHIP, [
            f"The primary metric improved significantly by {where}; the estimate is below the minimum "
            f"detectable effect {_g(mde)}, which the interval still holds."
        ]
    if significant and gain < 0.0:
        return Decision.DO_NOT_SHIP, [f"The primary metric got significantly worse: change {where}."]
    rules_out_mde = mde is not None and -mde < low and high < mde
    if sequential:
        if mde is not None and rules_out_mde:
            return Decision.DO_NOT_SHIP, [
                f"No significant change ({where}) and the always-valid interval already rules out "
                f"effects as large as the minimum detectable effect {_g(mde)} (futility)."
            ]
        return Decision.KEEP_RUNNING, [
            f"No significant change yet ({where}); the sequential test stays valid as data arrives."
        ]
    reasons = [f"No significant change in the primary metric at the planned sample size ({where})."]
    if mde is not None and not rules_out_mde:
        reasons.append(
            f"The interval still holds effects as large as the minimum detectable effect {_g(mde)}: "
            "the experiment was underpowered (more variance than planned)."
        )
    return Decision.DO_NOT_SHIP, reasons


def recommend(
    primary: Effect,
    *,
    srm: SRMResult | None = None,
    guardrails: Sequence[Guardrail] = (),
    mde: float | None = None,
    higher_is_better: bool = True,
    sequential: bool = False,
    sample_size_reached: bool = True,
) -> Recommendation:
    """Recommend ship / do not ship / keep running from the checks (see the module docstring).

    Parameters:
        primary: the primary metric's test (fixed-horizon or sequential).
        srm: the sample-ratio-mismatch check, if run.
        guardrails: metrics that must not regress beyond their margins.
        mde: the minimum effect worth shipping, in the primary metric's units (``> 0``).
        higher_is_better: the direction of improvement of the primary metric.
        sequential: ``primary`` is always-valid, so it may be read at any time.
        sample_size_reached: for a fixed-horizon test, whether the planned size is reached.
    """
    if mde is not None:
        mde = check_float(mde, name="mde", owner="recommend", low=0.0)
    reasons: list[str] = []
    if srm is not None:
        observed = ", ".join(f"{s:.4f}" for s in srm.observed_shares)
        expected = ", ".join(f"{w:.4f}" for w in srm.weights)
        if srm.mismatch:
            return Recommendation(
                Decision.DO_NOT_SHIP,
                [
                    f"Sample ratio mismatch: shares {observed} against the configured {expected} "
                    f"(p={_g(srm.p_value)} < {_g(srm.threshold)}). Assignment or logging is broken, "
                    "so the results cannot be trusted; find the cause and restart the experiment."
                ],
            )
        reasons.append(f"No sample ratio mismatch (p={_g(srm.p_value)}).")
    statuses = [g.status for g in guardrails]
    reasons.extend(g.describe() for g in guardrails)
    if GuardrailStatus.FAIL in statuses:
        return Recommendation(Decision.DO_NOT_SHIP, reasons)
    if not sequential and not sample_size_reached:
        reasons.append(
            "The planned sample size is not reached: a fixed-horizon p-value is not valid before "
            "then (peeking inflates false positives); keep running or use the sequential test."
        )
        return Recommendation(Decision.KEEP_RUNNING, reasons)
    decision, primary_reasons = _primary(primary, mde, higher_is_better, sequential)
    reasons = primary_reasons + reasons
    if decision is Decision.SHIP and GuardrailStatus.INCONCLUSIVE in statuses:
        reasons.append("Keep running until every guardrail is shown within its margin.")
        decision = Decision.KEEP_RUNNING
    return Recommendation(decision, reasons)
