"""The Models workspace: registered models, and one model's versions, metrics compared across
versions, alias and promotion history, and the selected version's gates, lineage, signature
and model card.

>>> cells = {"1": 0.8, "2": None, "3": 0.9}
>>> version_chart("roc_auc", [1, 2, 3], {"roc_auc": cells, "roc_auc.ci_lower": {"1": 0.7}})["versions"]
['v1', 'v3']
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from steward.artifacts.blobs import BlobStore
from steward.auth.models import Principal
from steward.core.errors import InvalidArgument, NotFound
from steward.registry import lineage as lineage_service
from steward.registry import promotion
from steward.registry import service as registry
from steward.registry.models import AliasEvent, ModelVersion, RegisteredModel, check_version
from steward.registry.tables import AliasEventRow
from steward.store.uow import UnitOfWork
from steward.tracking import service as tracking
from steward.tracking.artifacts import run_prefix
from steward.tracking.models import Run
from steward.web import evaluation
from steward.web.session import PageError, WebRoute, runtime_of
from steward.web.templating import render
from steward.web.tracking import page_errors

MAX_MODELS = 1000
MAX_VERSIONS = 50  # the newest versions shown and compared on a model page
HEADLINE_COLUMNS = 4  # headline metrics shown as columns of the versions table
DEFAULT_ALIASES = ("production", "champion")  # the version a model page opens on, before the latest
_OTHER_PREFIXES = ("baseline.", "validation.", "leakage.", "gates.", "search.")
_INTERVAL = (".ci_lower", ".ci_upper")
MAX_SIGNATURE = 1024 * 1024


# the list --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelRow:
    model: RegisteredModel
    latest: ModelVersion | None
    versions: int


def models_page(request: Request, _: Principal) -> Response:
    with page_errors(), runtime_of(request).uow() as uow:
        found = registry.search_models(uow, max_results=MAX_MODELS, order_by=["name ASC"])
    rows = [
        ModelRow(m, max(m.latest_versions, key=lambda v: v.version, default=None), len(m.latest_versions))
        for m in found.items
    ]
    return render(
        request,
        "models.html",
        {"active": "models", "models": rows, "more": found.next_page_token is not None},
    )


# one model ---------------------------------------------------------------------------------
def is_other_metric(key: str) -> bool:
    """Bookkeeping metrics of a training run (baseline, validation counts, intervals ...)."""
    return key.startswith(_OTHER_PREFIXES) or key.endswith(_INTERVAL)


def version_chart(key: str, versions: Sequence[int], table: Mapping[str, Mapping[str, float | None]]) -> dict[str, Any]:
    """One metric across versions, with its bootstrap interval and the baseline where recorded.
    Versions without a value are left out."""
    cells = table.get(key, {})
    shown = [v for v in versions if cells.get(str(v)) is not None]

    def column(name: str) -> list[float | None]:
        found = table.get(name, {})
        return [found.get(str(v)) for v in shown]

    return {
        "key": key,
        "versions": [f"v{v}" for v in shown],
        "values": column(key),
        "lower": column(f"{key}.ci_lower"),
        "upper": column(f"{key}.ci_upper"),
        "baseline": column(f"baseline.{key}"),
    }


@dataclass(frozen=True)
class MetricRow:
    key: str
    cells: list[tuple[float | None, float | None, float | None]]  # (value, lower, upper) per version

    @property
    def differs(self) -> bool:
        return len({repr(c[0]) for c in self.cells}) > 1


def _metric_rows(
    keys: Sequence[str], versions: Sequence[int], table: Mapping[str, Mapping[str, float | None]]
) -> list[MetricRow]:
    def cell(key: str, v: int) -> tuple[float | None, float | None, float | None]:
        def get(k: str) -> float | None:
            return table.get(k, {}).get(str(v))

        return get(key), get(f"{key}.ci_lower"), get(f"{key}.ci_upper")

    return [MetricRow(k, [cell(k, v) for v in versions]) for k in keys]


def _alias_history(uow: UnitOfWork, name: str, model_id: int) -> list[AliasEvent]:
    """Every move of every alias the model ever had (removed ones too), newest first."""
    aliases = uow.session.scalars(select(AliasEventRow.alias).where(AliasEventRow.model_id == model_id).distinct())
    events = [(e.at, i, e) for a in sorted(set(aliases)) for i, e in enumerate(registry.alias_history(uow, name, a))]
    return [e for _, _, e in sorted(events, key=lambda t: (t[0], t[1]), reverse=True)]


def _runs(uow: UnitOfWork, versions: Sequence[ModelVersion]) -> dict[str, Run]:
    out: dict[str, Run] = {}
    for v in versions:
        if v.run_id and v.run_id not in out:
            with contextlib.suppress(NotFound):
                out[v.run_id] = tracking.get_run(uow, v.run_id)
    return out


def _selected(versions: Sequence[ModelVersion], aliases: Mapping[str, int], wanted: str | None) -> ModelVersion | None:
    by_number = {v.version: v for v in versions}
    if wanted:
        try:
            number = check_version(wanted)
        except InvalidArgument as exc:
            raise PageError(400, "Bad request", exc.message) from exc
        if number not in by_number:
            raise PageError(404, "Not found", f"This model has no live version {number}.")
        return by_number[number]
    for alias in DEFAULT_ALIASES:
        if aliases.get(alias) in by_number:
            return by_number[aliases[alias]]
    return versions[-1] if versions else None


def _normal_signature(raw: Any) -> dict[str, Any] | None:
    """A signature reduced to what the page shows: task, classes, inputs (name, type, categories, nullable)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("inputs"), list):
        return None
    inputs = [
        {
            "name": str(i.get("name", "?")),
            "type": str(i.get("type", "?")),
            "categories": [str(c) for c in i.get("categories") or []],
            "nullable": bool(i.get("nullable", True)),
        }
        for i in raw["inputs"]
        if isinstance(i, dict)
    ]
    classes = raw.get("classes")
    return {
        "task": str(raw.get("task") or ""),
        "classes": [str(c) for c in classes] if isinstance(classes, list) else [],
        "inputs": inputs,
    }


