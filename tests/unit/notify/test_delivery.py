"""Backoff schedule and the retry loop, on a fake timer: nothing here sleeps."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward.core.errors import InvalidArgument
from steward.notify import Attempt, DeliveryResult, Notification, Outcome, RetryPolicy, deliver


class FakeTimer:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeClock:
    def now_ms(self) -> int:
        return 1_700_000_000_000


class ScriptedChannel:
    """Returns the scripted results in turn; each send takes ``latency_s`` of fake time."""

    name = "scripted"

    def __init__(self, timer: FakeTimer, *results: DeliveryResult | Exception, latency_s: float = 0.05) -> None:
        self.timer = timer
        self.results = list(results)
        self.calls = 0
        self.latency_s = latency_s

    def send(self, notification: Notification) -> DeliveryResult:
        self.calls += 1
        self.timer.now += self.latency_s
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


OK = DeliveryResult.success(200)
BUSY = DeliveryResult.failure("HTTP 503", status_code=503, retryable=True)
DENIED = DeliveryResult.failure("HTTP 401", status_code=401, retryable=False)
N = Notification("Drift on churn", severity="warning")


def run(channel: ScriptedChannel, timer: FakeTimer, policy: RetryPolicy, seen: list[Attempt] | None = None) -> Outcome:
    return deliver(
        channel,
        N,
        policy,
        timer=timer,
        clock=FakeClock(),
        draw=random.Random(7).random,
        on_attempt=None if seen is None else seen.append,
    )


def test_backoff_without_jitter_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=7, base_delay_s=0.5, multiplier=2, max_delay_s=6, jitter=0)
    assert policy.schedule() == [0.5, 1.0, 2.0, 4.0, 6.0, 6.0]


@given(attempt=st.integers(1, 30), u=st.floats(0, 1), jitter=st.floats(0, 1))
def test_jittered_delay_stays_between_the_jitter_floor_and_the_ceiling(attempt: int, u: float, jitter: float) -> None:
    policy = RetryPolicy(base_delay_s=1, multiplier=3, max_delay_s=40, jitter=jitter)
    ceiling = min(40.0, 3.0 ** (attempt - 1))
    delay = policy.delay(attempt, u)
    assert ceiling * (1 - jitter) - 1e-9 <= delay <= ceiling + 1e-9


def test_jitter_spreads_the_waits_of_senders_failing_together() -> None:
    policy = RetryPolicy(base_delay_s=1, jitter=1.0)
    waits = {round(policy.delay(3, random.Random(seed).random()), 6) for seed in range(20)}
    assert len(waits) == 20 and max(waits) <= 4.0


def test_retry_after_stretches_the_wait_but_not_past_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=1, max_delay_s=30, jitter=0)
    assert policy.delay(1, retry_after_s=12) == 12
    assert policy.delay(1, retry_after_s=3600) == 30
    assert policy.delay(4, retry_after_s=2) == 8


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_attempts", 0), ("base_delay_s", -1), ("multiplier", 0.5), ("jitter", 1.5), ("max_total_s", -1)],
)
def test_bad_policy_names_the_parameter(field: str, value: float) -> None:
    with pytest.raises(InvalidArgument, match=field) as err:
        RetryPolicy(**{field: value})  # type: ignore[arg-type]
    assert err.value.field == field


def test_first_success_makes_one_attempt_and_never_sleeps() -> None:
    timer = FakeTimer()
    outcome = run(ScriptedChannel(timer, OK), timer, RetryPolicy())
    assert outcome.delivered and len(outcome.attempts) == 1 and timer.sleeps == []
    assert outcome.attempts[0].latency_ms == pytest.approx(50)
    assert outcome.attempts[0].started_at == 1_700_000_000_000


def test_retries_until_success_after_two_failures() -> None:
    timer = FakeTimer()
    channel = ScriptedChannel(timer, BUSY, BUSY, OK)
    seen: list[Attempt] = []
    outcome = run(channel, timer, RetryPolicy(base_delay_s=1, jitter=0), seen)
    assert outcome.delivered and channel.calls == 3
    assert [a.number for a in outcome.attempts] == [1, 2, 3]
    assert [a.status_code for a in outcome.attempts] == [503, 503, 200]
    assert timer.sleeps == [1.0, 2.0]
    assert seen == outcome.attempts  # every attempt reported as it ended


def test_gives_up_after_max_attempts() -> None:
    timer = FakeTimer()
    channel = ScriptedChannel(timer, *[BUSY] * 10)
    outcome = run(channel, timer, RetryPolicy(max_attempts=4, jitter=0))
    assert not outcome.delivered and channel.calls == 4 and len(timer.sleeps) == 3
    assert outcome.last_error == "HTTP 503"


def test_permanent_failure_is_not_retried() -> None:
    timer = FakeTimer()
    channel = ScriptedChannel(timer, DENIED, OK)
    outcome = run(channel, timer, RetryPolicy())
    assert not outcome.delivered and channel.calls == 1 and timer.sleeps == []


def test_no_wait_starts_that_would_end_past_the_total_time_cap() -> None:
    timer = FakeTimer()
    channel = ScriptedChannel(timer, *[BUSY] * 10)
    outcome = run(channel, timer, RetryPolicy(max_attempts=10, base_delay_s=1, jitter=0, max_total_s=5))
    assert timer.sleeps == [1.0, 2.0]  # the next wait (4 s) would end at ~7.15 s > 5 s
    assert len(outcome.attempts) == 3 and timer.now <= 5


def test_a_channel_that_raises_becomes_a_failed_attempt() -> None:
    timer = FakeTimer()
    channel = ScriptedChannel(timer, RuntimeError("boom"), OK)
    outcome = run(channel, timer, RetryPolicy())
    assert not outcome.delivered and channel.calls == 1
    assert outcome.attempts[0].error == "channel raised RuntimeError: boom"
