"""Time, behind a tiny port so tests can move it."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def now_ms() -> int:
    """Milliseconds since the epoch (MLflow's timestamp unit)."""
    return time.time_ns() // 1_000_000
