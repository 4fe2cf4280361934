"""``steward monitor ...`` (run, configure, show, labels, ingest, alerts, compact, purge) and
``steward drift --reference A --current B``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from steward.cli import context
from steward.cli.output import console, emit_json, err_console, handle_errors, table
from steward.core.errors import InvalidArgument

monitor_app = typer.Typer(help="Production monitoring: drift, performance, alerts.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]


@contextmanager
def _steps(quiet: bool) -> Iterator[Callable[[str], None]]:
    if quiet:
        yield lambda _name: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    ) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda name: bar.update(task, description=name)


def _deps() -> Any:
    from steward.monitoring.adapters import PipelineRetrainer
    from steward.monitoring.service import MonitoringDeps

    rt = context.runtime()
    return MonitoringDeps.from_runtime(rt, retrainer=PipelineRetrainer(rt.settings, base_dir=Path.cwd()))


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@monitor_app.command("run")
@handle_errors
def run(
    deployment: Annotated[str, typer.Argument(help="The deployment to monitor.")],
    window: Annotated[
        list[str] | None, typer.Option("--window", "-w", help="Window(s): 1h, 7d, hourly, daily.")
    ] = None,
    at: Annotated[str | None, typer.Option(help="Evaluate as of this ISO time (default now).")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run a deployment's monitor now: drift, performance, latency, errors; evaluate its alerts."""
    from steward.monitoring.runner import run_monitor
    from steward.monitoring.windows import parse_iso

    deps = _deps()
    with _steps(quiet or as_json) as step:
        outcome = run_monitor(deps, deployment, now_ms=parse_iso(at) if at else None, windows=window, progress=step)
    retraining = _wait_for_retraining(deps, outcome, quiet)
    if as_json:
        emit_json({**outcome.to_dict(), "retraining": retraining})
        return
    keys: tuple[str, ...] = ("rows", "labelled_rows", "data_drift_share", "prediction_drift", "estimated_accuracy")
    keys = (*keys, "accuracy", "latency_p95_ms", "error_rate")
    table(
        f"Monitoring {deployment}",
        ["window", "drift", *keys],
        [
            (r.window, "yes" if r.drift_detected else "no", *[_fmt(r.metrics.get(k)) for k in keys])
            for r in outcome.runs
        ],
    )
    for a in outcome.analyses:
        if a.drift is not None and a.drift.n_drifted:
            drifted = ", ".join(str(c.column) for c in a.drift.columns if c.drifted)
            console.print(f"[{a.window_text}] drifted: {drifted}")
    for change in outcome.alerts:
        console.print(f"alert {change.rule}: {change.action} ({change.severity}, value {_fmt(change.value)})")
    for r in outcome.runs:
        console.print(f"report {r.window}: steward monitor report {r.id} --html report.html")


def _wait_for_retraining(deps: Any, outcome: Any, quiet: bool) -> list[dict[str, Any]]:
    """Wait for the retraining runs this command started (their outcome is recorded when they
    end, and this process would take that with it), then read back each fired alert's."""
    from steward.monitoring.results import get_alert

    retrainer = deps.retrainer
    pending = retrainer.running() if retrainer is not None else []
    if pending:
        if not quiet:
            names = ", ".join(f"{Path(p['pipeline']).name} (pid {p['pid']})" for p in pending)
            err_console.print(f"Retraining: waiting for steward train {names} ...")
        retrainer.wait()
    found: list[dict[str, Any]] = []
    with context.runtime().uow() as uow:
        for change in outcome.alerts:
            if change.action == "fire" and change.alert_id:
                alert, _ = get_alert(uow, change.alert_id)
                if alert.retrain is not None:
                    found.append({"alert_id": alert.id, "rule": alert.rule, **alert.retrain})
    for r in found if not quiet else []:
        detail = f"run {r['run_id']}" if r.get("run_id") else r.get("error") or r.get("reason") or ""
        err_console.print(f"Retraining for {r['rule']}: {r['status']} {detail}".rstrip())
    return found


