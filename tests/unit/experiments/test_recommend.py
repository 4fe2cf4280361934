"""The recommendation: one rule per case, each with its reason."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest

from steward.core.errors import InvalidArgument
from steward.experiments import (
    Decision,
    Guardrail,
    GuardrailStatus,
    recommend,
    sample_ratio_mismatch,
)


@dataclass(frozen=True)
class Fake:
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float = 0.05


WIN = Fake(0.05, 0.02, 0.08, 0.001)
SMALL_WIN = Fake(0.01, 0.002, 0.018, 0.01)
LOSS = Fake(-0.05, -0.08, -0.02, 0.001)
FLAT_WIDE = Fake(0.01, -0.04, 0.06, 0.6)
FLAT_NARROW = Fake(0.001, -0.004, 0.006, 0.7)
HEALTHY = sample_ratio_mismatch([10_000, 10_050], [0.5, 0.5])
BROKEN = sample_ratio_mismatch([10_000, 11_000], [0.5, 0.5])


def latency(effect: Fake, margin: float = 5.0) -> Guardrail:
    return Guardrail("latency_ms", effect, margin=margin, higher_is_better=False)


@pytest.mark.parametrize(
    ("status", "effect", "higher_is_better"),
    [
        (GuardrailStatus.PASS, Fake(1.0, -2.0, 4.0, 0.6), False),  # whole interval under the margin
        (GuardrailStatus.FAIL, Fake(9.0, 6.0, 12.0, 0.001), False),  # significantly worse, beyond margin
        (GuardrailStatus.INCONCLUSIVE, Fake(3.0, -4.0, 10.0, 0.5), False),  # too wide to tell
        (GuardrailStatus.INCONCLUSIVE, Fake(4.0, 1.0, 7.0, 0.02), False),  # worse, maybe within margin
        (GuardrailStatus.FAIL, Fake(6.0, 1.0, 11.0, 0.02), False),  # worse, most likely beyond margin
        (GuardrailStatus.PASS, Fake(-1.0, -4.0, 2.0, 0.6), True),  # a throughput drop within margin
        (GuardrailStatus.FAIL, Fake(-9.0, -12.0, -6.0, 0.001), True),  # throughput collapsed
    ],
)
def test_guardrail_status(status: GuardrailStatus, effect: Fake, higher_is_better: bool) -> None:
    assert Guardrail("g", effect, margin=5.0, higher_is_better=higher_is_better).status is status


CASES = [
    # (name, primary, kwargs, decision, phrase in the reasons)
    ("ship a clear win", WIN, {"srm": HEALTHY, "mde": 0.03}, Decision.SHIP, "improved significantly"),
    ("srm stops everything", WIN, {"srm": BROKEN}, Decision.DO_NOT_SHIP, "Sample ratio mismatch"),
    ("a breached guardrail", WIN, {"guardrails": [latency(Fake(9, 6, 12, 0.001))]}, Decision.DO_NOT_SHIP, "beyond"),
    (
        "guardrail harm stops even before the planned size",
        FLAT_WIDE,
        {"guardrails": [latency(Fake(9, 6, 12, 0.001))], "sample_size_reached": False},
        Decision.DO_NOT_SHIP,
        "regressed beyond its margin",
    ),
    ("peeking at a fixed horizon", WIN, {"sample_size_reached": False}, Decision.KEEP_RUNNING, "not reached"),
    ("sequential may be read early", WIN, {"sequential": True, "sample_size_reached": False}, Decision.SHIP, ""),
    ("significant but below the mde", SMALL_WIN, {"mde": 0.02}, Decision.DO_NOT_SHIP, "too small"),
    ("fixed, estimate below an mde in reach", SMALL_WIN, {"mde": 0.015}, Decision.SHIP, "still holds"),
    (
        "sequential, estimate below an mde in reach",
        SMALL_WIN,
        {"mde": 0.015, "sequential": True},
        Decision.KEEP_RUNNING,
        "more data",
    ),
    ("significantly worse", LOSS, {}, Decision.DO_NOT_SHIP, "significantly worse"),
    ("lower is better", LOSS, {"higher_is_better": False}, Decision.SHIP, "improved significantly"),
    ("sequential, undecided", FLAT_WIDE, {"sequential": True, "mde": 0.02}, Decision.KEEP_RUNNING, "yet"),
    ("sequential futility", FLAT_NARROW, {"sequential": True, "mde": 0.02}, Decision.DO_NOT_SHIP, "futility"),
    ("fixed horizon, no effect", FLAT_NARROW, {"mde": 0.02}, Decision.DO_NOT_SHIP, "No significant change"),
    ("fixed horizon, underpowered", FLAT_WIDE, {"mde": 0.02}, Decision.DO_NOT_SHIP, "underpowered"),
    (
        "a win waits for its guardrails",
        WIN,
        {"guardrails": [latency(Fake(3.0, -4.0, 10.0, 0.5))]},
        Decision.KEEP_RUNNING,
        "every guardrail",
    ),
    ("a win with healthy guardrails", WIN, {"guardrails": [latency(Fake(1, -2, 4, 0.6))]}, Decision.SHIP, "holds"),
]


@pytest.mark.parametrize(("primary", "kwargs", "decision", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_recommendation(primary: Fake, kwargs: dict[str, object], decision: Decision, phrase: str) -> None:
    result = recommend(primary, **kwargs)  # type: ignore[arg-type]
    assert result.decision is decision, result.reasons
    assert any(phrase in reason for reason in result.reasons), result.reasons


def test_every_check_leaves_a_reason() -> None:
    result = recommend(WIN, srm=HEALTHY, guardrails=[latency(Fake(1, -2, 4, 0.6))], mde=0.03)
    assert len(result.reasons) == 3
    assert result.reasons[0].startswith("The primary metric")


def test_recommendation_is_json_safe() -> None:
    result = recommend(Fake(0.0, -math.inf, math.inf, 1.0), sequential=True)
    assert result.decision is Decision.KEEP_RUNNING
    as_dict = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert as_dict["decision"] == "keep_running"
    guardrail = json.loads(json.dumps(latency(Fake(1, -math.inf, 4, 0.6)).to_dict(), allow_nan=False))
    assert guardrail["status"] == "pass" and guardrail["regression_ci_low"] is None


@pytest.mark.parametrize("margin", [-1.0, math.nan])
def test_a_guardrail_margin_must_be_non_negative(margin: float) -> None:
    with pytest.raises(InvalidArgument) as info:
        latency(WIN, margin=margin)
    assert info.value.field == "margin"


def test_mde_must_be_positive() -> None:
    with pytest.raises(InvalidArgument) as info:
        recommend(WIN, mde=-0.1)
    assert info.value.field == "mde"
