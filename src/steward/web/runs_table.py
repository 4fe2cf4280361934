"""The runs table of an experiment page: its columns, text/status filter and sort by any column.

Pure functions over ``Run`` values, so the rules are tested without a server.

>>> from steward.tracking.models import Run
>>> def run(name, lr, status="FINISHED"):
...     return Run(name, 1, name, status, 0, None, "", "", None, None, "active", "", params={"lr": lr})
>>> runs = [run("a", "0.1"), run("b", "0.02"), run("c", "1e-3", "FAILED")]
>>> [r.name for r in sort_runs(runs, "param:lr", "asc")]
['c', 'b', 'a']
>>> [r.name for r in filter_runs(runs, "lr=0.1", "")], [r.name for r in filter_runs(runs, "", "FAILED")]
(['a'], ['c'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from steward.tracking.models import Run

FIXED_KINDS = ("name", "status", "start", "user")
DEFAULT_SORT = "start"


@dataclass(frozen=True)
class Column:
    key: str  # what ?sort= carries: "name", "start", "param:lr", "metric:loss", ...
    label: str
    kind: str  # one of FIXED_KINDS, "param" or "metric"


FIXED = (
    Column("name", "Name", "name"),
    Column("status", "Status", "status"),
    Column("start", "Started", "start"),
    Column("user", "User", "user"),
)


def columns(runs: Sequence[Run]) -> list[Column]:
    """The fixed columns, then one per param key, then one per metric key (each sorted)."""
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    return [
        *FIXED,
        *(Column(f"param:{k}", k, "param") for k in params),
        *(Column(f"metric:{k}", k, "metric") for k in metrics),
    ]


def _haystack(run: Run) -> str:
    parts = [run.name, run.id, run.user_id]
    parts += [f"{k}={v}" for k, v in run.params.items()]
    parts += [f"{k}={v}" for k, v in run.tags.items()]
    return "\n".join(parts).lower()


def filter_runs(runs: Sequence[Run], q: str = "", status: str = "") -> list[Run]:
    """Runs whose name, id, user, params or tags (as ``key=value``) contain ``q`` (any case),
    and whose status is ``status`` when given."""
    needle = q.strip().lower()
    wanted = status.strip().upper()
    return [r for r in runs if (not wanted or r.status == wanted) and (not needle or needle in _haystack(r))]


def _value(run: Run, key: str) -> Any:
    kind, _, name = key.partition(":")
    if kind == "name":
        return run.name.lower()
    if kind == "status":
        return run.status
    if kind == "start":
        return run.start_time
    if kind == "user":
        return run.user_id.lower() or None
    if kind == "param":
        raw = run.params.get(name)
        if raw is None:
            return None
        try:
            number = float(raw)
        except ValueError:
            return (1, 0.0, raw.lower())
        # Numbers sort before text, and numerically: "0.02" < "0.1" < "1e3".
        return None if math.isnan(number) else (0, number, "")
    if kind == "metric":
        metric = run.metrics.get(name)
        return None if metric is None or math.isnan(metric.value) else metric.value
    return None


def is_sort_key(key: str) -> bool:
    kind, sep, name = key.partition(":")
    return (kind in FIXED_KINDS and not sep) or (kind in ("param", "metric") and bool(name))


def sort_runs(runs: Sequence[Run], key: str, order: str) -> list[Run]:
    """Runs sorted by column ``key`` (``asc`` or ``desc``); runs without a value come last."""
    if not is_sort_key(key):
        key, order = DEFAULT_SORT, "desc"
    present = [r for r in runs if _value(r, key) is not None]
    missing = [r for r in runs if _value(r, key) is None]
    present.sort(key=lambda r: _value(r, key), reverse=order == "desc")
    return present + missing


@dataclass(frozen=True)
class Window:
    """One page of a longer list."""

    items: list[Run]
    page: int
    pages: int
    total: int


def paginate(items: list[Run], page: int, per_page: int) -> Window:
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return Window(items[start : start + per_page], page, pages, len(items))
