"""``steward experiments`` and ``steward runs``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from steward.cli import context
from steward.cli.output import console, emit_json, handle_errors, table
from steward.tracking import service
from steward.tracking.schemas import ExperimentOut, RunOut

experiments_app = typer.Typer(help="Experiments.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _when(ms: int | None) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


@experiments_app.command("list")
@handle_errors
def list_experiments(
    view: Annotated[str, typer.Option(help="active, deleted or all.")] = "active", as_json: JsonOpt = False
) -> None:
    with context.runtime().uow() as uow:
        page = service.list_experiments(uow, view=view, max_results=10_000)
    items = [ExperimentOut.of(e) for e in page.items]
    if as_json:
        emit_json([e.model_dump() for e in items])
    else:
        table(
            "Experiments",
            ["id", "name", "stage", "created"],
            [(e.id, e.name, e.lifecycle_stage, _when(e.creation_time)) for e in items],
        )


@runs_app.command("list")
@handle_errors
def list_runs(
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Experiment name or id (default: every experiment).")
    ] = None,
    max_results: Annotated[int, typer.Option(help="How many runs, newest first.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    with context.runtime().uow() as uow:
        if experiment is None:
            # Runs land in whatever experiment the SDK named ("Default" when none): show them all.
            experiments = service.list_experiments(uow, max_results=10_000).items
        elif experiment.isdigit():
            experiments = [service.get_experiment(uow, experiment)]
        else:
            experiments = [service.get_experiment_by_name(uow, experiment)]
        ids = [e.id for e in experiments]
        page = service.list_runs(uow, ids, max_results=max_results) if ids else None
    runs = [RunOut.of(r) for r in page.items] if page is not None else []
    if as_json:
        emit_json([r.model_dump() for r in runs])
        return
    keys = sorted({m.key for r in runs for m in r.metrics})[:6]
    names = {str(e.id): e.name for e in experiments}
    across = experiment is None  # runs of several experiments: say which one each is from
    rows = []
    for r in runs:
        latest = {m.key: m.value for m in r.metrics}
        rows.append(
            [
                r.id,
                *([names.get(r.experiment_id, r.experiment_id)] if across else []),
                r.name,
                r.status,
                _when(r.start_time),
                *[f"{latest[k]:.4g}" if k in latest else "" for k in keys],
            ]
        )
    title = "Runs" if across else f"Runs of {experiments[0].name}"
    table(title, ["id", *(["experiment"] if across else []), "name", "status", "started", *keys], rows)


@runs_app.command("show")
@handle_errors
def show_run(run_id: str, as_json: JsonOpt = False) -> None:
    with context.runtime().uow() as uow:
        run = RunOut.of(service.get_run(uow, run_id))
    if as_json:
        emit_json(run.model_dump())
        return
    console.print(f"[bold]{run.name}[/] ({run.id})  {run.status}  started {_when(run.start_time)}")
    table("Params", ["key", "value"], sorted(run.params.items()))
    table("Metrics (latest)", ["key", "value", "step"], [(m.key, m.value, m.step) for m in run.metrics])
    table("Tags", ["key", "value"], sorted(run.tags.items()))


@runs_app.command("compare")
@handle_errors
def compare_runs(run_ids: list[str], as_json: JsonOpt = False) -> None:
    """Params and latest metrics of two or more runs side by side."""
    with context.runtime().uow() as uow:
        doc = service.compare_runs(uow, run_ids)
    if as_json:
        emit_json(doc)
        return
    names = [r["name"] for r in doc["runs"]]
    table("Params", ["param", *names], [[k, *v] for k, v in doc["params"].items()])
    table("Metrics", ["metric", *names], [[k, *v] for k, v in doc["metrics"].items()])
