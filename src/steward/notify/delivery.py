"""Retries with exponential backoff and jitter, behind a timer port so tests never sleep.

Attempt ``n`` (from 1) that fails retryably is followed by a wait of
``min(max_delay_s, base_delay_s * multiplier ** (n - 1))``, of which the ``jitter`` fraction is
random ("equal jitter" at 0.5, "full jitter" at 1.0), so that many senders failing together do
not retry together. A receiver's ``Retry-After`` stretches the wait (never past
``max_delay_s``). Delivery stops at the first success, at a failure that retrying cannot fix,
after ``max_attempts``, or when the next wait would end past ``max_total_s``.

>>> RetryPolicy(base_delay_s=1, multiplier=2, max_delay_s=5, jitter=0).schedule()
[1.0, 2.0, 4.0, 5.0]
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from steward.core.clock import Clock, SystemClock
from steward.core.errors import InvalidArgument
from steward.notify.models import Attempt, DeliveryResult, Notification
from steward.notify.registry import Channel

log = logging.getLogger("steward.notify")


class Timer(Protocol):
    """Monotonic time and sleeping: the port a unit test replaces."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _check(name: str, value: float, ok: bool, rule: str) -> None:
    if not ok:
        raise InvalidArgument(
            f"The {name!r} parameter of RetryPolicy must be {rule}. Got {value!r} instead.", field=name
        )


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one delivery.

    Parameters
    ----------
    max_attempts: attempts in all, the first included.
    base_delay_s: the wait after the first failure, before jitter.
    multiplier: the growth of the wait from one failure to the next.
    max_delay_s: the longest single wait.
    max_total_s: no wait starts that would end later than this after the first attempt.
    jitter: the random fraction of each wait, in [0, 1].
    """

    max_attempts: int = 5
    base_delay_s: float = 1.0
    multiplier: float = 2.0
    max_delay_s: float = 60.0
    max_total_s: float = 300.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        _check("max_attempts", self.max_attempts, 1 <= self.max_attempts <= 100, "an integer in [1, 100]")
        _check("base_delay_s", self.base_delay_s, self.base_delay_s >= 0, "a number >= 0")
        _check("multiplier", self.multiplier, self.multiplier >= 1, "a number >= 1")
        _check("max_delay_s", self.max_delay_s, self.max_delay_s >= self.base_delay_s, ">= base_delay_s")
        _check("max_total_s", self.max_total_s, self.max_total_s >= 0, "a number >= 0")
        _check("jitter", self.jitter, 0 <= self.jitter <= 1, "a number in [0, 1]")

    def delay(self, attempt: int, u: float = 1.0, retry_after_s: float | None = None) -> float:
        """The wait after failed attempt ``attempt``; ``u`` in [0, 1] is the random draw."""
        ceiling = min(self.max_delay_s, self.base_delay_s * self.multiplier ** (attempt - 1))
        wait = ceiling * (1 - self.jitter + self.jitter * u)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.max_delay_s))
        return wait

    def schedule(self, draws: Callable[[], float] | None = None) -> list[float]:
        """Every wait a delivery failing each time would make (total-time cap aside)."""
        draw = draws or (lambda: 1.0)
        return [self.delay(n, draw()) for n in range(1, self.max_attempts)]


@dataclass
class Outcome:
    """Every attempt of one delivery; ``delivered`` when the last one succeeded."""

    attempts: list[Attempt] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def last_error(self) -> str | None:
        return self.attempts[-1].error if self.attempts else None


def _send_once(channel: Channel, notification: Notification) -> DeliveryResult:
    try:
        return channel.send(notification)
    except Exception as exc:  # a plug-in's bug is recorded against its attempt, not raised
        # The type only: an exception's text may hold a URL with a token in it.
        log.warning("channel %s raised %s instead of reporting", channel.name, type(exc).__name__)
        return DeliveryResult.failure(f"channel raised {type(exc).__name__}: {exc}", retryable=False)


def deliver(
    channel: Channel,
    notification: Notification,
    policy: RetryPolicy | None = None,
    *,
    timer: Timer | None = None,
    clock: Clock | None = None,
    draw: Callable[[], float] = random.random,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> Outcome:
    """Send ``notification`` through ``channel``, retrying as ``policy`` allows.

    ``on_attempt`` sees each attempt as soon as it ends (the delivery log records it there).
    """
    policy = policy or RetryPolicy()
    timer = timer or SystemTimer()
    clock = clock or SystemClock()
    outcome = Outcome()
    start = timer.monotonic()
    for number in range(1, policy.max_attempts + 1):
        started_at = clock.now_ms()
        t0 = timer.monotonic()
        result = _send_once(channel, notification)
        attempt = Attempt(
            number=number,
            ok=result.ok,
            status_code=result.status_code,
            error=result.error if result.ok else (result.error or "failed"),  # a success may carry a note
            latency_ms=(timer.monotonic() - t0) * 1000.0,
            started_at=started_at,
        )
        outcome.attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)
        log.info(
            "notification attempt",
            extra={
                "ctx_channel": channel.name,
                "ctx_attempt": number,
                "ctx_ok": result.ok,
                "ctx_status_code": result.status_code,
            },
        )
        if result.ok or not result.retryable or number == policy.max_attempts:
            break
        wait = policy.delay(number, draw(), result.retry_after_s)
        if timer.monotonic() - start + wait > policy.max_total_s:
            break
        timer.sleep(wait)
    return outcome
