"""A Markdown model card written from an evaluation report.

The sections follow "Model Cards for Model Reporting" (Mitchell et al., 2019): details,
intended use, data, metrics, slices, fairness, limitations and failure modes. What the report
knows (metrics with intervals, worst slices, fairness checks, failed gates, calibration,
imbalance) is filled in; what only people know (intended use, data provenance, owners) comes
from the arguments, and is marked as missing rather than invented when not given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steward.evaluation.gates import GateResult
from steward.evaluation.report import EvaluationReport

__all__ = ["model_card"]

_MISSING = "_Not provided._"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "NaN" if value != value else f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _metrics(report: EvaluationReport) -> str:
    rows = []
    for metric, value in report.metrics.items():
        ci = report.confidence_intervals.get(metric)
        interval = "-" if ci is None else f"[{_fmt(ci.lower)}, {_fmt(ci.upper)}]"
        rows.append((metric, value, interval))
    level = next(iter(report.confidence_intervals.values())).confidence_level if report.confidence_intervals else None
    header = f"{level:.0%} bootstrap interval" if level else "interval"
    return _table(["metric", "value", header], rows)


def _slices(report: EvaluationReport) -> str:
    if not report.worst_slices:
        return "No slice analysis was run." if not report.slices else "No slice met the minimum support."
    intro = (
        f"Slices ranked by how far their {report.slice_metric} falls short of the overall value "
        f"(minimum support {report.settings.get('min_support')} rows):\n\n"
    )
    return intro + _table(
        ["slice", "rows", report.slice_metric or "value", "overall", "gap"],
        [(w.name, w.support, w.value, w.overall, w.gap) for w in report.worst_slices],
    )


def _fairness(report: EvaluationReport) -> str:
    if not report.fairness:
        return "No sensitive attribute was evaluated."
    parts = []
    for attr, result in report.fairness.items():
        checks = _table(
            ["metric", "value", "rule", "result"],
            [(c.metric, c.value, f"{c.op} {c.threshold:g}", "pass" if c.passed else "**fail**") for c in result.checks],
        )
        groups = _table(
            ["group", "rows", "selection rate", "TPR", "FPR"],
            [
                (g.group, g.support, g.selection_rate, g.true_positive_rate, g.false_positive_rate)
                for g in result.groups
            ],
        )
        parts.append(f"### {attr}\n\n{checks}\n\n{groups}")
    return "\n\n".join(parts)


def failure_modes(report: EvaluationReport) -> list[str]:
    """Limitations the numbers themselves reveal."""
    found = list(report.notes)
    for w in report.worst_slices[:3]:
        if w.gap > 0:
            found.append(
                f"Weaker on `{w.name}` ({w.support} rows): {w.metric} {w.value:.4g} against {w.overall:.4g} overall."
            )
    for attr, result in report.fairness.items():
        for check in result.checks:
            if not check.passed:
                found.append(
                    f"Fairness check failed for `{attr}`: {check.metric} = {check.value:.4g} "
                    f"(rule {check.op} {check.threshold:g})."
                )
    ece = report.metrics.get("expected_calibration_error")
    if ece is not None and ece > 0.05:
        found.append(
            f"Probabilities are miscalibrated (expected calibration error {ece:.3f}); "
            "do not read scores as probabilities without recalibration."
        )
    if report.residuals is not None and abs(report.residuals.skew) > 1:
        found.append(f"Residuals are skewed ({report.residuals.skew:.2f}): errors are larger on one side.")
    found += [f"Gate failed: {g.gate} — {g.reason}." for g in report.gates if not g.passed]
    return found


def model_card(
    report: EvaluationReport,
    *,
    model_name: str | None = None,
    version: str | None = None,
    owners: Sequence[str] = (),
    description: str | None = None,
    intended_use: str | None = None,
    out_of_scope_use: str | None = None,
    data: str | None = None,
    training_data: str | None = None,
    limitations: Sequence[str] = (),
    ethical_considerations: str | None = None,
) -> str:
    """Markdown model card for ``report``; free-text sections come from the arguments.

    >>> from steward.evaluation import evaluate_regressor
    >>> card = model_card(evaluate_regressor([1.0, 2.0, 3.0], [1.0, 2.5, 2.5], n_bootstrap=0),
    ...                   model_name="price")
    >>> card.splitlines()[0]
    '# Model card: price'
    """
    name = model_name or report.name or "model"
    gates = ""
    if report.gates:
        gates = "\n\n### Gates\n\n" + _table(
            ["gate", "result", "reason"],
            [(g.gate, _verdict(g), g.reason) for g in report.gates],
        )
    known = [*limitations, *failure_modes(report)]
    lines = [
        f"# Model card: {name}",
        "",
        "## Model details",
        "",
        f"- Version: {version or 'unversioned'}",
        f"- Task: {report.task}" + (f" (classes: {', '.join(map(str, report.classes))})" if report.classes else ""),
        f"- Owners: {', '.join(owners) if owners else _MISSING}",
        f"- Description: {description or _MISSING}",
        "",
        "## Intended use",
        "",
        intended_use or _MISSING,
        "",
        "### Out of scope",
        "",
        out_of_scope_use or _MISSING,
        "",
        "## Data",
        "",
        f"- Evaluation data: {data or _MISSING} ({report.n_samples:,} rows"
        + (", weighted)" if report.settings.get("weighted") else ")"),
        f"- Training data: {training_data or _MISSING}",
        "",
        "## Metrics",
        "",
        _metrics(report) + gates,
        "",
        "## Slices",
        "",
        _slices(report),
        "",
        "## Fairness",
        "",
        _fairness(report),
        "",
        "## Limitations and failure modes",
        "",
        "\n".join(f"- {item}" for item in known) if known else "None found by the evaluation.",
        "",
        "## Ethical considerations",
        "",
        ethical_considerations or _MISSING,
        "",
    ]
    return "\n".join(lines)


def _verdict(gate: GateResult) -> str:
    return "n/a" if not gate.applicable else "pass" if gate.passed else "**fail**"
