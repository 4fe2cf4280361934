"""``steward init``, ``steward train``, ``steward evaluate``, ``steward reproduce``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from steward.cli import context
from steward.cli.output import console, emit_json, err_console, fail, handle_errors, table
from steward.core.errors import InvalidArgument

# The pipeline modules import scikit-learn, Optuna and Plotly: imported inside the commands,
# so that every other ``steward`` command starts fast.

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@contextmanager
def _progress(steps: tuple[str, ...], quiet: bool) -> Iterator[Any]:
    """A Rich progress bar over the pipeline's steps (on stderr, so --json stays clean)."""
    if quiet:
        yield lambda _name: None
        return
    with Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task("starting", total=len(steps))
        seen: list[str] = []

        def step(name: str) -> None:
            if name not in seen:
                seen.append(name)
                done = min(len(seen) - 1, len(steps))
                bar.update(task, description=name, completed=done)

        yield step
        bar.update(task, description="done", completed=len(steps))


@handle_errors
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example spec.")] = Path("pipeline.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a commented example pipeline spec on a real dataset (Adult census income)."""
    from steward.pipelines.example import EXAMPLE_SPEC

    if path.exists() and not force:
        raise InvalidArgument(f"{str(path)!r} already exists; pass --force to overwrite it.", field="path")
    path.write_text(EXAMPLE_SPEC, encoding="utf-8")
    if as_json:
        emit_json({"path": str(path), "next": f"steward train {path}"})
    else:
        console.print(f"Wrote [bold]{path}[/]. Train it with: steward train {path}")


@handle_errors
def train(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC", help="The pipeline spec (YAML).")],
    as_json: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train a pipeline spec and log everything to a run. Exit 1 when a gate fails."""
    from steward.pipelines.spec import load_spec

    spec, text = load_spec(spec_path)  # a bad spec fails before the heavy imports below

    from steward.pipelines.runner import STEPS
    from steward.pipelines.runner import train as run_pipeline
    from steward.sdk.backends import LocalBackend
    from steward.sdk.client import Client

    runtime = context.runtime()
    tracker = Client(LocalBackend(runtime))
    with _progress(STEPS, quiet or as_json) as step:
        result = run_pipeline(
            spec, text, runtime=runtime, tracker=tracker, base_dir=spec_path.resolve().parent, progress=step
        )
    if as_json:
        emit_json(result.to_dict())
    else:
        v = result.dataset_version
        console.print(f"Run [bold]{result.run_id}[/] in experiment {result.experiment!r}")
        state = "new version" if result.dataset_new else "known version"
        console.print(f"Dataset {v.ref}: {state}, {v.num_rows} rows, from {v.source}")
        val, leak = result.validation, result.leakage
        console.print(
            f"Validation: {val['errors']} error(s), {val['warnings']} warning(s); "
            f"leakage guards: {leak['findings']} finding(s), {leak['blocking']} blocking"
        )
        if result.search:
            console.print(
                f"Search: {result.search['trials']} trials, best {result.search['metric']} "
                f"{result.search['best_score']:.4f} with {result.search['best_params']}"
            )
        keys = list(result.headline) or [k for k in sorted(result.metrics) if k in result.baseline_metrics][:14]
        table(
            "Metrics (evaluation rows)",
            ["metric", "model", "baseline"],
            [
                (k, _fmt(result.headline.get(k, result.metrics.get(k))), _fmt(result.baseline_metrics.get(k)))
                for k in keys
            ],
        )
        table(
            "Gates",
            ["gate", "passed", "reason"],
            [(g["gate"], "yes" if g["passed"] else "NO", g["reason"]) for g in result.gates],
        )
        if result.champion is not None:
            c = result.champion
            console.print(f"Champion: {c['ref']}" if c["version"] is not None else f"Champion: {c['missing']}")
        console.print(f"Model, signature, evaluation report and model card: steward runs show {result.run_id}")
    if not result.gates_passed:
        raise fail(f"run {result.run_id}: at least one gate failed", 1)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _load_model(ref: str) -> tuple[Any, Any]:
    """A model folder (when ``ref`` is one), a registered version (``NAME@alias``,
    ``NAME/VERSION``), else a training run's model."""
    from steward.pipelines.champion import is_registry_ref, resolve_registered
    from steward.pipelines.model_format import load_model
    from steward.pipelines.reproduce import load_run_model

    path = Path(ref)
    if path.is_dir():
        return load_model(path)
    if "@" in ref or is_registry_ref(ref):
        _, estimator, signature = resolve_registered(context.runtime(), ref)
        return estimator, signature
    return load_run_model(context.runtime(), ref)