def _signature(uow: UnitOfWork, blobs: BlobStore, version: ModelVersion, run: Run | None) -> dict[str, Any] | None:
    """The version's input signature: stored on the version, else the run's ``model/signature.json``."""
    model_row = uow.registry.model_row(version.model_name)
    row = uow.registry.version_row(model_row.id, version.version) if model_row else None
    if row is not None and isinstance(row.signature, dict):
        return _normal_signature(row.signature)
    if run is None or not version.source.startswith(f"runs:/{run.id}"):
        return None
    folder = version.source[len(f"runs:/{run.id}") :].strip("/")
    path = f"{folder}/signature.json" if folder else "signature.json"
    entry = uow.artifacts.get(f"{run_prefix(run.experiment_id, run.id)}/{path}")
    if entry is None or entry.size > MAX_SIGNATURE:
        return None
    try:
        found = json.loads(blobs.get(entry.sha256))
    except (ValueError, FileNotFoundError):
        return None
    return _normal_signature(found)


def model_page(request: Request, _: Principal) -> Response:
    name = request.path_params["name"]
    runtime = runtime_of(request)
    with page_errors(), runtime.uow() as uow:
        model = registry.get_model(uow, name)
        model_row = uow.registry.model_row(model.name)
        assert model_row is not None
        every = lineage_service.versions(uow, name)
        shown = every[-MAX_VERSIONS:]
        numbers = [v.version for v in shown]
        compared = lineage_service.compare(uow, name, numbers) if shown else {"metrics": {}}
        table: dict[str, dict[str, float | None]] = compared["metrics"]
        runs = _runs(uow, shown)
        gates = {v.version: promotion.gate_outcome(uow, name, v.version, runtime.blobs) for v in shown}
        selected = _selected(every, model.aliases, request.query_params.get("version"))
        if selected is not None and selected.version not in gates:  # older than the versions shown
            runs |= _runs(uow, [selected])
            gates[selected.version] = promotion.gate_outcome(uow, name, selected.version, runtime.blobs)
        sel_run = runs.get(selected.run_id) if selected and selected.run_id else None
        detail = {
            "lineage": lineage_service.lineage(uow, name, selected.version) if selected else None,
            "evaluation": evaluation.load(uow, runtime.blobs, sel_run) if sel_run else None,
            "signature": _signature(uow, runtime.blobs, selected, sel_run) if selected else None,
        }
        alias_events = _alias_history(uow, name, model_row.id)
        promotions = list(reversed(promotion.history(uow, name)))  # newest first
        policy = promotion.get_policy(uow, name)
    latest_run = runs.get(shown[-1].run_id or "") if shown else None
    declared = evaluation.declared_metrics(latest_run.params) if latest_run else []
    keys = list(table)
    headline = evaluation.headline_keys(keys, declared)
    if not headline:  # versions logged without intervals: their first few plain metrics
        headline = [k for k in keys if not is_other_metric(k)][: evaluation.MAX_HEADLINE]
    others = [k for k in keys if k not in headline and not k.endswith(_INTERVAL)]
    return render(
        request,
        "models_show.html",
        {
            "active": "models",
            "model": model,
            "versions": list(reversed(shown)),
            "total_versions": len(every),
            "runs": runs,
            "gates": gates,
            "selected": selected,
            "sel_gates": gates.get(selected.version) if selected else None,
            "sel_run": sel_run,
            **detail,
            "headline": headline,
            "columns": headline[:HEADLINE_COLUMNS],
            "table": table,
            "numbers": numbers,
            "headline_rows": _metric_rows(headline, numbers, table),
            "other_rows": _metric_rows(others, numbers, table),
            "charts": [version_chart(k, numbers, table) for k in headline],
            "alias_events": alias_events,
            "promotions": promotions,
            "policy": policy,
        },
    )


ROUTES = [
    WebRoute("/models", models_page, "models:read"),
    WebRoute("/models/{name}", model_page, "models:read"),
]
