"""What training left on a run, shaped for the run page and the model page.

``steward train`` (``steward.pipelines.runner``) logs, besides params and metrics:
``evaluation/gates.json`` (the gate results), ``validation/report.json``,
``leakage/report.json``, ``evaluation/report.json`` + ``report.html`` and
``evaluation/model_card.md``; the headline metrics carry bootstrap intervals as the metrics
``<name>.ci_lower`` / ``<name>.ci_upper`` and the baseline's values as ``baseline.<name>``.
:func:`load` reads what a run has of these (a run logged another way simply has less).

The model card is Markdown rendered by markdown-it-py with raw HTML off: any HTML in it is
shown as text, ``javascript:`` links are dropped, images are not loaded.

The full HTML report runs its own inline Plotly, so it is served (``/runs/{id}/report``)
under a sandbox CSP of its own: scripts run, but in an opaque origin that can neither read
Steward's cookies nor call its API, and fetch nothing from anywhere.

>>> headline_keys(["brier", "brier.ci_lower", "roc_auc", "roc_auc.ci_lower", "loss"], [])
['roc_auc', 'brier']
>>> headline_keys(["accuracy", "roc_auc"], ["roc_auc", "f1"])
['roc_auc']
>>> str(render_markdown("# Card <script>x</script>"))
'<h3>Card &lt;script&gt;x&lt;/script&gt;</h3>\\n'
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from steward.artifacts.blobs import BlobStore
from steward.artifacts.repository import ArtifactFile
from steward.auth.models import Principal
from steward.core.errors import NotFound
from steward.store.uow import UnitOfWork
from steward.tracking import service
from steward.tracking.artifacts import run_prefix
from steward.tracking.models import Run
from steward.web.session import PageError, WebRoute, runtime_of

GATES = "evaluation/gates.json"
VALIDATION = "validation/report.json"
LEAKAGE = "leakage/report.json"
REPORT_JSON = "evaluation/report.json"
REPORT_HTML = "evaluation/report.html"
MODEL_CARD = "evaluation/model_card.md"
MAX_JSON = 8 * 1024 * 1024  # larger reports are linked, not parsed on every page view
MAX_CARD = 1024 * 1024
MAX_HEADLINE = 8
PREFERRED = (  # the order of headline metrics when the spec declares none
    "roc_auc",
    "average_precision",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "log_loss",
    "rmse",
    "mae",
    "r2",
)
DECLARED_PARAM = "evaluation.metrics"  # the spec's headline metrics, as training logs them

# The report's own inline Plotly runs, sandboxed: no same-origin (no cookies, no API), no network.
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
REPORT_HEADERS = {
    "Content-Security-Policy": REPORT_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-cache",
}


# Markdown ----------------------------------------------------------------------------------
def _heading_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # The card sits under the page's own h1/h2: its "# Model card" becomes an h3, and so on.
    token = tokens[idx]
    token.tag = f"h{min(6, int(token.tag[1:]) + 2)}"
    return self.renderToken(tokens, idx, options, env)


def _heading_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    token.tag = f"h{min(6, int(token.tag[1:]) + 2)}"
    return self.renderToken(tokens, idx, options, env)


def _link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    return self.renderToken(tokens, idx, options, env)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").disable("image")
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    md.add_render_rule("link_open", _link_open)
    return md


_md = _markdown()


def render_markdown(text: str) -> Markup:
    """Markdown as HTML that is safe to embed: raw HTML in ``text`` comes out escaped."""
    return Markup(_md.render(text))  # html=False: markdown-it escapes all text


# Reading a run's evaluation ------------------------------------------------------------------
def _entry(uow: UnitOfWork, run: Run, path: str) -> ArtifactFile | None:
    return uow.artifacts.get(f"{run_prefix(run.experiment_id, run.id)}/{path}")


def _read(blobs: BlobStore, entry: ArtifactFile) -> bytes | None:
    try:
        return blobs.get(entry.sha256)
    except (FileNotFoundError, NotFound):
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def headline_keys(metric_keys: Iterable[str], declared: Sequence[str]) -> list[str]:
    """The headline metrics among ``metric_keys``: those the spec declared (in its order), else
    those that carry a bootstrap interval (``<key>.ci_lower``), the usual headline ones first;
    at most 8."""
    keys = set(metric_keys)
    chosen = [k for k in declared if k in keys]
    if not chosen:
        rank = {k: i for i, k in enumerate(PREFERRED)}
        chosen = sorted((k for k in keys if f"{k}.ci_lower" in keys), key=lambda k: (rank.get(k, len(rank)), k))
    return chosen[:MAX_HEADLINE]


def declared_metrics(params: Mapping[str, str]) -> list[str]:
    """The spec's ``evaluation.metrics`` as training logged it (a JSON list), else []."""
    raw = params.get(DECLARED_PARAM)
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class Headline:
    metric: str
    value: float | None
    lower: float | None
    upper: float | None
    baseline: float | None


@dataclass(frozen=True)
class Gate:
    gate: str
    passed: bool
    observed: float | None
    threshold: float | None
    reason: str
    applicable: bool = True  # False: e.g. a champion gate before there is a champion


@dataclass(frozen=True)
class RunEvaluation:
    """What the run page shows of a training run's evaluation; every part may be absent."""

    run_id: str
    gates: list[Gate] | None = None
    gates_status: str | None = None  # passed | failed, when the run recorded one
    validation: dict[str, Any] | None = None
    leakage: dict[str, Any] | None = None
    headline: list[Headline] = field(default_factory=list)
    confidence_level: float | None = None
    n_samples: int | None = None
    notes: list[str] = field(default_factory=list)
    has_report: bool = False
    card: Markup | None = None
    unreadable: list[str] = field(default_factory=list)  # artifacts too large or not valid JSON

    @property
    def present(self) -> bool:
        return bool(
            self.gates is not None
            or self.gates_status
            or self.validation
            or self.leakage
            or self.headline
            or self.has_report
            or self.card is not None
        )


