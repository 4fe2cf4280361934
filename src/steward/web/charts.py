"""Metric histories shaped for the page's Plotly charts (pure; JSON-safe).

One chart per metric key, one trace per run. The x axis is the step; when every point was
logged at step 0 (no steps given), it is the seconds since the run's first point instead.

>>> from steward.tracking.models import Metric
>>> pts = [Metric("loss", v, s, 1000 + s) for s, v in enumerate([1.0, float("nan"), 0.5])]
>>> chart("loss", [("run-a", pts, False)])["traces"][0]["y"]
[1.0, None, 0.5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from steward.tracking.models import Metric

MAX_POINTS = 10_000  # per metric and run; more are cut, and the page says so


def _finite(value: float) -> float | None:
    # JSON has no NaN or Infinity; Plotly draws null as a gap.
    return value if math.isfinite(value) else None


def _by_time(points: Sequence[Metric]) -> bool:
    return len(points) > 1 and all(p.step == 0 for p in points)


def chart(key: str, series: Sequence[tuple[str, Sequence[Metric], bool]]) -> dict[str, Any]:
    """The chart of metric ``key``: ``series`` holds (run label, points, truncated) per run."""
    by_time = any(_by_time(points) for _, points, _ in series)
    traces = []
    for label, points, _ in series:
        ordered = (
            sorted(points, key=lambda p: (p.timestamp, p.step))
            if by_time
            else sorted(points, key=lambda p: (p.step, p.timestamp))
        )
        first = ordered[0].timestamp if ordered else 0
        xs: list[float] = [(p.timestamp - first) / 1000 if by_time else p.step for p in ordered]
        traces.append({"name": label, "x": xs, "y": [_finite(p.value) for p in ordered]})
    return {
        "key": key,
        "x_title": "seconds since first point" if by_time else "step",
        "traces": traces,
        "truncated": any(cut for _, _, cut in series),
    }
