"""``steward serve`` (the model server) and ``steward predict-batch`` (batch inference)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from steward.cli import context
from steward.cli.output import console, emit_json, err_console, fail, handle_errors
from steward.core.errors import InvalidArgument

# The resolved plan travels to uvicorn's worker processes in this variable (they import
# ``worker_app`` by name and cannot take arguments).
PLAN_VAR = "STEWARD_SERVE_PLAN"


def _batching(specs: list[str], size: int, wait: float) -> dict[str, Any]:
    from steward.serving.models import Batching

    out: dict[str, Batching] = {}
    for s in specs:
        name, sep, rest = s.partition("=")
        size_s, _, wait_s = rest.partition("/")
        try:
            if not (sep and name):
                raise ValueError(s)
            out[name] = Batching(int(size_s), float(wait_s) if wait_s else wait)
        except ValueError as exc:
            if isinstance(exc, InvalidArgument):  # a number out of range: its message names the rule
                raise InvalidArgument(f"--batching {s!r}: {exc.message}", field="batching") from None
            # No square brackets here: the CLI prints messages through Rich, which reads them as markup.
            raise InvalidArgument(
                "--batching takes DEPLOYMENT=MAX_BATCH_SIZE or DEPLOYMENT=MAX_BATCH_SIZE/MAX_WAIT_MS. "
                f"Got {s!r} instead.",
                field="batching",
            ) from None
    return out


def _resolver() -> Any:
    from steward.serving.loader import RegistryResolver

    rt = context.runtime()
    return RegistryResolver(rt.uow, rt.blobs, Path(context.settings().home) / "serving-cache")


@handle_errors
def serve(
    models: Annotated[
        list[str] | None, typer.Argument(help="NAME@alias, NAME/VERSION or path:DIR, each optionally =DEPLOYMENT.")
    ] = None,
    deployment: Annotated[
        list[str] | None,
        typer.Option("--deployment", "-d", help="Serve a deployment made with steward deploy, and follow its changes."),
    ] = None,
    poll_interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between reads of the followed deployments.")
    ] = 2.0,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes (each loads every model).")] = 1,
    max_batch_size: Annotated[int, typer.Option(help="Rows per model call, at most.")] = 64,
    max_wait_ms: Annotated[float, typer.Option(help="How long a request may wait for a batch to fill.")] = 0.0,
    batching: Annotated[
        list[str] | None, typer.Option(help="Per deployment: DEPLOYMENT=SIZE or DEPLOYMENT=SIZE/WAIT_MS.")
    ] = None,
    prediction_log: Annotated[
        Path | None, typer.Option(help="Prediction log folder (default STEWARD_HOME/prediction-log).")
    ] = None,
    no_prediction_log: Annotated[bool, typer.Option("--no-prediction-log", help="Log no predictions.")] = False,
    flush_interval: Annotated[
        float, typer.Option(help="Seconds between prediction log flushes: what a crash can lose at most.")
    ] = 1.0,
) -> None:
    """Serve model versions over HTTP: /v1/deployments/{name}/predict and MLflow's /invocations.

    Each model reference is resolved once, now; the server never reads the database while it
    serves. With --workers N every worker process loads every model and keeps its own /metrics
    (scrape each, or run one worker per container and scale out) and its own prediction-log
    segments (file names carry the process id, so they never collide).
    """
    import uvicorn

    from steward.core.logging import configure
    from steward.serving.models import Batching, parse_deployment
    from steward.serving.plan import LogPlan, build_server, resolve_plan

    settings = context.settings()
    configure(settings.log_json)
    default = Batching(max_batch_size, max_wait_ms)
    per = _batching(batching or [], max_batch_size, max_wait_ms)
    if not models and not deployment:
        raise fail("Name a model to serve, or a deployment with --deployment.", 2)
    specs = [parse_deployment(m, default) for m in models or []]
    unknown = sorted(set(per) - {s.name for s in specs})
    if unknown:
        raise fail(f"--batching names deployments that are not served: {unknown}.", 2)
    specs = [type(s)(s.name, s.model, per.get(s.name, s.batching)) for s in specs]
    if any(s.model.path is None for s in specs):
        resolver = _resolver()
    else:
        from steward.serving.loader import PathResolver

        resolver = PathResolver()
    log_plan = None
    if not no_prediction_log:
        root = prediction_log or Path(settings.home) / "prediction-log"
        log_plan = LogPlan(str(Path(root).resolve()), flush_interval_s=flush_interval)
    plan = resolve_plan(specs, resolver, log_plan)
    for d in plan.deployments:
        console.print(f"deployment [bold]{d.name}[/]: {d.model.name} version {d.model.version} ({d.model.ref})")
    if log_plan:
        console.print(f"prediction log: {log_plan.root}")
    console.print(f"Model server on http://{host}:{port}  ({workers} worker{'s' if workers > 1 else ''})")
    # Background threads (prediction log writer, predict threads) may otherwise hold the GIL for
    # up to 5 ms at a time, and every such stall lands in the event loop's tail latency.
    sys.setswitchinterval(0.0005)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 30,
    }
    if deployment:
        from steward.cli.deployments import serve_following

        serve_following(plan, list(deployment), default, poll_interval, workers, options)
        return
    if workers > 1:
        os.environ[PLAN_VAR] = plan.to_json()
        uvicorn.run("steward.cli.serve:worker_app", factory=True, workers=workers, **options)
    else:
        uvicorn.run(build_server(plan), **options)


def worker_app() -> Any:
    """The app factory each uvicorn worker process calls (``steward serve --workers N``)."""
    sys.setswitchinterval(0.0005)
    from steward.serving.plan import ServePlan, build_server

    return build_server(ServePlan.from_json(os.environ[PLAN_VAR]))


@handle_errors
def predict_batch(
    model: Annotated[str, typer.Option("--model", "-m", help="NAME@alias, NAME/VERSION or path:DIR.")],
    input: Annotated[str, typer.Option("--input", "-i", help="A Parquet file or a folder of them.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder of Parquet part files.")],
    keep: Annotated[list[str] | None, typer.Option(help="Input column to copy into the output (repeat).")] = None,
    batch_rows: Annotated[int, typer.Option(help="Rows per model call.")] = 65_536,
    unit_rows: Annotated[int, typer.Option(help="Rows per part file (the resume and Dask unit).")] = 262_144,
    dask: Annotated[str | None, typer.Option("--dask", help="Dask scheduler address (tcp://host:8786).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Discard a previous, different job's output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Score a Parquet dataset: chunked, bounded memory, resumable; --dask runs it on a cluster."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from steward.serving import batch
    from steward.serving.loader import load_model_folder, resolve_path
    from steward.serving.models import ModelRef

    ref = ModelRef.parse(model)
    resolved = resolve_path(ref) if ref.path is not None else _resolver().resolve(ref)
    loaded = load_model_folder(resolved.path)
    job = batch.BatchJob(
        input,
        output,
        resolved.name,
        resolved.version,
        batch_rows=batch_rows,
        unit_rows=unit_rows,
        keep=tuple(keep or ()),
    )
    units, todo = batch.prepare(job, loaded, overwrite=overwrite)
    total = sum(u.rows for u in todo)
    if len(todo) < len(units):
        err_console.print(f"Resuming: {len(units) - len(todo)} of {len(units)} parts already written.")
    started = time.perf_counter()
    columns = (
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err_console, disable=as_json, transient=as_json) as bar:
            task = bar.add_task("score", total=total)

            def advance(rows: int) -> None:
                bar.advance(task, rows)

            if dask:
                batch.run_dask(job, loaded, todo, dask, advance)
            else:
                batch.run_local(job, loaded, todo, advance)
    except KeyboardInterrupt:
        raise fail("Interrupted; the parts written so far are kept: rerun the same command to resume.", 130) from None
    result = batch.finish(job, units, todo, time.perf_counter() - started)
    doc = {
        "output": result.output,
        "model": {"name": resolved.name, "version": resolved.version},
        "rows": result.rows,
        "scored_rows": result.scored_rows,
        "units": result.units,
        "skipped_units": result.skipped_units,
        "seconds": round(result.seconds, 3),
        "rows_per_second": round(result.rows_per_second, 1),
        "backend": "dask" if dask else "local",
    }
    if as_json:
        emit_json(doc)
    else:
        console.print(
            f"Scored {result.scored_rows:,} rows ({result.skipped_units} of {result.units} parts resumed) in "
            f"{result.seconds:.2f}s, {result.rows_per_second:,.0f} rows/s -> {result.output}"
        )
