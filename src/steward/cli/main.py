"""The ``steward`` command."""

from __future__ import annotations

import typer

from steward.cli import deployments, monitoring, pipelines, serve, system
from steward.cli.models import models_app
from steward.cli.tracking import experiments_app, runs_app
from steward.cli.users import tokens_app, users_app

app = typer.Typer(
    help="Steward keeps your ML estate trustworthy.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.command("server")(system.server)
app.command("doctor")(system.doctor)
app.add_typer(system.db_app, name="db")
app.add_typer(system.demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(experiments_app, name="experiments")
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
pipelines.register(app)
monitoring.register(app)
deployments.register(app)
app.command("serve")(serve.serve)
app.command("predict-batch")(serve.predict_batch)


def main() -> None:
    app()