@monitor_app.command("configure")
@handle_errors
def configure(
    deployment: Annotated[str, typer.Argument(help="The deployment.")],
    config: Annotated[Path, typer.Argument(help="Monitor configuration, YAML or JSON.")],
    as_json: JsonOpt = False,
) -> None:
    """Set a deployment's reference, schedule, channels and alert rules."""
    from steward.monitoring.models import MonitorConfig
    from steward.monitoring.service import configure_monitor

    if not config.is_file():
        raise InvalidArgument(f"No file at {str(config)!r}.", field="config")
    cfg = MonitorConfig.parse(config.read_text(encoding="utf-8"))
    with context.runtime().uow() as uow:
        configure_monitor(uow, deployment, cfg)
        uow.commit()
    if as_json:
        emit_json({"deployment": deployment, "config": cfg.document()})
    else:
        console.print(f"Monitor of [bold]{deployment}[/]: {len(cfg.rules.rules)} rule(s), windows {cfg.windows()}")


@monitor_app.command("show")
@handle_errors
def show(deployment: Annotated[str, typer.Argument(help="The deployment.")], as_json: JsonOpt = False) -> None:
    """A deployment's monitor configuration and its latest runs."""
    from steward.monitoring.results import list_runs
    from steward.monitoring.service import get_monitor

    with context.runtime().uow() as uow:
        cfg = get_monitor(uow, deployment)
        runs = list_runs(uow, deployment, limit=10)
    if as_json:
        emit_json({"deployment": deployment, "config": cfg.document(), "runs": [r.to_dict() for r in runs]})
        return
    console.print_json(json.dumps(cfg.document()))
    table("Latest runs", ["id", "window", "rows", "drift"], [(r.id, r.window, r.rows, r.drift_detected) for r in runs])


@monitor_app.command("labels")
@handle_errors
def labels(
    deployment: Annotated[str, typer.Argument(help="The deployment.")],
    path: Annotated[Path, typer.Argument(help="CSV or Parquet with request_id, row (optional), label.")],
    label_column: Annotated[str, typer.Option(help="The label's column.")] = "label",
    as_json: JsonOpt = False,
) -> None:
    """Ingest ground truth; it joins the logged predictions by request id (and row)."""
    from steward.monitoring.ingest import ingest_labels

    result = ingest_labels(_deps().store, deployment, path, label_column=label_column)
    if as_json:
        emit_json({"deployment": deployment, **result.to_dict()})
    else:
        console.print(f"{result.rows} labels for {deployment}.")


