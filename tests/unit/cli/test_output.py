"""The CLI's error line: one readable line on stderr, the message printed as text."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from steward.cli.output import handle_errors
from steward.core.errors import InvalidArgument


def test_an_error_message_with_brackets_prints_as_text_not_markup() -> None:
    app = typer.Typer()

    @app.command()
    @handle_errors
    def serve() -> None:
        raise InvalidArgument("Use DEPLOYMENT=MAX_BATCH_SIZE[/MAX_WAIT_MS], e.g. api=64/5.", field="batching")

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: Use DEPLOYMENT=MAX_BATCH_SIZE[/MAX_WAIT_MS], e.g. api=64/5."
    assert result.exception is None or isinstance(result.exception, SystemExit)
