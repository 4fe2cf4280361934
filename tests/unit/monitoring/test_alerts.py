"""Alert rules: parsing and validation, evaluation, and the alert state machine (dedup, reminders,
resolution)."""

from __future__ import annotations

import pytest

from steward.core.errors import InvalidArgument
from steward.monitoring.alerts import (
    AlertRule,
    AlertState,
    AlertStatus,
    RuleSet,
    Severity,
    dedup_key,
    evaluate,
    transition,
)
from steward.monitoring.models import MonitorConfig

ISSUE_RULES = """
data_drift:       {threshold: 0.1,   window: 7d,  severity: warning}
prediction_drift: {threshold: 0.15,  window: 3d,  severity: critical}
latency_p95:      {threshold: 150ms, window: 1h,  severity: critical}
error_rate:       {threshold: 0.01,  window: 30m, severity: critical}
"""


def _rule(**kw: object) -> AlertRule:
    return RuleSet.parse({"rules": {"r": {"metric": "data_drift", "threshold": 0.1, **kw}}}).rules[0]


def test_the_issue_rules_parse_with_units_and_windows() -> None:
    rules = {r.name: r for r in RuleSet.parse(ISSUE_RULES).rules}
    assert rules["data_drift"].threshold == 0.1 and rules["data_drift"].window == "7d"
    assert rules["data_drift"].severity is Severity.WARNING
    assert rules["prediction_drift"].window == "3d" and rules["prediction_drift"].severity is Severity.CRITICAL
    assert rules["latency_p95"].threshold == 150.0 and rules["latency_p95"].window == "1h"
    assert rules["error_rate"].threshold == 0.01 and rules["error_rate"].window == "30m"
    assert RuleSet.parse(ISSUE_RULES).windows() == ["7d", "3d", "1h", "30m"]


def test_the_same_rules_parse_from_json_and_from_a_mapping() -> None:
    text = '{"rules": {"latency_p95": {"threshold": "0.2s", "window": "1h"}}}'
    assert RuleSet.parse(text).rules[0].threshold == 200.0
    assert RuleSet.parse({"error_rate": {"threshold": "1%"}}).rules[0].threshold == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"nonsense": {"threshold": 1}}, "rules.0.metric"),
        ({"data_drift": {"threshold": 0.1, "window": "7 parsecs"}}, "rules.0.window"),
        ({"data_drift": {"threshold": "lots"}}, "rules.0"),
        ({"latency_p95": {"threshold": "fast"}}, "rules.0"),
        ({"data_drift": {"threshold": 0.1, "severity": "apocalyptic"}}, "rules.0.severity"),
        ({"data_drift": {"threshold": 0.1, "colour": "red"}}, "rules.0.colour"),
        ({"data_drift": {"window": "1d"}}, "rules.0.threshold"),
        ({"data_drift": {"threshold": 0.1, "repeat_every": "often"}}, "rules.0.repeat_every"),
        ({"data_drift": "0.1"}, "top level"),
    ],
)
def test_bad_rules_are_refused_naming_the_place(doc: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidArgument, match=where.replace(".", r"\.")):
        RuleSet.parse(doc)


def test_bad_yaml_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="not valid YAML"):
        RuleSet.parse("rules: {data_drift: [")


def test_a_custom_rule_names_its_metric_and_takes_its_direction() -> None:
    rule = RuleSet.parse({"acc": {"metric": "estimated_accuracy", "threshold": 0.8}}).rules[0]
    assert rule.effective_direction == "below" and rule.info.key == "estimated_accuracy"
    assert evaluate(rule, {"estimated_accuracy": 0.79, "rows": 1000}).breached is True
    assert evaluate(rule, {"estimated_accuracy": 0.81, "rows": 1000}).breached is False


def test_a_breach_is_at_or_beyond_the_threshold() -> None:
    rule = _rule()
    assert evaluate(rule, {"data_drift_share": 0.1, "rows": 500}).breached is True
    assert evaluate(rule, {"data_drift_share": 0.0999, "rows": 500}).breached is False


def test_no_verdict_without_the_metric_or_enough_rows() -> None:
    rule = _rule(min_rows=200)
    assert evaluate(rule, {"rows": 500}).breached is None
    assert evaluate(rule, {"data_drift_share": float("nan"), "rows": 500}).breached is None
    ev = evaluate(rule, {"data_drift_share": 0.9, "rows": 199})
    assert ev.breached is None and "min_rows" in ev.reason
    latency = RuleSet.parse(ISSUE_RULES).rules[2]
    assert evaluate(latency, {"latency_p95_ms": 300.0, "rows": 10}).breached is None  # counts requests
    assert evaluate(latency, {"latency_p95_ms": 300.0, "requests": 10}).breached is True


