"""Drift reports: one JSON document, and a self-contained HTML page made from it.

The JSON names, per column, the test, its statistic, the p-value (tests) or the distance
(distances), the Benjamini-Hochberg adjusted p-value, the threshold and the calibrated one, the
effect size and the verdict; and for the dataset the share of drifted columns and
``drift_detected``. It also carries each column's reference-vs-current distribution, binned
small (at most 40 bins or 20 categories), so a report stays a few kilobytes per column
whatever the size of the windows.

The HTML page works offline: Plotly's JavaScript is read from the installed ``plotly`` package
and inlined once; the figures are drawn from the embedded JSON.

Example:
    >>> import numpy as np, pandas as pd
    >>> from steward.monitoring.dataset_drift import DatasetDrift
    >>> from steward.monitoring.sketches import sketch_frame
    >>> rng = np.random.default_rng(0)
    >>> ref = sketch_frame(pd.DataFrame({"x": rng.normal(size=500)}), {"x": "numerical"})
    >>> cur = sketch_frame(pd.DataFrame({"x": rng.normal(1, 1, 500)}), {"x": "numerical"})
    >>> doc = dataset_report(DatasetDrift().fit(ref).score(cur), ref, cur)
    >>> doc["drift_detected"], doc["columns"][0]["test"], doc["columns"][0]["drifted"]
    (True, 'ks', True)
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from steward.monitoring.dataset_drift import DatasetDriftReport
from steward.monitoring.drift import DriftResult
from steward.monitoring.sketches import CategoricalSketch, ColumnSketch, NumericSketch

MAX_BINS = 40
MAX_CATEGORIES = 20
REPORT_KIND = "steward.drift_report"


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def column_doc(result: DriftResult, name: str | None = None) -> dict[str, Any]:
    """One column's result as JSON-safe data."""
    is_test = result.p_value is not None
    return {
        "column": name if name is not None else result.column,
        "kind": result.kind,
        "test": result.method,
        "test_name": result.display_name,
        "statistic": _num(result.statistic),
        "p_value": _num(result.p_value),
        "p_value_adjusted": _num(result.p_value_adjusted),
        "distance": None if is_test else _num(result.statistic),
        "threshold": _num(result.threshold),
        "calibrated_threshold": _num(result.calibrated_threshold),
        "effect_size": _num(result.effect_size),
        "effect_size_name": result.effect_size_name,
        "drifted": bool(result.drifted),
        "n_reference": result.n_reference,
        "n_current": result.n_current,
    }


def distribution(reference: ColumnSketch, current: ColumnSketch) -> dict[str, Any] | None:
    """Reference and current shares over common bins (numbers) or categories."""
    if isinstance(reference, NumericSketch) and isinstance(current, NumericSketch):
        if not reference.count_ or not current.count_:
            return None
        lo, hi = min(reference.min_, current.min_), max(reference.max_, current.max_)
        n = reference.sample_.size + current.sample_.size
        bins = max(1, min(MAX_BINS, math.ceil(math.log2(max(n, 2)) + 1)))
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.array([lo - 0.5, lo + 0.5])
        ref = np.histogram(reference.sample_, edges)[0].astype(float)
        cur = np.histogram(current.sample_, edges)[0].astype(float)
        return {
            "kind": "numerical",
            "edges": [float(e) for e in edges],
            "reference": (ref / max(ref.sum(), 1)).round(6).tolist(),
            "current": (cur / max(cur.sum(), 1)).round(6).tolist(),
        }
    if isinstance(reference, CategoricalSketch) and isinstance(current, CategoricalSketch):
        keys = sorted(
            reference.counts_.keys() | current.counts_.keys(),
            key=lambda k: (-(reference.counts_.get(k, 0) + current.counts_.get(k, 0)), str(k)),
        )
        shown, rest = keys[:MAX_CATEGORIES], keys[MAX_CATEGORIES:]
        rt, ct = max(reference.count_, 1), max(current.count_, 1)
        categories = [str(k) for k in shown]
        ref_share = [round(reference.counts_.get(k, 0) / rt, 6) for k in shown]
        cur_share = [round(current.counts_.get(k, 0) / ct, 6) for k in shown]
        if rest:
            categories.append(f"(other {len(rest)})")
            ref_share.append(round(sum(reference.counts_.get(k, 0) for k in rest) / rt, 6))
            cur_share.append(round(sum(current.counts_.get(k, 0) for k in rest) / ct, 6))
        return {"kind": "categorical", "categories": categories, "reference": ref_share, "current": cur_share}
    return None