@monitor_app.command("ingest")
@handle_errors
def ingest(
    deployment: Annotated[str, typer.Argument(help="The deployment.")],
    path: Annotated[Path, typer.Argument(help="CSV or Parquet: features, prediction, score/probabilities, ...")],
    model_version: Annotated[str, typer.Option(help="The model version that predicted.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add predictions made outside the model server (batch scoring) to the prediction log."""
    from steward.monitoring.ingest import ingest_predictions

    result = ingest_predictions(_deps().store, deployment, path, model_version=model_version)
    if as_json:
        emit_json({"deployment": deployment, **result.to_dict()})
    else:
        console.print(f"{result.rows} predictions for {deployment} in {result.segments} segment(s).")


@monitor_app.command("alerts")
@handle_errors
def alerts(
    deployment: Annotated[str | None, typer.Option(help="Only this deployment.")] = None,
    state: Annotated[str | None, typer.Option(help="firing or resolved.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Alerts, newest first."""
    from steward.monitoring.results import list_alerts

    with context.runtime().uow() as uow:
        found = list_alerts(uow, deployment=deployment, state=state)
    if as_json:
        emit_json({"items": [a.to_dict() for a in found]})
        return
    table(
        "Alerts",
        ["deployment", "rule", "state", "severity", "value", "threshold", "message"],
        [(a.deployment, a.rule, a.state, a.severity, _fmt(a.value), _fmt(a.threshold), a.message) for a in found],
    )


@monitor_app.command("report")
@handle_errors
def report(
    run_id: Annotated[str, typer.Argument(help="A monitoring run id.")],
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A run's drift report: JSON on stdout, or the self-contained HTML page to a file (with
    ``--json`` too, the JSON report still goes to stdout)."""
    from steward.monitoring.report import render_html
    from steward.monitoring.results import run_report

    rt = context.runtime()
    with rt.uow() as uow:
        doc = run_report(uow, rt.blobs, run_id)
    if html is not None:
        html.write_text(render_html(doc, title=f"Drift report: {doc.get('deployment', '')} {doc.get('window', '')}"))
    if html is None or as_json:
        emit_json(doc)
    else:
        console.print(f"Wrote {html}")


@monitor_app.command("compact")
@handle_errors
def compact(as_json: JsonOpt = False) -> None:
    """Merge the small segments of closed hours and summarise new segments now."""
    from steward.core.clock import now_ms

    store = _deps().store
    t = now_ms()
    preds, labels_ = store.compact(now_ms=t), store.compact(now_ms=t, table="labels")
    summarised = store.summarise_pending()
    doc = {
        "predictions": preds.__dict__,
        "labels": labels_.__dict__,
        "summarised": summarised,
    }
    if as_json:
        emit_json(doc)
    else:
        console.print(
            f"{preds.files_in} prediction and {labels_.files_in} label segments compacted; {summarised} summarised."
        )


@monitor_app.command("purge")
@handle_errors
def purge(
    deployment: Annotated[str | None, typer.Argument(help="Only this deployment (default: all).")] = None,
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Remove rows older than this (30d, 12h); default the retention setting."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would go; change nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete prediction-log rows and labels older than the retention (monitor runs are kept)."""
    from steward.core.clock import now_ms
    from steward.monitoring.retention import purge as run_purge
    from steward.monitoring.retention import retention_cutoffs
    from steward.monitoring.store import check_deployment
    from steward.monitoring.windows import parse_duration

    age = parse_duration(older_than, field="--older-than") if older_than is not None else None
    if deployment is not None:
        check_deployment(deployment)
    deps = _deps()
    t = now_ms()
    if age is not None:
        found = [deployment] if deployment else deps.store.all_deployments()
        cutoffs = {d: t - age for d in found}
    else:
        with deps.uow() as uow:
            cutoffs = retention_cutoffs(uow, deps.store, t, deployment=deployment)
    report = run_purge(deps.store, cutoffs, dry_run=dry_run, lock_timeout_s=30.0)
    if as_json:
        emit_json(report.to_dict())
    else:
        totals = report.totals()
        verb = "Would remove" if dry_run else "Removed"
        console.print(
            f"{verb} {totals['rows_removed']} rows: {totals['segments_removed']} segments deleted, "
            f"{totals['segments_rewritten']} rewritten, {totals['bytes_freed']} bytes freed "
            f"({len(cutoffs)} deployments)."
        )
    for problem in [*(f"{b}: busy (being compacted), skipped" for b in report.busy), *report.errors]:
        err_console.print(problem)
    if report.busy or report.errors:
        raise typer.Exit(1)


def _split(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _pairs(values: list[str] | None, option: str, cast: Callable[[str], Any]) -> dict[str, Any]:
    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{option} takes COLUMN=VALUE. Got {item!r}.", field=option)
        try:
            out[key] = cast(value)
        except ValueError:
            raise InvalidArgument(f"{option} {item!r}: {value!r} is not valid.", field=option) from None
    return out


@handle_errors
def drift(
    reference: Annotated[Path, typer.Option("--reference", "-r", help="Reference data, CSV or Parquet.")],
    current: Annotated[Path, typer.Option("--current", "-c", help="Current data, CSV or Parquet.")],
    as_json: JsonOpt = False,
    report_path: Annotated[Path | None, typer.Option("--report", help="Write the HTML drift report here.")] = None,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns to test (default all).")] = None,
    categorical: Annotated[str | None, typer.Option(help="Comma-separated columns to treat as categories.")] = None,
    method: Annotated[list[str] | None, typer.Option(help="COLUMN=METHOD (ks, wasserstein, psi, ...).")] = None,
    threshold: Annotated[list[str] | None, typer.Option(help="COLUMN=THRESHOLD.")] = None,
    drift_share: Annotated[float, typer.Option(help="Share of drifted columns for dataset drift.")] = 0.5,
    evidently: Annotated[bool, typer.Option(help="Evidently's rules unchanged (no FDR, no calibration).")] = False,
    multivariate: Annotated[
        bool, typer.Option("--multivariate", help="Also a domain classifier (AUC) and the PCA reconstruction error.")
    ] = False,
    dask: Annotated[
        str | None, typer.Option("--dask", help="Dask scheduler address: sketch Parquet partitions on the cluster.")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Compare two files column by column; exit 0 either way (read ``drift_detected``)."""
    from steward.monitoring.files import compare_files

    if dask is not None:
        if multivariate:
            raise InvalidArgument("--multivariate does not run with --dask: drop one of them.", field="multivariate")
        _drift_on_dask(reference, current, dask, columns=_split(columns) or None, categorical=_split(categorical))
        return

    with _rows_progress(quiet or as_json) as progress:
        result = compare_files(
            reference,
            current,
            columns=_split(columns) or None,
            categorical=_split(categorical),
            methods=_pairs(method, "--method", str),
            thresholds=_pairs(threshold, "--threshold", float),
            drift_share=drift_share,
            evidently=evidently,
            multivariate=multivariate,
            progress=progress,
        )
    doc = result.document(reference=str(reference), current=str(current))
    if report_path is not None:
        from steward.monitoring.report import render_html

        report_path.write_text(render_html(doc), encoding="utf-8")
    if as_json:
        emit_json({k: v for k, v in doc.items() if k != "distributions"})
        return
    table(
        "Drift per column",
        ["column", "kind", "test", "statistic", "p-value", "threshold", "effect", "drift"],
        [
            (
                c["column"],
                c["kind"],
                c["test"],
                _fmt(c["statistic"]),
                _fmt(c["p_value"]),
                _fmt(c["calibrated_threshold"] or c["threshold"]),
                _fmt(c["effect_size"]),
                "DRIFT" if c["drifted"] else "",
            )
            for c in doc["columns"]
        ],
    )
    verdict = "[red]detected[/]" if doc["drift_detected"] else "[green]not detected[/]"
    console.print(f"Dataset drift {verdict}: {doc['n_drifted']} of {doc['n_columns']} columns drifted.")
    if doc.get("multivariate"):
        _print_multivariate(doc["multivariate"])
    if report_path is not None:
        console.print(f"Report: {report_path}")


def _print_multivariate(section: dict[str, Any]) -> None:
    dc, rc = section.get("domain_classifier"), section.get("reconstruction_error")
    if dc:
        flag = " DRIFT" if dc["drifted"] else ""
        console.print(f"Domain classifier AUC {_fmt(dc['auc'])} (drift above {_fmt(dc['threshold'])}){flag}")
    if rc:
        flag = " DRIFT" if rc["drifted"] else ""
        band = f"{_fmt(rc['lower_threshold'])}-{_fmt(rc['upper_threshold'])}"
        console.print(f"PCA reconstruction error {_fmt(rc['current'])} vs {_fmt(rc['reference'])} (band {band}){flag}")
    for note in section.get("notes") or []:
        console.print(f"multivariate: {note}")


def _drift_on_dask(
    reference: Path, current: Path, address: str, *, columns: list[str] | None, categorical: list[str]
) -> None:
    """Parquet data larger than this process: each partition is sketched on the cluster."""
    from distributed import Client

    from steward.monitoring.distributed import drift_on_dask

    with Client(address) as client:  # type: ignore[no-untyped-call]
        report = drift_on_dask(str(reference), str(current), client, columns=columns, categorical=categorical)
    rows = report.to_frame().reset_index()
    emit_json(
        {
            "reference": str(reference),
            "current": str(current),
            "drift_detected": report.drifted,
            "n_drifted": report.n_drifted,
            "n_columns": len(report.columns),
            "columns": json.loads(rows.to_json(orient="records")),
        }
    )


@contextmanager
def _rows_progress(quiet: bool) -> Iterator[Callable[[str, int, int | None], None] | None]:
    if quiet:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description:<9}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(side: str, done: int, total: int | None) -> None:
            if side not in tasks:
                tasks[side] = bar.add_task(side, total=total)
            bar.update(tasks[side], completed=done)

        yield update


def register(app: typer.Typer) -> None:
    """Add ``steward monitor`` and ``steward drift`` to the main command."""
    app.add_typer(monitor_app, name="monitor")
    app.command("drift")(drift)