def _status(**kw: object) -> AlertStatus:
    return AlertStatus(**{"state": AlertState.FIRING, "fired_at": 1_000, "last_notified_at": 1_000, **kw})  # type: ignore[arg-type]


def test_a_first_breach_fires_and_notifies() -> None:
    rule = _rule()
    t = transition(None, evaluate(rule, {"data_drift_share": 0.5, "rows": 500}), rule, now_ms=5_000)
    assert t.action == "fire" and t.notify
    assert t.status == AlertStatus(AlertState.FIRING, 5_000, 5_000, 0, None, 0.5)


def test_repeated_breaches_are_deduplicated_while_firing() -> None:
    rule = _rule()
    ev = evaluate(rule, {"data_drift_share": 0.7, "rows": 500})
    t = transition(_status(), ev, rule, now_ms=10_000_000)
    assert t.action == "keep" and not t.notify
    assert t.status is not None and t.status.value == 0.7 and t.status.fired_at == 1_000


def test_a_firing_alert_reminds_every_repeat_interval() -> None:
    rule = _rule(repeat_every="1h")
    ev = evaluate(rule, {"data_drift_share": 0.7, "rows": 500})
    assert transition(_status(), ev, rule, now_ms=1_000 + 3_599_999).action == "keep"
    t = transition(_status(), ev, rule, now_ms=1_000 + 3_600_000)
    assert t.action == "renotify" and t.notify and t.status is not None
    assert t.status.last_notified_at == 3_601_000


def test_an_alert_resolves_after_enough_clear_evaluations() -> None:
    rule = _rule(resolve_after=2)
    clear = evaluate(rule, {"data_drift_share": 0.0, "rows": 500})
    first = transition(_status(), clear, rule, now_ms=2_000)
    assert first.action == "keep" and first.status is not None and first.status.ok_streak == 1
    second = transition(first.status, clear, rule, now_ms=3_000)
    assert second.action == "resolve" and second.notify and second.status is not None
    assert second.status.state is AlertState.RESOLVED and second.status.resolved_at == 3_000
    breach = evaluate(rule, {"data_drift_share": 0.4, "rows": 500})
    again = transition(second.status, breach, rule, now_ms=4_000)
    assert again.action == "fire" and again.status is not None and again.status.fired_at == 4_000


def test_a_breach_resets_the_clear_streak() -> None:
    rule = _rule(resolve_after=2)
    s = transition(_status(), evaluate(rule, {"data_drift_share": 0.0, "rows": 500}), rule, now_ms=2_000).status
    s = transition(s, evaluate(rule, {"data_drift_share": 0.5, "rows": 500}), rule, now_ms=3_000).status
    assert s is not None and s.ok_streak == 0 and s.state is AlertState.FIRING


def test_a_window_without_data_changes_nothing() -> None:
    rule = _rule()
    empty = evaluate(rule, {"rows": 0})
    assert transition(_status(), empty, rule, now_ms=9_000).action == "keep"
    assert transition(None, empty, rule, now_ms=9_000).action == "none"
    assert transition(None, evaluate(rule, {"data_drift_share": 0.0, "rows": 500}), rule, now_ms=1).action == "none"


def test_one_alert_identity_per_deployment_and_rule() -> None:
    assert dedup_key("churn", "data_drift") == "monitoring:churn:data_drift"
    assert dedup_key("churn", "data_drift") != dedup_key("fraud", "data_drift")


def test_a_monitor_configuration_round_trips_through_its_document() -> None:
    cfg = MonitorConfig.parse(
        {
            "reference": {"model": "churn@production"},
            "schedule": "1h",
            "channels": ["ops"],
            "rules": {"data_drift": {"threshold": 0.1, "window": "7d", "retrain": True}},
            "retrain_pipeline": "pipeline.yaml",
        }
    )
    again = MonitorConfig.parse(cfg.document())
    assert again == cfg and again.rules.retrain_pipeline == "pipeline.yaml" and again.windows() == ["7d"]


@pytest.mark.parametrize(
    "doc",
    [
        {"reference": {"model": "a@b", "dataset": "d"}},
        {"reference": {}},
        {"reference": {"window": {"start": "2024-05-02T00:00Z", "end": "2024-05-01T00:00Z"}}},
        {"schedule": "whenever"},
        {"metrics_url": "ftp://x"},
        {"surprise": 1},
    ],
)
def test_bad_monitor_configurations_are_refused(doc: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument, match="Invalid monitor configuration"):
        MonitorConfig.parse(doc)
