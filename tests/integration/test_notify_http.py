"""Slack-compatible and signed webhooks over real HTTP on loopback, with retries logged."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from tests.support.net import free_port, serve

from steward.notify import (
    CHANNEL_TYPES,
    ChannelDeps,
    DeliveryStatus,
    Notification,
    Notifier,
    RetryPolicy,
    configure_channel,
    delivery_log,
    verify_signature,
)
from steward.runtime import Runtime
from steward.testing.notify import HttpReceiver

SECRET = "whsec-loopback-0123456789"
FAST = RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.05, jitter=0.5)


@pytest.fixture(scope="module")
def plain_server() -> Iterator[tuple[HttpReceiver, str]]:
    receiver = HttpReceiver()
    with serve(receiver) as url:
        yield receiver, url


@pytest.fixture(scope="module")
def signed_server() -> Iterator[tuple[HttpReceiver, str]]:
    receiver = HttpReceiver(secret=SECRET, tolerance_s=300)
    with serve(receiver) as url:
        yield receiver, url


@pytest.fixture
def plain(plain_server: tuple[HttpReceiver, str]) -> tuple[HttpReceiver, str]:
    plain_server[0].reset()
    return plain_server


@pytest.fixture
def signed(signed_server: tuple[HttpReceiver, str]) -> tuple[HttpReceiver, str]:
    signed_server[0].reset()
    return signed_server


class ClockAt:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms


def test_slack_channel_posts_text_and_blocks(plain: tuple[HttpReceiver, str]) -> None:
    receiver, url = plain
    channel = CHANNEL_TYPES.build("slack", "ops", {"url": f"{url}/services/T0/B0/tok", "username": "steward"})
    n = Notification("Drift on churn", "PSI 0.31 on *tenure*", severity="critical", payload={"psi": 0.31})
    result = channel.send(n)
    assert result.ok and result.status_code == 200
    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/services/T0/B0/tok"
    assert request.headers["content-type"].startswith("application/json")
    doc = request.json()
    assert doc["text"] == ":rotating_light: [CRITICAL] Drift on churn" and doc["username"] == "steward"
    assert [b["type"] for b in doc["blocks"]] == ["header", "section", "section", "context"]
    assert doc["blocks"][0]["text"]["text"] == "Drift on churn"
    assert doc["blocks"][1]["text"]["text"] == "PSI 0.31 on *tenure*"


def test_signed_webhook_is_verified_by_the_receiver(signed: tuple[HttpReceiver, str]) -> None:
    receiver, url = signed
    channel = CHANNEL_TYPES.build("webhook", "hook", {"url": f"{url}/steward", "secret": SECRET})
    n = Notification("Drift on churn", "café ✓", severity="warning", payload={"psi": 0.31}, dedup_key="drift:churn")
    assert channel.send(n).ok
    [request] = receiver.requests
    assert request.status == 200
    h = request.headers
    assert verify_signature(SECRET, h["x-steward-timestamp"], request.body, h["x-steward-signature"])
    assert h["x-steward-notification"] == n.id
    doc = request.json()
    assert doc["subject"] == "Drift on churn" and doc["body"] == "café ✓" and doc["dedup_key"] == "drift:churn"
    assert doc["payload"] == {"psi": 0.31} and doc["channel"] == "hook"


def test_receiver_refuses_a_wrong_secret_for_good(signed: tuple[HttpReceiver, str]) -> None:
    receiver, url = signed
    channel = CHANNEL_TYPES.build("webhook", "hook", {"url": f"{url}/steward", "secret": "not-the-shared-secret"})
    result = channel.send(Notification("x"))
    assert not result.ok and result.status_code == 401 and not result.retryable
    assert "bad or stale signature" in (result.error or "")
    assert receiver.accepted() == []


def test_receiver_refuses_a_replay_after_the_window_and_a_stale_timestamp(
    signed: tuple[HttpReceiver, str],
) -> None:
    receiver, url = signed
    channel = CHANNEL_TYPES.build("webhook", "hook", {"url": f"{url}/steward", "secret": SECRET})
    assert channel.send(Notification("original")).ok
    captured = receiver.requests[0]
    headers = {k: v for k, v in captured.headers.items() if k.startswith("x-steward") or k == "content-type"}
    receiver.clock = lambda: time.time() + 301  # the same request, captured and sent again later
    try:
        replay = httpx.post(f"{url}/steward", content=captured.body, headers=headers)
    finally:
        receiver.clock = time.time
    assert replay.status_code == 401 and replay.text == "bad or stale signature"

    an_hour_ago = ClockAt(time.time_ns() // 1_000_000 - 3_600_000)
    stale = CHANNEL_TYPES.build(
        "webhook", "hook", {"url": f"{url}/steward", "secret": SECRET}, ChannelDeps(clock=an_hour_ago)
    )
    result = stale.send(Notification("late"))
    assert result.status_code == 401 and not result.retryable
    assert len(receiver.accepted()) == 1


def _notifier(runtime: Runtime, policy: RetryPolicy = FAST) -> Notifier:
    return Notifier(runtime.uow, policy=policy)


def test_retries_until_success_after_two_failures(runtime: Runtime, signed: tuple[HttpReceiver, str]) -> None:
    receiver, url = signed
    with runtime.uow() as uow:
        configure_channel(uow, "hook", "webhook", {"url": f"{url}/steward", "secret": SECRET})
        uow.commit()
    receiver.fail_next(2)
    [delivery] = _notifier(runtime).send(Notification("Drift on churn", severity="critical"))
    assert delivery.status is DeliveryStatus.DELIVERED
    assert [(a.number, a.ok, a.status_code) for a in delivery.attempts] == [
        (1, False, 503),
        (2, False, 503),
        (3, True, 200),
    ]
    assert delivery.attempts[0].error == "HTTP 503: failing on purpose" and delivery.attempts[2].error is None
    assert all(a.latency_ms > 0 for a in delivery.attempts)
    assert [r.status for r in receiver.requests] == [503, 503, 200]
    assert delivery.finished_at is not None and delivery.last_error is None


def test_gives_up_after_max_attempts_and_logs_every_attempt(runtime: Runtime, plain: tuple[HttpReceiver, str]) -> None:
    receiver, url = plain
    with runtime.uow() as uow:
        configure_channel(uow, "ops", "slack", {"url": f"{url}/services/T/B/x"})
        uow.commit()
    receiver.fail_next(10)
    [delivery] = _notifier(runtime, RetryPolicy(max_attempts=3, base_delay_s=0.01, jitter=0)).send(
        Notification("Drift on churn")
    )
    assert delivery.status is DeliveryStatus.FAILED
    assert [a.number for a in delivery.attempts] == [1, 2, 3]
    assert all(not a.ok and a.status_code == 503 for a in delivery.attempts)
    assert delivery.last_error == "HTTP 503: failing on purpose"
    assert len(receiver.requests) == 3
    with runtime.uow() as uow:
        [logged] = delivery_log(uow, status="failed").items
    assert logged == delivery


def test_a_permanent_refusal_is_tried_once(runtime: Runtime, plain: tuple[HttpReceiver, str]) -> None:
    receiver, url = plain
    with runtime.uow() as uow:
        configure_channel(uow, "ops", "slack", {"url": f"{url}/services/T/B/x"})
        uow.commit()
    receiver.fail_next(1, status=404)
    [delivery] = _notifier(runtime).send(Notification("x"))
    assert delivery.status is DeliveryStatus.FAILED and len(delivery.attempts) == 1
    assert delivery.attempts[0].status_code == 404


def test_retry_after_from_the_receiver_is_honoured(runtime: Runtime, plain: tuple[HttpReceiver, str]) -> None:
    receiver, url = plain
    with runtime.uow() as uow:
        configure_channel(uow, "ops", "slack", {"url": f"{url}/services/T/B/x"})
        uow.commit()
    receiver.fail_next(1, status=429, retry_after="1")
    policy = RetryPolicy(base_delay_s=0.01, max_delay_s=0.3, jitter=0)
    [delivery] = _notifier(runtime, policy).send(Notification("x"))
    assert delivery.status is DeliveryStatus.DELIVERED
    waited = delivery.attempts[1].started_at - delivery.attempts[0].started_at
    assert waited >= 290  # Retry-After 1 s, capped by max_delay_s = 0.3 s


def test_an_unreachable_receiver_is_retried_then_logged_failed(runtime: Runtime) -> None:
    port = free_port()
    with runtime.uow() as uow:
        configure_channel(uow, "hook", "webhook", {"url": f"http://127.0.0.1:{port}/h", "secret": SECRET})
        uow.commit()
    [delivery] = _notifier(runtime, RetryPolicy(max_attempts=2, base_delay_s=0.01, jitter=0)).send(Notification("x"))
    assert delivery.status is DeliveryStatus.FAILED and len(delivery.attempts) == 2
    assert all(a.status_code is None and "ConnectError" in (a.error or "") for a in delivery.attempts)
