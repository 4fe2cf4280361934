"""Experiments, the runs of one experiment, one run, and runs compared side by side."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from steward.artifacts.service import DirEntry
from steward.auth.models import Principal
from steward.core.errors import InvalidArgument, NotFound
from steward.store.uow import UnitOfWork
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service
from steward.tracking.models import Metric, Run, RunStatus
from steward.web import evaluation, runs_table
from steward.web.charts import MAX_POINTS, chart
from steward.web.session import PageError, WebRoute, runtime_of
from steward.web.templating import render

MAX_RUNS = 10_000  # loaded per experiment page; filtered and sorted in memory
PER_PAGE = 100
MAX_CHARTS = 40
MAX_ARTIFACTS = 500
MAX_COMPARE = 10
SYSTEM_TAG_PREFIXES = ("mlflow.", "steward.")


@contextmanager
def page_errors() -> Iterator[None]:
    """Service errors as HTML error pages (the API's problem+json is not for browsers)."""
    try:
        yield
    except NotFound as exc:
        raise PageError(404, "Not found", exc.message) from exc
    except InvalidArgument as exc:
        raise PageError(400, "Bad request", exc.message) from exc


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def experiments(request: Request, _: Principal) -> Response:
    with page_errors(), runtime_of(request).uow() as uow:
        found = service.list_experiments(uow, max_results=1000)
    return render(
        request,
        "experiments.html",
        {
            "active": "experiments",
            "experiments": found.items,
            "more": found.next_page_token is not None,
        },
    )


def experiment(request: Request, _: Principal) -> Response:
    experiment_id = request.path_params["experiment_id"]
    query = request.query_params
    q, status = query.get("q", ""), query.get("status", "").upper()
    sort, order = query.get("sort", runs_table.DEFAULT_SORT), query.get("order", "desc")
    with page_errors(), runtime_of(request).uow() as uow:
        exp = service.get_experiment(uow, experiment_id)
        loaded = service.list_runs(uow, [exp.id], max_results=MAX_RUNS)
    if not runs_table.is_sort_key(sort):
        sort = runs_table.DEFAULT_SORT
    order = order if order in ("asc", "desc") else "desc"
    status = status if status in RunStatus.__members__ else ""
    shown = runs_table.sort_runs(runs_table.filter_runs(loaded.items, q, status), sort, order)
    window = runs_table.paginate(shown, _int(query.get("page", "1"), 1), PER_PAGE)
    state = {"q": q, "status": status, "sort": sort, "order": order}

    def href(**changes: Any) -> str:
        query = {k: v for k, v in {**state, **changes}.items() if v not in ("", None)}
        return f"/experiments/{exp.id}?{urlencode(query)}"

    columns = [
        {
            "column": c,
            "sorted": order if c.key == sort else None,
            "href": href(sort=c.key, order="asc" if c.key == sort and order == "desc" else "desc", page=None),
        }
        for c in runs_table.columns(loaded.items)
    ]
    return render(
        request,
        "experiment.html",
        {
            "active": "experiments",
            "experiment": exp,
            "runs": window.items,
            "columns": columns,
            "window": window,
            "state": state,
            "statuses": [s.value for s in RunStatus],
            "total": len(loaded.items),
            "more": loaded.next_page_token is not None,
            "prev_href": href(page=window.page - 1) if window.page > 1 else None,
            "next_href": href(page=window.page + 1) if window.page < window.pages else None,
        },
    )


def _history(uow: UnitOfWork, run_id: str, key: str) -> tuple[list[Metric], bool]:
    found = service.metric_history(uow, run_id, key, max_results=MAX_POINTS)
    return found.items, found.next_page_token is not None


def _artifact_files(uow: UnitOfWork, run_id: str) -> tuple[list[DirEntry], bool]:
    """The files under the run's artifact root (walked breadth first), at most MAX_ARTIFACTS;
    the flag says whether some were left out."""
    files: list[DirEntry] = []
    folders = [""]
    cut = False
    while folders and not cut:
        for entry in run_artifacts.list_artifacts(uow, run_id, folders.pop(0)):
            if entry.is_dir:
                folders.append(entry.path)
            elif len(files) == MAX_ARTIFACTS:
                cut = True
                break
            else:
                files.append(entry)
    return sorted(files, key=lambda e: e.path), cut


def _split_tags(tags: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    user = {k: v for k, v in sorted(tags.items()) if not k.startswith(SYSTEM_TAG_PREFIXES)}
    system = {k: v for k, v in sorted(tags.items()) if k.startswith(SYSTEM_TAG_PREFIXES)}
    return user, system


def run_page(request: Request, _: Principal) -> Response:
    run_id = request.path_params["run_id"]
    with page_errors(), runtime_of(request).uow() as uow:
        run = service.get_run(uow, run_id)
        exp = service.get_experiment(uow, run.experiment_id)
        keys = sorted(run.metrics)[:MAX_CHARTS]
        charts = [chart(k, [(run.name, *_history(uow, run.id, k))]) for k in keys]
        files, files_cut = _artifact_files(uow, run.id)
        run_evaluation = evaluation.load(uow, runtime_of(request).blobs, run)
    user_tags, system_tags = _split_tags(run.tags)
    return render(
        request,
        "run.html",
        {
            "active": "experiments",
            "run": run,
            "experiment": exp,
            "charts": charts,
            "charts_cut": len(run.metrics) > MAX_CHARTS,
            "files": files,
            "files_cut": files_cut,
            "user_tags": user_tags,
            "system_tags": system_tags,
            "evaluation": run_evaluation,
        },
    )


def _labels(runs: list[Run]) -> list[str]:
    names = [r.name for r in runs]
    return [n if names.count(n) == 1 else f"{n} ({r.id[:8]})" for n, r in zip(names, runs, strict=True)]


@dataclass(frozen=True)
class CompareRow:
    """One param or metric across the compared runs (None where a run lacks it)."""

    key: str
    cells: list[Any]

    @property
    def differs(self) -> bool:
        return len({repr(v) for v in self.cells}) > 1


def _rows(keys: list[str], cells: list[list[Any]]) -> list[CompareRow]:
    return [CompareRow(k, vs) for k, vs in zip(keys, cells, strict=True)]


def compare(request: Request, _: Principal) -> Response:
    ids = list(dict.fromkeys(r for r in request.query_params.getlist("run_id") if r))
    if len(ids) < 2:
        raise PageError(
            400,
            "Pick runs to compare",
            "Select two or more runs with the checkboxes on an experiment page, then press Compare.",
        )
    if len(ids) > MAX_COMPARE:
        raise PageError(400, "Too many runs", f"Compare at most {MAX_COMPARE} runs at a time. Got {len(ids)}.")
    with page_errors(), runtime_of(request).uow() as uow:
        runs = [service.get_run(uow, r) for r in ids]
        experiments = {r.experiment_id: service.get_experiment(uow, r.experiment_id) for r in runs}
        labels = _labels(runs)
        metric_keys = sorted({k for r in runs for k in r.metrics})
        charts = [
            chart(
                k,
                [(label, *_history(uow, r.id, k)) for r, label in zip(runs, labels, strict=True) if k in r.metrics],
            )
            for k in metric_keys[:MAX_CHARTS]
        ]
    param_keys = sorted({k for r in runs for k in r.params})
    return render(
        request,
        "compare.html",
        {
            "active": "experiments",
            "runs": runs,
            "labels": labels,
            "experiments": experiments,
            "params": _rows(param_keys, [[r.params.get(k) for r in runs] for k in param_keys]),
            "metrics": _rows(
                metric_keys,
                [[m.value if (m := r.metrics.get(k)) is not None else None for r in runs] for k in metric_keys],
            ),
            "charts": charts,
            "charts_cut": len(metric_keys) > MAX_CHARTS,
        },
    )


ROUTES = [
    WebRoute("/experiments", experiments, "experiments:read"),
    WebRoute("/experiments/{experiment_id}", experiment, "runs:read"),
    WebRoute("/runs/{run_id}", run_page, "runs:read"),
    WebRoute("/compare", compare, "runs:read"),
]
