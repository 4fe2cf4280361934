"""Evaluation gates: rules a model's metrics must meet before it may be promoted.

Two kinds of gate, written as plain mappings (YAML/JSON friendly) or as the models below:

* an absolute gate compares a metric with a value:
  ``{"metric": "accuracy", "op": ">", "value": 0.85}``,
  ``{"metric": "demographic_parity_difference", "op": "<", "value": 0.1}``;
* a relative gate compares with a reference model's metrics, such as the baseline or the
  champion: ``{"metric": "roc_auc", "relative_to": "champion", "max_degradation": 0.05}``
  means "no worse than the champion by more than 5%". ``tolerance="absolute"`` reads
  ``max_degradation`` in metric units instead. Which way is worse comes from the metric
  (higher is better for accuracy, lower for log loss), or ``higher_is_better``.

A gate whose metric or reference is missing, or whose value is NaN, fails with a reason:
gates fail closed. The one exception is a reference the caller declares ``unavailable`` with a
reason (a champion before the first promotion): its gates are reported as not applicable
(``applicable=False``, ``passed=True``), never silently dropped.

>>> results = evaluate_gates([{"metric": "accuracy", "op": ">", "value": 0.85}], {"accuracy": 0.9})
>>> results[0].passed, results[0].reason
(True, 'accuracy = 0.9 > 0.85')
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steward.core.errors import InvalidArgument
from steward.evaluation._directions import direction

__all__ = ["GateResult", "MetricGate", "RelativeGate", "evaluate_gates", "parse_gates"]

Op = Literal[">", ">=", "<", "<=", "==", "!="]
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class MetricGate(BaseModel):
    """``metric op value``, e.g. accuracy > 0.85."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1)
    op: Op
    value: float = Field(allow_inf_nan=False)
    name: str | None = None

    def describe(self) -> str:
        return self.name or f"{self.metric} {self.op} {self.value:g}"


class RelativeGate(BaseModel):
    """``metric`` no worse than the reference's by more than ``max_degradation``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1)
    relative_to: str = Field(default="baseline", min_length=1)
    max_degradation: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    tolerance: Literal["relative", "absolute"] = "relative"
    higher_is_better: bool | None = None
    name: str | None = None

    def describe(self) -> str:
        amount = f"{self.max_degradation:.0%}" if self.tolerance == "relative" else f"{self.max_degradation:g}"
        return self.name or f"{self.metric} no worse than {self.relative_to} by more than {amount}"


Gate = MetricGate | RelativeGate


@dataclass(frozen=True)
class GateResult:
    """Outcome of one gate, with the numbers and a sentence saying why."""

    gate: str
    metric: str
    passed: bool
    observed: float | None
    threshold: float | None
    reason: str
    applicable: bool = True


def parse_gates(specs: Iterable[Gate | Mapping[str, Any]]) -> list[Gate]:
    """Validate gate specs; a bad one raises ``InvalidArgument`` naming its index and field."""
    if isinstance(specs, Mapping):
        specs = [specs]
    gates: list[Gate] = []
    for i, spec in enumerate(specs):
        if isinstance(spec, MetricGate | RelativeGate):
            gates.append(spec)
            continue
        if not isinstance(spec, Mapping):
            raise InvalidArgument(f"Gate {i} must be a mapping. Got {spec!r} instead.", field=f"gates[{i}]")
        relative = "relative_to" in spec or "max_degradation" in spec
        model: type[MetricGate] | type[RelativeGate] = RelativeGate if relative else MetricGate
        try:
            gates.append(model.model_validate(dict(spec)))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "spec"
            raise InvalidArgument(
                f"Gate {i} ({model.__name__}) is invalid at {where!r}: {error['msg']}. Got {error.get('input')!r}.",
                field=f"gates[{i}].{where}",
            ) from exc
    return gates


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _absolute(gate: MetricGate, metrics: Mapping[str, Any]) -> GateResult:
    observed = _number(metrics.get(gate.metric))
    if observed is None:
        why = "is missing" if gate.metric not in metrics else "is not a number"
        return GateResult(gate.describe(), gate.metric, False, None, gate.value, f"{gate.metric} {why}")
    passed = _OPS[gate.op](observed, gate.value)
    sign = gate.op if passed else f"not {gate.op}"
    return GateResult(
        gate.describe(),
        gate.metric,
        passed,
        observed,
        gate.value,
        f"{gate.metric} = {observed:.6g} {sign} {gate.value:.6g}",
    )


def _relative(
    gate: RelativeGate,
    metrics: Mapping[str, Any],
    references: Mapping[str, Mapping[str, Any]],
    unavailable: Mapping[str, str],
) -> GateResult:
    label = gate.describe()
    observed = _number(metrics.get(gate.metric))
    reference = references.get(gate.relative_to)
    if reference is None and gate.relative_to in unavailable:
        why = unavailable[gate.relative_to]
        return GateResult(label, gate.metric, True, observed, None, f"not applicable: {why}", applicable=False)
    if reference is None:
        return GateResult(label, gate.metric, False, observed, None, f"no metrics for reference {gate.relative_to!r}")
    base = _number(reference.get(gate.metric))
    if observed is None or base is None:
        who = "candidate" if observed is None else gate.relative_to
        return GateResult(label, gate.metric, False, observed, None, f"{gate.metric} is missing for the {who}")
    way = direction(gate.metric)
    higher = (
        gate.higher_is_better
        if gate.higher_is_better is not None
        else (True if way == "higher" else False if way == "lower" else None)
    )
    if higher is None:
        return GateResult(
            label,
            gate.metric,
            False,
            observed,
            None,
            f"set higher_is_better: Steward does not know which way {gate.metric!r} improves",
        )
    slack = abs(base) * gate.max_degradation if gate.tolerance == "relative" else gate.max_degradation
    bound = base - slack if higher else base + slack
    passed = observed >= bound if higher else observed <= bound
    verb = "within" if passed else "beyond"
    return GateResult(
        label,
        gate.metric,
        passed,
        observed,
        bound,
        f"{gate.metric} = {observed:.6g} vs {gate.relative_to} {base:.6g}: {verb} the allowed "
        f"{'minimum' if higher else 'maximum'} {bound:.6g}",
    )


def evaluate_gates(
    gates: Iterable[Gate | Mapping[str, Any]],
    metrics: Mapping[str, Any],
    *,
    references: Mapping[str, Mapping[str, Any]] | None = None,
    unavailable: Mapping[str, str] | None = None,
) -> list[GateResult]:
    """Evaluate every gate against ``metrics`` (and named reference metrics for relative gates).

    ``unavailable`` maps a reference that legitimately does not exist yet to the reason; a
    relative gate on it is not applicable instead of failed.

    >>> evaluate_gates(
    ...     [{"metric": "roc_auc", "relative_to": "champion", "max_degradation": 0.05}],
    ...     {"roc_auc": 0.80}, references={"champion": {"roc_auc": 0.86}},
    ... )[0].passed
    False
    """
    refs = references or {}
    absent = unavailable or {}
    return [
        _absolute(g, metrics) if isinstance(g, MetricGate) else _relative(g, metrics, refs, absent)
        for g in parse_gates(gates)
    ]
