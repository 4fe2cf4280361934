"""Promotion gates: absolute and relative rules, failing closed, strict specs."""

from __future__ import annotations

import pytest

from steward.core.errors import InvalidArgument
from steward.evaluation import MetricGate, RelativeGate, evaluate_gates, parse_gates


@pytest.mark.parametrize(
    ("op", "value", "passed"),
    [
        (">", 0.85, True),
        (">", 0.9, False),
        (">=", 0.9, True),
        ("<", 0.95, True),
        ("<=", 0.8, False),
        ("==", 0.9, True),
        ("!=", 0.9, False),
    ],
)
def test_absolute_gate_compares_with_its_operator(op: str, value: float, passed: bool) -> None:
    [result] = evaluate_gates([{"metric": "accuracy", "op": op, "value": value}], {"accuracy": 0.9})
    assert result.passed is passed
    assert result.observed == 0.9 and result.threshold == value
    assert ("not" in result.reason) is (not passed)


def test_fairness_gate_reads_the_worst_attribute_value() -> None:
    gate = {"metric": "demographic_parity_difference", "op": "<", "value": 0.1}
    assert evaluate_gates([gate], {"demographic_parity_difference": 0.04})[0].passed
    assert not evaluate_gates([gate], {"demographic_parity_difference": 0.14})[0].passed


def test_relative_gate_allows_five_percent_degradation_against_the_champion() -> None:
    gate = {"metric": "roc_auc", "relative_to": "champion", "max_degradation": 0.05}
    champion = {"champion": {"roc_auc": 0.80}}
    assert evaluate_gates([gate], {"roc_auc": 0.761}, references=champion)[0].passed
    failed = evaluate_gates([gate], {"roc_auc": 0.759}, references=champion)[0]
    assert not failed.passed
    assert failed.threshold == pytest.approx(0.76)
    assert "champion" in failed.reason and "beyond" in failed.reason


def test_relative_gate_on_a_loss_allows_it_to_grow_by_the_tolerance() -> None:
    gate = {"metric": "log_loss", "relative_to": "baseline", "max_degradation": 0.05}
    base = {"baseline": {"log_loss": 0.40}}
    assert evaluate_gates([gate], {"log_loss": 0.419}, references=base)[0].passed
    assert not evaluate_gates([gate], {"log_loss": 0.421}, references=base)[0].passed


def test_absolute_tolerance_and_explicit_direction() -> None:
    gate = RelativeGate(
        metric="custom", relative_to="baseline", max_degradation=0.02, tolerance="absolute", higher_is_better=True
    )
    assert evaluate_gates([gate], {"custom": 0.49}, references={"baseline": {"custom": 0.5}})[0].passed
    unknown = evaluate_gates(
        [{"metric": "custom", "relative_to": "baseline"}], {"custom": 0.49}, references={"baseline": {"custom": 0.5}}
    )[0]
    assert not unknown.passed and "higher_is_better" in unknown.reason


@pytest.mark.parametrize(
    ("gate", "metrics", "references", "why"),
    [
        ({"metric": "f1", "op": ">", "value": 0.5}, {}, None, "f1 is missing"),
        ({"metric": "f1", "op": ">", "value": 0.5}, {"f1": float("nan")}, None, "not a number"),
        ({"metric": "f1", "relative_to": "champion"}, {"f1": 0.6}, None, "no metrics for reference"),
        ({"metric": "f1", "relative_to": "champion"}, {"f1": 0.6}, {"champion": {}}, "missing for the champion"),
    ],
)
def test_gates_fail_closed_with_a_reason(gate: dict, metrics: dict, references: dict | None, why: str) -> None:
    [result] = evaluate_gates([gate], metrics, references=references)
    assert not result.passed
    assert why in result.reason


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"metric": "accuracy", "op": "=>", "value": 0.8}, "gates[0].op"),
        ({"metric": "accuracy", "op": ">"}, "gates[0].value"),
        ({"metric": "accuracy", "op": ">", "value": 0.8, "typo": 1}, "gates[0].typo"),
        ({"metric": "roc_auc", "relative_to": "champion", "max_degradation": -0.1}, "gates[0].max_degradation"),
        ({"metric": "", "op": ">", "value": 1}, "gates[0].metric"),
    ],
)
def test_invalid_gate_specs_raise_naming_the_field(spec: dict, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_gates([spec])
    assert info.value.field == field
    assert "Gate 0" in info.value.message


def test_parse_gates_returns_typed_models() -> None:
    gates = parse_gates([{"metric": "accuracy", "op": ">", "value": 0.8}, {"metric": "mae", "relative_to": "baseline"}])
    assert isinstance(gates[0], MetricGate) and isinstance(gates[1], RelativeGate)
    assert gates[1].describe() == "mae no worse than baseline by more than 0%"


def test_unavailable_reference_makes_its_gates_not_applicable_and_others_still_fail_closed() -> None:
    gates = [
        {"metric": "roc_auc", "relative_to": "champion", "max_degradation": 0.05},
        {"metric": "roc_auc", "relative_to": "rival", "max_degradation": 0.05},
        {"metric": "roc_auc", "relative_to": "baseline", "max_degradation": 0.0},
    ]
    champion, rival, baseline = evaluate_gates(
        gates, {"roc_auc": 0.8}, references={"baseline": {"roc_auc": 0.5}}, unavailable={"champion": "no champion yet"}
    )
    assert (champion.passed, champion.applicable, champion.reason) == (True, False, "not applicable: no champion yet")
    assert not rival.passed and rival.applicable and "no metrics for reference 'rival'" in rival.reason
    assert baseline.passed and baseline.applicable
    # a reference that exists is compared, even when also declared unavailable
    [present] = evaluate_gates(
        gates[:1], {"roc_auc": 0.8}, references={"champion": {"roc_auc": 0.9}}, unavailable={"champion": "x"}
    )
    assert present.applicable and not present.passed and present.threshold == pytest.approx(0.855)
