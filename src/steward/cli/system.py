"""``steward server``, ``steward db upgrade``, ``steward doctor``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import text

from steward.cli import context
from steward.cli.output import console, emit_json, fail, handle_errors
from steward.store.engine import make_engine
from steward.store.migrate import current_revision, upgrade

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@handle_errors
def server(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default STEWARD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default STEWARD_PORT); 0 picks a free one.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the API, the web UI and /metrics in one process."""
    import uvicorn

    from steward.core.logging import configure
    from steward.server import build

    settings = context.settings()
    configure(settings.log_json)
    app, _runtime, generated = build(settings)
    if generated:
        console.print(f"Created user [bold]admin[/] with password [bold]{generated}[/] (shown once).")
    h, p = host or settings.host, settings.port if port is None else port
    console.print(f"Steward on http://{h}:{p}  (store: {settings.masked()['database_url']})")
    uvicorn.run(app, host=h, port=p, workers=workers if workers > 1 else None, log_level="warning", access_log=False)


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


@handle_errors
def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the effective configuration (secrets masked) and check the store."""
    s = context.settings()
    checks: dict[str, Any] = {}
    try:
        engine = make_engine(s.database_url, sqlite_synchronous=s.sqlite_synchronous)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {
            "ok": True,
            "dialect": engine.dialect.name,
            "revision": current_revision(engine),
        }
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
    if as_json:
        emit_json({"settings": s.masked(), "checks": checks, "ok": ok})
    else:
        for k, v in s.masked().items():
            console.print(f"{k:>20}: {v}")
        for k, v in checks.items():
            mark = "[green]ok[/]" if v["ok"] else f"[red]FAILED[/] {v.get('error', '')}"
            console.print(f"{k:>20}: {mark}")
    if not ok:
        raise fail("some checks failed")