def _json(uow: UnitOfWork, blobs: BlobStore, run: Run, path: str, unreadable: list[str]) -> Any:
    entry = _entry(uow, run, path)
    if entry is None:
        return None
    if entry.size > MAX_JSON:
        unreadable.append(f"{path} is too large to show here; download it from the artifacts.")
        return None
    data = _read(blobs, entry)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        unreadable.append(f"{path} is not valid JSON.")
        return None


def _gates(raw: Any) -> list[Gate] | None:
    if not isinstance(raw, list):
        return None
    return [
        Gate(
            str(g.get("gate") or g.get("name") or g.get("metric") or "?"),
            bool(g.get("passed")),
            _number(g.get("observed")),
            _number(g.get("threshold")),
            str(g.get("reason") or ""),
            g.get("applicable") is not False,
        )
        for g in raw
        if isinstance(g, dict)
    ]


def _validation(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("results"), list):
        return None
    results = [r for r in raw["results"] if isinstance(r, dict)]
    failed = [r for r in results if not r.get("passed")]
    failed.sort(key=lambda r: (r.get("severity") != "error", str(r.get("name"))))
    return {
        "passed": bool(raw.get("passed", not any(r.get("severity") == "error" for r in failed))),
        "num_rows": raw.get("num_rows"),
        "errors": sum(1 for r in failed if r.get("severity") == "error"),
        "warnings": sum(1 for r in failed if r.get("severity") == "warning"),
        "rules": len(results),
        "failed": failed,
        "results": results,
    }


def _leakage(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("findings"), list):
        return None
    findings = [f for f in raw["findings"] if isinstance(f, dict)]
    findings.sort(key=lambda f: (f.get("severity") != "error", str(f.get("check")), str(f.get("fold"))))
    checks = [c for c in raw.get("checks") or [] if isinstance(c, dict)]
    return {
        "findings": findings,
        "blocking": sum(1 for f in findings if f.get("severity") == "error"),
        "checks": len(checks),
        "checks_passed": sum(1 for c in checks if c.get("passed")),
        "check_names": sorted({str(c.get("check")) for c in checks}),
    }


def headline(run: Run) -> list[Headline]:
    values = {k: m.value for k, m in run.metrics.items()}
    keys = headline_keys(values, declared_metrics(run.params))
    return [
        Headline(
            k,
            _number(values.get(k)),
            _number(values.get(f"{k}.ci_lower")),
            _number(values.get(f"{k}.ci_upper")),
            _number(values.get(f"baseline.{k}")),
        )
        for k in keys
    ]


def model_card(uow: UnitOfWork, blobs: BlobStore, run: Run) -> Markup | None:
    entry = _entry(uow, run, MODEL_CARD)
    if entry is None:
        return None
    if entry.size > MAX_CARD:
        return render_markdown(f"_The model card is larger than {MAX_CARD // 1024} KiB: download `{MODEL_CARD}`._")
    data = _read(blobs, entry)
    return None if data is None else render_markdown(data.decode("utf-8", errors="replace"))


def load(uow: UnitOfWork, blobs: BlobStore, run: Run) -> RunEvaluation:
    """Everything the run recorded of its evaluation (artifacts missing from the run are None)."""
    unreadable: list[str] = []
    gates = _gates(_json(uow, blobs, run, GATES, unreadable))
    tag = run.tags.get("steward.gates")
    status = tag if tag in ("passed", "failed") else None
    if gates is not None and gates:
        status = "passed" if all(g.passed for g in gates) else "failed"
    elif status is None and (m := run.metrics.get("gates.passed")) is not None:
        status = "passed" if m.value >= 1.0 else "failed"
    report = _json(uow, blobs, run, REPORT_JSON, unreadable)
    model = report.get("model") if isinstance(report, dict) else None
    level = n_samples = None
    notes: list[str] = []
    if isinstance(model, dict):
        intervals = model.get("confidence_intervals") or {}
        level = next((_number(ci.get("confidence_level")) for ci in intervals.values() if isinstance(ci, dict)), None)
        n_samples = model.get("n_samples") if isinstance(model.get("n_samples"), int) else None
        notes = [str(n) for n in model.get("notes") or []]
    return RunEvaluation(
        run_id=run.id,
        gates=gates,
        gates_status=status,
        validation=_validation(_json(uow, blobs, run, VALIDATION, unreadable)),
        leakage=_leakage(_json(uow, blobs, run, LEAKAGE, unreadable)),
        headline=headline(run),
        confidence_level=level,
        n_samples=n_samples,
        notes=notes,
        has_report=_entry(uow, run, REPORT_HTML) is not None,
        card=model_card(uow, blobs, run),
        unreadable=unreadable,
    )


# The full report -----------------------------------------------------------------------------
def report_page(request: Request, _: Principal) -> Response:
    """The run's evaluation report (self-contained HTML with inline Plotly), sandboxed."""
    run_id = request.path_params["run_id"]
    runtime = runtime_of(request)
    try:
        with runtime.uow() as uow:
            run = service.get_run(uow, run_id)
            entry = _entry(uow, run, REPORT_HTML)
            data = _read(runtime.blobs, entry) if entry is not None else None
    except NotFound as exc:
        raise PageError(404, "Not found", exc.message) from exc
    if data is None:
        raise PageError(404, "No evaluation report", f"Run {run_id} has no {REPORT_HTML} artifact.")
    return Response(data, media_type="text/html; charset=utf-8", headers=REPORT_HEADERS)


ROUTES = [WebRoute("/runs/{run_id}/report", report_page, "runs:read")]
