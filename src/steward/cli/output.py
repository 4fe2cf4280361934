"""How commands print: Rich tables for people, one JSON document for scripts (``--json``),
and errors as one line on stderr with a non-zero exit code."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from steward.core.errors import StewardError

P = ParamSpec("P")
R = TypeVar("R")
console = Console()
err_console = Console(stderr=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(doc), indent=2, default=str) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    console.print(t)


def fail(message: str, code: int = 1) -> typer.Exit:
    # The message is text, not markup: "[/MAX_WAIT_MS]" in a usage hint must print, not raise.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn Steward's errors into one readable line and exit code 1 (2 for bad arguments)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except StewardError as exc:
            raise fail(exc.message, 2 if exc.code == "invalid_argument" else 1) from None
        except ValidationError as exc:  # bad STEWARD_* settings
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise fail(f"invalid setting {where}: {first['msg']}", 2) from None

    return wrapper