@handle_errors
def evaluate(
    model: Annotated[
        str, typer.Argument(help="A registered version (NAME@alias, NAME/VERSION), a run id, or a model folder.")
    ],
    data: Annotated[Path, typer.Option("--data", help="Labelled data, CSV or Parquet.")],
    target: Annotated[str | None, typer.Option(help="The target column (default: as trained).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write report.html, report.json, model_card.md here.")] = None,
    bootstrap: Annotated[int | None, typer.Option(help="Bootstrap resamples (default: as trained).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a stored model on labelled data."""
    import json

    from steward.pipelines.evaluate import evaluate_model
    from steward.pipelines.sources import load_file
    from steward.pipelines.spec import FileSource

    estimator, signature = _load_model(model)
    frame, where = load_file(FileSource(path=str(data)), Path.cwd())
    result = evaluate_model(estimator, signature, frame, target=target, n_bootstrap=bootstrap)
    doc = result.to_dict()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")
        name = str(signature.metadata.get("pipeline") or "model")
        (out / "report.html").write_text(result.html(f"{name}: evaluation on {data.name}"), encoding="utf-8")
        card = result.card(
            name=name,
            data=f"{where} ({result.extra['rows']} labelled rows)",
            about=signature.metadata.get("card"),
        )
        (out / "model_card.md").write_text(card, encoding="utf-8")
    if as_json:
        emit_json(
            {
                "model": model,
                "data": where,
                "rows": result.extra["rows"],
                "metrics": result.report.metrics,
                "gates": result.gates,
                "gates_passed": result.gates_passed,
                "unseen_categories": result.unseen,
                "out": str(out) if out else None,
            }
        )
        return
    metrics = result.report.metrics
    table("Metrics", ["metric", "value"], [(k, f"{v:.4f}") for k, v in sorted(metrics.items())])
    if result.gates:
        table(
            "Gates",
            ["gate", "passed", "reason"],
            [(g["gate"], g["passed"], g["reason"]) for g in result.gates],
        )
    if result.unseen:
        console.print(f"[yellow]Categories never seen in training:[/] {result.unseen}")
    if out is not None:
        console.print(f"Wrote {out / 'report.html'}, report.json and model_card.md")


@handle_errors
def reproduce(
    run_id: Annotated[str, typer.Argument(help="The training run to rebuild.")],
    as_json: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Rebuild a run from its dataset version, spec and seed; exit 1 unless predictions match."""
    from steward.pipelines.reproduce import reproduce as rebuild
    from steward.sdk.environment import capture_environment

    with _progress(("validate", "search", "fit", "compare"), quiet or as_json) as step:
        result = rebuild(context.runtime(), run_id, progress=step, environment=capture_environment())
    if as_json:
        emit_json(result.to_dict())
    else:
        how = "bitwise" if result.bitwise else f"max |diff| {result.max_abs_diff:.3g} (tolerance {result.tolerance})"
        verdict = "[green]reproduced[/]" if result.match else "[red]NOT reproduced[/]"
        console.print(f"{verdict}: run {run_id} on {result.dataset_version}, {result.rows} rows, {how}")
        if result.environment_changes:
            console.print(f"Environment changed since the run: {result.environment_changes}")
    if not result.match:
        raise fail(f"run {run_id}: rebuilt predictions differ (max |diff| {result.max_abs_diff:.3g})", 1)


datasets_app = typer.Typer(help="Dataset versions: register, list, show.", no_args_is_help=True)


@datasets_app.command("register")
@handle_errors
def register_dataset(
    path: Annotated[Path, typer.Argument(help="A CSV or Parquet file.")],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the file name).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a file as a version of a dataset (the same content is the same version)."""
    from steward.datasets import service
    from steward.pipelines.sources import load_file
    from steward.pipelines.spec import FileSource

    frame, where = load_file(FileSource(path=str(path)), Path.cwd())
    runtime = context.runtime()
    with runtime.uow() as uow:
        version, new = service.register_version(
            uow, runtime.blobs, name or path.stem, frame, source_type="file", source=where
        )
        uow.commit()
    if as_json:
        emit_json({**version.to_dict(), "new": new})
    else:
        state = "new version" if new else "already registered"
        console.print(f"{version.ref}: {state} ({version.num_rows} rows), id {version.id}")


@datasets_app.command("list")
@handle_errors
def list_datasets(
    name: Annotated[str, typer.Argument(help="The dataset name.")],
    as_json: JsonOpt = False,
) -> None:
    """Versions of a dataset, newest first, with their parents (lineage)."""
    from steward.datasets import service

    with context.runtime().uow() as uow:
        versions = service.list_versions(uow, name)
    if as_json:
        emit_json([v.to_dict() for v in versions])
        return
    by_id = {v.id: v.ref for v in versions}
    table(
        f"Versions of {name}",
        ["ref", "rows", "source", "parent"],
        [(v.ref, v.num_rows, v.source, by_id.get(v.parent_id or "", "")) for v in versions],
    )


@datasets_app.command("show")
@handle_errors
def show_dataset(
    ref: Annotated[str, typer.Argument(help="NAME (newest), NAME@DIGEST-PREFIX or an id.")],
    as_json: JsonOpt = False,
) -> None:
    """Schema and profile of a dataset version."""
    from steward.datasets import service

    with context.runtime().uow() as uow:
        version = service.get_version(uow, ref)
    if as_json:
        emit_json({**version.to_dict(), "schema": version.schema, "profile": version.profile})
        return
    console.print(f"[bold]{version.ref}[/] {version.num_rows} rows, digest {version.digest}")
    cols = (version.profile or {}).get("columns", {})
    rows = []
    for name, p in cols.items():
        summary = (
            f"{p['min']:.4g} .. {p['max']:.4g}, mean {p['mean']:.4g}"
            if "mean" in p and p.get("mean") is not None
            else ", ".join(list(p.get("top", {}))[:4])
        )
        rows.append((name, p["type"], p["missing"], p["distinct"], summary))
    table("Profile", ["column", "type", "missing", "distinct", "summary"], rows)


def register(app: typer.Typer) -> None:
    """Add ``init``, ``train``, ``evaluate``, ``reproduce`` and ``datasets`` to ``steward``."""
    app.command("init")(init)
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("reproduce")(reproduce)
    app.add_typer(datasets_app, name="datasets")
