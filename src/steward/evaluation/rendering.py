"""A self-contained HTML page for an :class:`EvaluationReport`.

Plots are Plotly figures. Plotly's JavaScript comes from the installed Python package
(``plotly.offline.get_plotlyjs()``) and is embedded once in the page head: the file works
offline, from disk or as an e-mail attachment, and never calls a CDN. All text from the data
(class names, column values, report name) is HTML-escaped; Plotly escapes its own JSON.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from steward.evaluation.report import EvaluationReport

__all__ = ["render_html"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:1.5rem;color:#1f2933}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #d9e2ec;padding-bottom:.3rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d9e2ec;padding:.25rem .6rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1b7a3d;font-weight:600}.fail{color:#b42318;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,540px);gap:1rem}
.figure{width:530px;height:380px;overflow:hidden}.muted{color:#627d98}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "NaN" if value != value else f"{value:.4g}"
    return _e(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Raw(str):
    """Trusted HTML that ``_table`` must not escape."""


def _cell(value: Any) -> str:
    if isinstance(value, _Raw):
        return f"<td>{value}</td>"
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f'<td class="num">{_num(value)}</td>' if numeric else f"<td>{_num(value)}</td>"


def _verdict(passed: bool) -> _Raw:
    return _Raw('<span class="pass">pass</span>' if passed else '<span class="fail">fail</span>')


class _Figures:
    """Builds Plotly figures with deterministic element ids."""

    def __init__(self) -> None:
        import plotly.graph_objects as go

        self.go = go
        self.count = 0

    def render(self, fig: Any, title: str, x: str = "", y: str = "") -> str:
        self.count += 1
        fig.update_layout(
            title=title,
            xaxis_title=x,
            yaxis_title=y,
            template="plotly_white",
            margin={"l": 50, "r": 20, "t": 50, "b": 50},
            height=380,
            width=530,
        )
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"steward-figure-{self.count}",
            config={"displaylogo": False},
        )
        return f'<div class="figure">{div}</div>'

    def curves(self, series: dict[str, dict[str, list[float]]], title: str, x: str, y: str, diagonal: bool) -> str:
        go = self.go
        fig = go.Figure()
        for label, s in series.items():
            fig.add_trace(
                go.Scatter(
                    x=s["x"],
                    y=s["y"],
                    mode="lines",
                    name=label,
                    customdata=s.get("threshold"),
                    hovertemplate="threshold %{customdata:.3f}",
                )
            )
        if diagonal:
            fig.add_trace(
                go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "#9aa5b1"})
            )
        return self.render(fig, title, x, y)


def _summary(report: EvaluationReport) -> str:
    rows = []
    for metric, value in report.metrics.items():
        ci = report.confidence_intervals.get(metric)
        rows.append((metric, value, None if ci is None else ci.lower, None if ci is None else ci.upper))
    level = next(iter(report.confidence_intervals.values())).confidence_level if report.confidence_intervals else None
    label = f"{level:.0%} interval" if level else "interval"
    return '<h2 id="metrics">Metrics</h2>' + _table(["metric", "value", f"{label} low", f"{label} high"], rows)


def _gates(report: EvaluationReport) -> str:
    if not report.gates:
        return ""
    rows = [
        (g.gate, _verdict(g.passed) if g.applicable else "n/a", g.observed, g.threshold, g.reason) for g in report.gates
    ]
    return '<h2 id="gates">Gates</h2>' + _table(["gate", "result", "observed", "threshold", "reason"], rows)


def _classification(report: EvaluationReport, figs: _Figures) -> str:
    go = figs.go
    parts = []
    labels = [str(c) for c in report.classes]
    if report.confusion_matrix:
        ticks = list(range(len(labels)))
        heat = go.Figure(
            go.Heatmap(
                z=report.confusion_matrix,
                x=ticks,
                y=ticks,
                colorscale="Blues",
                texttemplate="%{z:.6~g}",
                customdata=[[[t, p] for p in labels] for t in labels],
                hovertemplate="true %{customdata[0]}, predicted %{customdata[1]}: %{z}<extra></extra>",
            )
        )
        heat.update_xaxes(tickvals=ticks, ticktext=labels)
        heat.update_yaxes(tickvals=ticks, ticktext=labels, autorange="reversed")
        parts.append(figs.render(heat, "Confusion matrix", "predicted", "true"))
    if report.curves:
        parts.append(figs.curves(report.curves["roc"], "ROC curve", "false positive rate", "true positive rate", True))
        parts.append(figs.curves(report.curves["pr"], "Precision-recall curve", "recall", "precision", False))
    if report.calibration:
        curve = report.calibration["uniform"]
        fig = go.Figure(
            go.Scatter(
                x=curve.mean_predicted.tolist(),
                y=curve.fraction_positive.tolist(),
                mode="lines+markers",
                name="model",
                text=[f"{w:.4g}" for w in curve.weight],
                hovertemplate="predicted %{x:.3f}, observed %{y:.3f}, weight %{text}",
            )
        )
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash", "color": "#9aa5b1"})
        )
        title = f"Calibration (ECE {curve.expected_calibration_error:.3f})"
        parts.append(figs.render(fig, title, "mean predicted probability", "observed frequency"))
    html_parts = ['<h2 id="classification">Classification</h2><div class="grid">' + "".join(parts) + "</div>"]
    rows = [(label, v["precision"], v["recall"], v["f1"], v["support"]) for label, v in report.per_class.items()]
    html_parts.append("<h3>Per class</h3>" + _table(["class", "precision", "recall", "f1", "support"], rows))
    if report.threshold_table:
        columns = list(report.threshold_table[0])
        html_parts.append(
            "<h3>Threshold analysis</h3>" + _table(columns, [[r[c] for c in columns] for r in report.threshold_table])
        )
    return "".join(html_parts)


def _regression(report: EvaluationReport, figs: _Figures) -> str:
    go = figs.go
    sample, hist = report.prediction_sample, report.residual_histogram
    low = min(sample["actual"] + sample["predicted"])
    high = max(sample["actual"] + sample["predicted"])
    scatter = go.Figure(
        go.Scattergl(
            x=sample["actual"],
            y=sample["predicted"],
            mode="markers",
            name="rows",
            marker={"size": 4, "opacity": 0.5},
        )
    )
    scatter.add_trace(
        go.Scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            name="perfect",
            line={"dash": "dash", "color": "#9aa5b1"},
        )
    )
    edges = hist["edges"]
    centres = [(a + b) / 2 for a, b in pairwise(edges)]
    histogram = go.Figure(go.Bar(x=centres, y=hist["counts"], name="rows"))
    resid = go.Figure(
        go.Scattergl(
            x=sample["predicted"],
            y=sample["residual"],
            mode="markers",
            marker={"size": 4, "opacity": 0.5},
            name="rows",
        )
    )
    resid.add_hline(y=0, line_dash="dash", line_color="#9aa5b1")
    parts = [
        figs.render(scatter, "Predicted against actual", "actual", "predicted"),
        figs.render(histogram, "Residuals (actual - predicted)", "residual", "rows"),
        figs.render(resid, "Residuals against prediction", "predicted", "residual"),
    ]
    summary = ""
    if report.residuals is not None:
        summary = "<h3>Residuals</h3>" + _table(["statistic", "value"], list(vars(report.residuals).items()))
    return '<h2 id="regression">Regression</h2><div class="grid">' + "".join(parts) + "</div>" + summary


def _slices(report: EvaluationReport, figs: _Figures) -> str:
    if not report.slices:
        return ""
    go = figs.go
    metric = report.slice_metric or next(iter(report.slices[0].metrics))
    overall = report.metrics.get(metric)
    columns = list(dict.fromkeys(s.columns[0] for s in report.slices))
    parts = []
    for column in columns:
        rows = [s for s in report.slices if s.columns[0] == column]
        fig = go.Figure(
            go.Bar(
                x=[s.values[0] for s in rows],
                y=[s.metrics[metric] for s in rows],
                text=[f"n={s.support}" for s in rows],
                name=metric,
            )
        )
        if overall is not None:
            fig.add_hline(y=overall, line_dash="dash", line_color="#b42318", annotation_text="overall")
        fig.update_xaxes(type="category")
        parts.append(figs.render(fig, f"{metric} by {column}", column, metric))
    names = list(report.slices[0].metrics)
    table = _table(
        ["slice", "support", *names],
        [(s.name, s.support, *(s.metrics[n] for n in names)) for s in report.slices],
    )
    worst = ""
    if report.worst_slices:
        worst = f"<h3>Worst slices by {_e(metric)}</h3>" + _table(
            ["slice", "support", metric, "overall", "gap"],
            [(w.name, w.support, w.value, w.overall, w.gap) for w in report.worst_slices],
        )
    return '<h2 id="slices">Slices</h2><div class="grid">' + "".join(parts) + "</div>" + worst + table


def _fairness(report: EvaluationReport, figs: _Figures) -> str:
    if not report.fairness:
        return ""
    go = figs.go
    parts = []
    for attr, result in report.fairness.items():
        fig = go.Figure()
        groups = [g.group for g in result.groups]
        for rate in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            fig.add_trace(go.Bar(x=groups, y=[getattr(g, rate) for g in result.groups], name=rate.replace("_", " ")))
        fig.update_layout(barmode="group")
        fig.update_xaxes(type="category")
        chart = figs.render(fig, f"Decision rates by {attr}", attr, "rate")
        checks = _table(
            ["metric", "value", "rule", "result"],
            [(c.metric, c.value, f"{c.op} {c.threshold:g}", _verdict(c.passed)) for c in result.checks],
        )
        groups_table = _table(
            ["group", "support", "selection rate", "TPR", "FPR", "accuracy"],
            [
                (
                    g.group,
                    g.support,
                    g.selection_rate,
                    g.true_positive_rate,
                    g.false_positive_rate,
                    g.accuracy,
                )
                for g in result.groups
            ],
        )
        parts.append(f"<h3>{_e(attr)} {_verdict(result.passed)}</h3>{chart}{checks}{groups_table}")
    return '<h2 id="fairness">Fairness</h2>' + "".join(parts)


def render_html(report: EvaluationReport, *, title: str | None = None) -> str:
    """The report as one HTML document with interactive Plotly charts, usable offline.

    >>> from steward.evaluation import evaluate_classifier
    >>> page = render_html(evaluate_classifier([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3], n_bootstrap=0))
    >>> page.startswith("<!DOCTYPE html>"), page.count("Plotly.newPlot") >= 3
    (True, True)
    """
    from plotly.offline import get_plotlyjs

    figs = _Figures()
    heading = title or report.name or "Evaluation report"
    verdict = ""
    if report.gates or report.fairness:
        verdict = f" — {_verdict(report.passed)}"
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    body = [
        f"<h1>{_e(heading)}</h1>",
        f'<p class="muted">{_e(report.task)} · {report.n_samples:,} rows{verdict}</p>',
        f"<ul>{notes}</ul>" if notes else "",
        _gates(report),
        _summary(report),
        _regression(report, figs) if report.task == "regression" else _classification(report, figs),
        _slices(report, figs),
        _fairness(report, figs),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(heading)}</title><style>{_STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
        f"<body>{''.join(body)}</body></html>\n"
    )