def dataset_report(
    report: DatasetDriftReport,
    reference_sketches: Mapping[str, ColumnSketch],
    current_sketches: Mapping[str, ColumnSketch],
    **context: Any,
) -> dict[str, Any]:
    """The JSON drift report of a dataset comparison (``context`` adds top-level fields such as
    ``deployment``, ``window``, ``reference``)."""
    columns = [column_doc(r) for r in report.columns]
    dists = {}
    for r in report.columns:
        name = str(r.column)
        if name in reference_sketches and name in current_sketches:
            d = distribution(reference_sketches[name], current_sketches[name])
            if d is not None:
                dists[name] = d
    return {
        "kind": REPORT_KIND,
        "version": 1,
        **context,
        "drift_detected": bool(report.drifted),
        "n_columns": report.n_columns,
        "n_drifted": report.n_drifted,
        "share_drifted": report.share_drifted,
        "drift_share": report.drift_share,
        "column_level": report.column_level,
        "false_alarm_rate": report.false_alarm_rate,
        "columns": columns,
        "distributions": dists,
    }


@functools.cache
def _plotly_js() -> str:
    return (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def _json_for_script(doc: Any) -> str:
    # Inside <script>, "</" would end the element: escape it (and the HTML comment openers).
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#2b3340;margin:24px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} .muted{color:#6b7686} table{border-collapse:collapse;width:100%;margin:16px 0}
th,td{border-bottom:1px solid #e3e6ea;padding:6px 8px;text-align:left;font-size:13px} td.num{text-align:right;
font-variant-numeric:tabular-nums} .drift{color:#b3261e;font-weight:600} .ok{color:#2e7d32}
.verdict{display:inline-block;padding:4px 10px;border-radius:12px;font-weight:600}
.verdict.drift{background:#fde7e7} .verdict.ok{background:#e6f4ea} .plots{display:grid;
grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px} .plot{height:260px}
"""

_SCRIPT = """
(function(){var doc=JSON.parse(document.getElementById('report-data').textContent);
function esc(s){return String(s).replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;');}
var grid=document.getElementById('plots');
(doc.columns||[]).forEach(function(c){var d=(doc.distributions||{})[c.column];if(!d){return;}
var div=document.createElement('div');div.className='plot';div.setAttribute('data-column',c.column);
grid.appendChild(div);
var x;if(d.kind==='numerical'){x=d.edges.slice(0,-1).map(function(e,i){return (e+d.edges[i+1])/2;});}
else{x=d.categories.map(esc);}
var title=esc(c.column)+' — '+esc(c.test)+(c.drifted?' (drift)':'');
Plotly.newPlot(div,[{type:'bar',name:'reference',x:x,y:d.reference,marker:{color:'#2f6fde'},opacity:0.6},
{type:'bar',name:'current',x:x,y:d.current,marker:{color:'#e4572e'},opacity:0.6}],
{title:{text:title,font:{size:13}},barmode:'overlay',height:260,margin:{l:40,r:10,t:36,b:40},
legend:{orientation:'h',y:-0.25},yaxis:{tickformat:'.0%'}},{displaylogo:false,responsive:true});});})();
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _verdict(drifted: bool) -> str:
    return '<span class="drift">drift</span>' if drifted else '<span class="ok">no drift</span>'


def _multivariate_html(section: Mapping[str, Any] | None) -> str:
    """The multivariate section: the domain classifier's AUC and the PCA reconstruction error."""
    if not section:
        return ""
    rows = []
    dc, rc = section.get("domain_classifier"), section.get("reconstruction_error")
    if dc:
        rows.append(
            f"<tr data-method='domain_classifier'><td>Domain classifier (ROC AUC)</td><td class='num'>0.5</td>"
            f"<td class='num'>{_fmt(dc['auc'])}</td><td class='num'>&gt; {_fmt(dc['threshold'])}</td>"
            f"<td>{_verdict(dc['drifted'])}</td></tr>"
        )
    if rc:
        band = f"{_fmt(rc['lower_threshold'])} to {_fmt(rc['upper_threshold'])}"
        rows.append(
            f"<tr data-method='reconstruction_error'><td>PCA reconstruction error</td>"
            f"<td class='num'>{_fmt(rc['reference'])}</td><td class='num'>{_fmt(rc['current'])} "
            f"<span class='muted'>({_fmt(rc['change'])})</span></td><td class='num'>outside {band}</td>"
            f"<td>{_verdict(rc['drifted'])}</td></tr>"
        )
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in section.get("notes") or [])
    return (
        "<h2>Multivariate drift</h2><table id='multivariate'><thead><tr><th>Method</th><th>Reference</th>"
        f"<th>Current (change)</th><th>Drift when</th><th>Verdict</th></tr></thead><tbody>{''.join(rows)}</tbody>"
        f"</table>{f'<ul class=muted>{notes}</ul>' if notes else ''}"
    )


def render_html(doc: Mapping[str, Any], *, title: str = "Drift report") -> str:
    """A self-contained HTML page for a JSON drift report (Plotly inlined, no network)."""
    drifted = bool(doc.get("drift_detected"))
    rows = []
    for c in doc.get("columns", []):
        verdict = _verdict(c["drifted"])
        rows.append(
            f"<tr><td>{html.escape(str(c['column']))}</td><td>{html.escape(c['kind'])}</td>"
            f"<td>{html.escape(c['test_name'])}</td><td class='num'>{_fmt(c['statistic'])}</td>"
            f"<td class='num'>{_fmt(c['p_value'])}</td><td class='num'>{_fmt(c['p_value_adjusted'])}</td>"
            f"<td class='num'>{_fmt(c['threshold'])}</td><td class='num'>{_fmt(c['calibrated_threshold'])}</td>"
            f"<td class='num'>{_fmt(c['effect_size'])} "
            f"<span class='muted'>{html.escape(c['effect_size_name'])}</span></td>"
            f"<td>{verdict}</td></tr>"
        )
    context = " · ".join(
        html.escape(f"{k}: {doc[k]}") for k in ("deployment", "window", "reference", "current") if doc.get(k)
    )
    share = doc.get("share_drifted", 0.0)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='muted'>{context}</p>"
        f"<p><span class='verdict {'drift' if drifted else 'ok'}' id='verdict'>"
        f"{'Dataset drift detected' if drifted else 'No dataset drift'}</span> "
        f"{doc.get('n_drifted', 0)} of {doc.get('n_columns', 0)} columns drifted ({share:.0%}; "
        f"dataset drift at {doc.get('drift_share', 0.5):.0%}).</p>"
        "<table id='columns'><thead><tr><th>Column</th><th>Kind</th><th>Test</th><th>Statistic</th><th>p-value</th>"
        "<th>Adjusted p</th><th>Threshold</th><th>Calibrated</th><th>Effect size</th><th>Verdict</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{_multivariate_html(doc.get('multivariate'))}"
        "<h2>Reference vs current</h2><div class='plots' id='plots'></div>"
        f"<script id='report-data' type='application/json'>{_json_for_script(doc)}</script>"
        f"<script>{_plotly_js()}</script><script>{_SCRIPT}</script></body></html>"
    )
