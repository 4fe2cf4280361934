"""``steward server``, ``steward db upgrade``, ``steward doctor``, ``steward demo seed``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import text

from steward.cli import context
from steward.cli.output import console, emit_json, err_console, fail, handle_errors
from steward.core.errors import StewardError
from steward.core.platform_secret import describe_source
from steward.store.engine import make_engine
from steward.store.migrate import alembic_config, current_revision, upgrade

if TYPE_CHECKING:
    from steward.demo import DemoResult
    from steward.runtime import Runtime

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo a new store is seeded with.", no_args_is_help=True)
log = logging.getLogger("steward.cli")


@handle_errors
def server(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default STEWARD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default STEWARD_PORT); 0 picks a free one.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    demo: Annotated[
        bool | None,
        typer.Option("--demo/--no-demo", help="Seed a demo into a store without user data (default STEWARD_DEMO)."),
    ] = None,
) -> None:
    """Run the API, the web UI and /metrics in one process; an empty store gets a demo first."""
    import uvicorn

    from steward.core.logging import configure
    from steward.server import build

    settings = context.settings()
    configure(settings.log_json)
    app, runtime, generated = build(settings)
    if generated:
        console.print(f"Created user [bold]admin[/] with password [bold]{generated}[/] (shown once).")
    if settings.demo if demo is None else demo:
        _seed_on_start(runtime)
    h, p = host or settings.host, settings.port if port is None else port
    console.print(f"Steward on http://{h}:{p}  (store: {settings.masked()['database_url']})")
    uvicorn.run(app, host=h, port=p, workers=workers if workers > 1 else None, log_level="warning", access_log=False)


def _seed_on_start(runtime: Runtime) -> None:
    """Seed the demo into a store without user data; never stop the server from starting."""
    from steward.demo import check_available, existing_data, seed, steps

    try:
        if existing_data(runtime):
            return  # a store in use (or seeded before) is left alone, silently
        check_available()
    except StewardError as exc:
        err_console.print(f"No demo: {exc.message}", highlight=False, soft_wrap=True)
        return
    console.print("An empty store: seeding the demo (steward server --no-demo or STEWARD_DEMO=0 skips it).")
    try:
        with _progress(steps(), quiet=False) as step:
            result = seed(runtime, step)
    except Exception as exc:  # the server starts either way; the log keeps the traceback
        log.exception("demo seeding failed")
        err_console.print(f"The demo could not be seeded ({type(exc).__name__}: {exc}).", highlight=False)
        return
    _print_seed(result)


@contextmanager
def _progress(steps: tuple[str, ...], quiet: bool) -> Iterator[Callable[[str], None]]:
    """A Rich progress bar over the seed's steps (on stderr, so --json stays clean)."""
    if quiet:
        yield lambda _name: None
        return
    with Progress(
        TextColumn("[bold]{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
    ) as bar:
        task = bar.add_task("starting", total=len(steps))
        seen: list[str] = []

        def step(name: str) -> None:
            if name not in seen:  # registering and deploying come once per version
                seen.append(name)
                bar.update(task, description=name, completed=min(len(seen) - 1, len(steps)))

        yield step
        bar.update(task, description="done", completed=len(steps))


def _print_seed(result: DemoResult) -> None:
    if not result.seeded:
        console.print(f"Nothing seeded: {result.reason}.")
        return
    console.print(
        f"Demo seeded in {result.seconds:.0f} s: experiment [bold]{result.experiment}[/] "
        f"({len(result.runs)} runs), model [bold]{result.model}[/] v{', v'.join(map(str, result.versions))}"
        + (f" (production v{result.production})" if result.production is not None else "")
    )
    if result.deployment:
        fired = ", ".join(a["rule"] for a in result.alerts if a["action"] == "fire") or "none"
        console.print(
            f"Deployment [bold]{result.deployment}[/]: {result.predictions} predictions in {result.requests} "
            f"requests, {result.labels} labelled; {len(result.monitor_runs)} monitor runs, alerts fired: {fired}"
        )
    elif result.reason:
        console.print(f"Not deployed: {result.reason}.")


@demo_app.command("seed")
@handle_errors
def demo_seed(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Seed the demo now; a store that holds any user data is left untouched."""
    from steward.demo import seed, steps

    with _progress(steps(), quiet or as_json) as step:
        result = seed(context.runtime(), step)
    if as_json:
        emit_json(result.to_dict())
    else:
        _print_seed(result)


@db_app.command("upgrade")
@handle_errors
def db_upgrade(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Apply every pending migration."""
    s = context.settings()
    engine = make_engine(s.database_url, sqlite_synchronous=s.sqlite_synchronous)
    upgrade(engine)
    rev = current_revision(engine)
    if as_json:
        emit_json({"revision": rev})
    else:
        console.print(f"Database at revision {rev}.")


def _check_database(url: str, synchronous: str) -> dict[str, Any]:
    """Reachable and migrated to every head: a database the server could start on unchanged.

    A reachable but never-migrated (or outdated) database is not "ok": the fix is
    ``steward db upgrade``.
    """
    from alembic.script import ScriptDirectory

    engine = make_engine(url, sqlite_synchronous=synchronous)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(engine)
        heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    finally:
        engine.dispose()
    doc: dict[str, Any] = {"ok": True, "dialect": engine.dialect.name, "revision": revision}
    if revision is None:
        doc.update(ok=False, error="not migrated (run: steward db upgrade)")
    elif set(revision.split(",")) != heads:
        doc.update(ok=False, error=f"migrations pending, at {revision} (run: steward db upgrade)")
    return doc


@handle_errors
def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the effective configuration (secrets masked) and check the store."""
    s = context.settings()
    checks: dict[str, Any] = {}
    try:
        checks["database"] = _check_database(s.database_url, s.sqlite_synchronous)
    except Exception as exc:  # doctor reports every failure instead of raising
        checks["database"] = {"ok": False, "error": str(exc).splitlines()[0]}
    try:
        from steward.artifacts.blobs import open_blob_store

        store = open_blob_store(s.artifact_root)
        digest = store.put(b"steward doctor")
        checks["artifacts"] = {"ok": store.get(digest) == b"steward doctor"}
    except Exception as exc:  # as above
        checks["artifacts"] = {"ok": False, "error": str(exc).splitlines()[0]}
    ok = all(c["ok"] for c in checks.values())
    # Where the platform secret comes from (masked): the CLI and the server must agree on it.
    shown = {**s.masked(), "platform_secret": describe_source(s).describe()}
    if as_json:
        emit_json({"settings": shown, "checks": checks, "ok": ok})
    else:
        for k, v in shown.items():
            console.print(f"{k:>20}: {v}")
        for k, v in checks.items():
            mark = "[green]ok[/]" if v["ok"] else f"[red]FAILED[/] {v.get('error', '')}"
            console.print(f"{k:>20}: {mark}")
    if not ok:
        failed = "; ".join(f"{k}: {v.get('error', 'failed')}" for k, v in checks.items() if not v["ok"])
        raise fail(f"doctor found problems: {failed}")
