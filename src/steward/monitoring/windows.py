"""Window arithmetic for monitoring (pure): durations, hour partitions, hourly / daily /
rolling windows.

Times are milliseconds since the epoch (UTC), as everywhere in Steward. A window is the
half-open interval ``[start_ms, end_ms)``. The prediction log is partitioned by UTC hour
(``hour=YYYY-MM-DDTHH``), so a window is read as the hour partitions it overlaps; only the
partitions cut by its edges need a row filter.

Window specifications, as written in alert rules and on the command line:

* a duration ``30m``, ``1h``, ``7d``, ``90s``, ``1w``: a rolling window of that length ending now;
* ``hourly`` / ``daily``: the last complete calendar hour / UTC day;
* ``rolling N`` isn't special: ``rolling 6h`` is the same as ``6h``.

Example:
    >>> parse_duration("7d"), parse_duration("150ms"), parse_duration("1.5h")
    (604800000, 150, 5400000)
    >>> spec = WindowSpec.parse("hourly")
    >>> w = spec.window_at(parse_iso("2024-05-01T10:20:00Z"))
    >>> format_ms(w.start_ms), format_ms(w.end_ms)
    ('2024-05-01T09:00:00Z', '2024-05-01T10:00:00Z')
    >>> [h for h in hours_of(Window(w.start_ms - 1, w.end_ms))]
    ['2024-05-01T08', '2024-05-01T09']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from steward.core.errors import InvalidArgument

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_UNITS = {"ms": 1, "s": SECOND, "m": MINUTE, "min": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)\s*$", re.IGNORECASE)
WindowKind = Literal["rolling", "hourly", "daily"]


def parse_duration(text: str | int | float, *, field: str = "window") -> int:
    """A duration such as ``30m``, ``1h``, ``7d`` or ``150ms`` in milliseconds (> 0).

    A bare number is taken as milliseconds.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
        if not math.isfinite(value) or value <= 0:
            raise InvalidArgument(f"The {field!r} duration must be positive. Got {text!r} instead.", field=field)
        return round(value)
    match = _DURATION.match(str(text))
    if not match:
        raise InvalidArgument(
            f"The {field!r} duration must be a number and a unit among ms, s, m, h, d, w (e.g. '30m', '7d'). "
            f"Got {text!r} instead.",
            field=field,
        )
    ms = round(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if ms <= 0:
        raise InvalidArgument(f"The {field!r} duration must be positive. Got {text!r} instead.", field=field)
    return ms


def format_duration(ms: int) -> str:
    """The shortest exact spelling of a duration.

    >>> format_duration(604800000), format_duration(5400000), format_duration(150)
    ('7d', '90m', '150ms')
    """
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def parse_iso(text: str) -> int:
    """An ISO 8601 time (``Z`` or an offset; naive means UTC) in epoch milliseconds."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"Expected an ISO 8601 time such as 2024-05-01T10:00Z. Got {text!r}.") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def format_ms(ms: int) -> str:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_key(ms: int) -> str:
    """The prediction-log partition (``YYYY-MM-DDTHH``) holding time ``ms``.

    >>> hour_key(0)
    '1970-01-01T00'
    """
    return datetime.fromtimestamp(ms // HOUR * HOUR / 1000, tz=UTC).strftime("%Y-%m-%dT%H")


def hour_start(key: str) -> int:
    """The start of partition ``key`` in epoch milliseconds (inverse of :func:`hour_key`)."""
    try:
        t = datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidArgument(f"An hour partition is named YYYY-MM-DDTHH. Got {key!r}.", field="hour") from None
    return int(t.timestamp() * 1000)


@dataclass(frozen=True, order=True)
class Window:
    """The half-open interval ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise InvalidArgument(
                f"A window must end after it starts. Got [{self.start_ms}, {self.end_ms}) instead.", field="window"
            )

    @property
    def length_ms(self) -> int:
        return self.end_ms - self.start_ms

    def contains(self, ms: int) -> bool:
        return self.start_ms <= ms < self.end_ms

    def covers(self, lo_ms: int, hi_ms: int) -> bool:
        """True when every time in ``[lo_ms, hi_ms]`` (closed) lies inside the window."""
        return self.start_ms <= lo_ms and hi_ms < self.end_ms

    def overlaps(self, lo_ms: int, hi_ms: int) -> bool:
        """True when some time in ``[lo_ms, hi_ms]`` (closed) lies inside the window."""
        return lo_ms < self.end_ms and hi_ms >= self.start_ms

    def label(self) -> str:
        return f"{format_ms(self.start_ms)}/{format_ms(self.end_ms)}"


def hours_of(window: Window) -> Iterator[str]:
    """The hour partitions the window overlaps, in order."""
    t = window.start_ms // HOUR * HOUR
    while t < window.end_ms:
        yield hour_key(t)
        t += HOUR


def hour_fully_inside(key: str, window: Window) -> bool:
    """True when the whole hour partition ``key`` lies inside the window (no row filter needed)."""
    start = hour_start(key)
    return window.start_ms <= start and start + HOUR <= window.end_ms


@dataclass(frozen=True)
class WindowSpec:
    """How to cut windows: ``rolling`` of ``length_ms`` ending at the evaluation time, or the
    last complete calendar ``hourly`` / ``daily`` period."""

    kind: WindowKind
    length_ms: int

    @classmethod
    def parse(cls, text: str | int) -> WindowSpec:
        if isinstance(text, str):
            word = text.strip().lower()
            if word == "hourly":
                return cls("hourly", HOUR)
            if word == "daily":
                return cls("daily", DAY)
            if word.startswith("rolling"):
                word = word.removeprefix("rolling").strip()
            return cls("rolling", parse_duration(word))
        return cls("rolling", parse_duration(text))

    @property
    def text(self) -> str:
        return self.kind if self.kind != "rolling" else format_duration(self.length_ms)

    def window_at(self, now_ms: int) -> Window:
        """The window this spec names when evaluated at ``now_ms``."""
        if self.kind == "rolling":
            return Window(now_ms - self.length_ms, now_ms)
        end = now_ms // self.length_ms * self.length_ms
        return Window(end - self.length_ms, end)

    def windows_between(self, start_ms: int, end_ms: int, *, step_ms: int | None = None) -> list[Window]:
        """Consecutive windows ending in ``(start_ms, end_ms]``: calendar periods for hourly /
        daily, windows of ``length_ms`` every ``step_ms`` (default the length) for rolling."""
        if end_ms <= start_ms:
            return []
        if self.kind != "rolling":
            first_end = (start_ms // self.length_ms + 1) * self.length_ms
            return [Window(t - self.length_ms, t) for t in range(first_end, end_ms + 1, self.length_ms)]
        step = step_ms or self.length_ms
        if step <= 0:
            raise InvalidArgument(f"The 'step' must be positive. Got {step} instead.", field="step")
        ends = range(start_ms + step, end_ms + 1, step)
        return [Window(t - self.length_ms, t) for t in ends]
