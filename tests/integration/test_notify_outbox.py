"""The notification outbox on SQLite and PostgreSQL: deliveries enqueued in the caller's
transaction, claimed and sent by dispatchers over real HTTP on loopback, once each."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from tests.support.net import serve

from steward.core.errors import NotFound
from steward.notify import (
    DeliveryStatus,
    Dispatcher,
    Notification,
    RetryPolicy,
    configure_channel,
    delivery_log,
    enqueue,
    get_delivery,
    verify_signature,
)
from steward.notify.tables import DeliveryRow, NotificationRow
from steward.runtime import Runtime
from steward.testing.notify import HttpReceiver

SECRET = "whsec-outbox-tests-0123456789"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.005, max_delay_s=0.01, jitter=0)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[HttpReceiver, str]]:
    receiver = HttpReceiver(secret=SECRET, tolerance_s=300)
    with serve(receiver) as url:
        yield receiver, url


@pytest.fixture
def hook(server: tuple[HttpReceiver, str]) -> tuple[HttpReceiver, str]:
    server[0].reset()
    return server


class ClockAt:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms


class Crash(Exception):
    """The process dying in the middle of a delivery (here: during its backoff wait)."""


class CrashingTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        raise Crash


def _configure(rt: Runtime, url: str, *names: str) -> None:
    with rt.uow() as uow:
        for name in names:
            configure_channel(uow, name, "webhook", {"url": f"{url}/{name}", "secret": SECRET})
        uow.commit()


def _enqueue(rt: Runtime, n: Notification) -> list[str]:
    with rt.uow() as uow:
        ids = enqueue(uow, n)
        uow.commit()
    return ids


def _status(rt: Runtime, delivery_id: str) -> DeliveryStatus:
    with rt.uow() as uow:
        return get_delivery(uow, delivery_id).status


def test_a_rolled_back_transaction_enqueues_nothing(store_runtime: Runtime, hook: tuple[HttpReceiver, str]) -> None:
    rt, (receiver, url) = store_runtime, hook
    _configure(rt, url, "ops")
    with pytest.raises(RuntimeError), rt.uow() as uow:
        [delivery_id] = enqueue(uow, Notification("Drift on churn", severity="critical"))
        assert uow.notify.delivery_row(delivery_id) is not None  # written in the caller's transaction...
        raise RuntimeError("the change the notification reports failed")
    with rt.uow() as uow:  # ...and gone with it
        assert delivery_log(uow).items == []
        assert uow.session.query(NotificationRow).count() == 0
    assert Dispatcher(rt.uow, policy=FAST).dispatch() == []
    assert receiver.requests == []


def test_an_unknown_channel_refuses_before_writing_anything(runtime: Runtime, hook: tuple[HttpReceiver, str]) -> None:
    rt, (_, url) = runtime, hook
    _configure(rt, url, "ops")
    with rt.uow() as uow:
        with pytest.raises(NotFound):
            enqueue(uow, Notification("x"), channels=["ops", "nope"])
        assert uow.session.query(DeliveryRow).count() == 0 and uow.session.query(NotificationRow).count() == 0


def test_a_notification_enqueued_by_a_process_that_died_is_delivered_by_a_new_dispatcher(
    store_runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    rt, (receiver, url) = store_runtime, hook
    _configure(rt, url, "ops")
    n = Notification("Drift on churn", "PSI 0.31", severity="warning", payload={"psi": 0.31}, dedup_key="drift:churn")
    [delivery_id] = _enqueue(rt, n)
    # The process dies here: committed, never dispatched.
    assert _status(rt, delivery_id) is DeliveryStatus.PENDING and receiver.requests == []

    assert Dispatcher(rt.uow, policy=FAST).dispatch() == [delivery_id]

    [request] = receiver.requests
    h = request.headers
    assert verify_signature(SECRET, h["x-steward-timestamp"], request.body, h["x-steward-signature"])
    assert h["x-steward-notification"] == n.id
    doc = request.json()
    assert (doc["subject"], doc["body"], doc["payload"], doc["dedup_key"]) == (
        "Drift on churn",
        "PSI 0.31",
        {"psi": 0.31},
        "drift:churn",
    )
    with rt.uow() as uow:
        delivered = get_delivery(uow, delivery_id)
    assert delivered.status is DeliveryStatus.DELIVERED and [a.number for a in delivered.attempts] == [1]
    assert Dispatcher(rt.uow, policy=FAST).dispatch() == [] and len(receiver.requests) == 1


def test_a_delivery_claimed_by_one_dispatcher_is_not_sent_by_another(
    store_runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    rt, (receiver, url) = store_runtime, hook
    _configure(rt, url, "ops")
    [delivery_id] = _enqueue(rt, Notification("x"))
    a = Dispatcher(rt.uow, policy=FAST, holder="dispatcher-a")
    b = Dispatcher(rt.uow, policy=FAST, holder="dispatcher-b")

    assert a.claim() == [delivery_id]
    assert b.claim() == [] and b.dispatch() == [] and b.dispatch([delivery_id]) == []
    assert receiver.requests == []
    assert a.send_claimed(delivery_id)
    assert b.dispatch() == []
    assert len(receiver.requests) == 1 and _status(rt, delivery_id) is DeliveryStatus.DELIVERED


def test_two_dispatchers_racing_over_the_outbox_send_each_delivery_once(
    store_runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    rt, (receiver, url) = store_runtime, hook
    _configure(rt, url, "a", "b")
    ids = [i for k in range(15) for i in _enqueue(rt, Notification(f"drift {k}", dedup_key=f"drift:{k}"))]
    assert len(ids) == 30
    sent: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def run(name: str) -> None:
        start.wait()
        sent[name] = Dispatcher(rt.uow, policy=FAST, holder=name).dispatch()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(sent["one"] + sent["two"]) == sorted(ids)  # every delivery finished by exactly one
    keys = [(r.path, r.headers["x-steward-notification"]) for r in receiver.requests]
    assert len(keys) == 30 and len(set(keys)) == 30
    with rt.uow() as uow:
        log = delivery_log(uow, max_results=100).items
    assert {d.status for d in log} == {DeliveryStatus.DELIVERED} and all(len(d.attempts) == 1 for d in log)


def test_a_delivery_interrupted_mid_way_is_taken_over_when_its_lease_runs_out(
    store_runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    rt, (receiver, url) = store_runtime, hook
    _configure(rt, url, "ops")
    [delivery_id] = _enqueue(rt, Notification("x"))
    t0 = int(time.time() * 1000)
    receiver.fail_next(1)
    dying = Dispatcher(rt.uow, policy=FAST, timer=CrashingTimer(), clock=ClockAt(t0), lease_ms=60_000)
    with pytest.raises(Crash):  # the first attempt failed and is logged; the process dies in the backoff wait
        dying.dispatch()
    with rt.uow() as uow:
        half = get_delivery(uow, delivery_id)
    assert half.status is DeliveryStatus.PENDING and [(a.number, a.status_code) for a in half.attempts] == [(1, 503)]

    early = Dispatcher(rt.uow, policy=FAST, clock=ClockAt(t0 + 30_000))
    assert early.dispatch() == [] and len(receiver.requests) == 1  # the lease still runs
    late = Dispatcher(rt.uow, policy=FAST, clock=ClockAt(t0 + 61_000))
    assert late.dispatch() == [delivery_id]

    with rt.uow() as uow:
        done = get_delivery(uow, delivery_id)
    assert done.status is DeliveryStatus.DELIVERED
    assert [(a.number, a.ok, a.status_code) for a in done.attempts] == [(1, False, 503), (2, True, 200)]
    assert [r.status for r in receiver.requests] == [503, 200]


def test_a_dispatcher_that_outlived_its_lease_leaves_the_delivery_to_the_one_that_took_it_over(
    runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    rt, (receiver, url) = runtime, hook
    _configure(rt, url, "ops")
    [delivery_id] = _enqueue(rt, Notification("x"))
    t0 = int(time.time() * 1000)
    stalled = Dispatcher(rt.uow, policy=FAST, clock=ClockAt(t0), lease_ms=1_000, holder="stalled")
    assert stalled.claim() == [delivery_id]
    assert Dispatcher(rt.uow, policy=FAST, clock=ClockAt(t0 + 2_000)).dispatch() == [delivery_id]
    assert not stalled.send_claimed(delivery_id)  # it wakes up: nothing sent, nothing overwritten
    with rt.uow() as uow:
        done = get_delivery(uow, delivery_id)
    assert done.status is DeliveryStatus.DELIVERED and len(done.attempts) == 1 and len(receiver.requests) == 1


def test_a_taken_over_delivery_uses_only_the_attempts_left(
    store_runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    rt, (receiver, url) = store_runtime, hook
    _configure(rt, url, "ops")
    [delivery_id] = _enqueue(rt, Notification("x"))
    t0 = int(time.time() * 1000)
    receiver.fail_next(10)
    with pytest.raises(Crash):
        Dispatcher(rt.uow, policy=FAST, timer=CrashingTimer(), clock=ClockAt(t0), lease_ms=1_000).dispatch()
    Dispatcher(rt.uow, policy=FAST, clock=ClockAt(t0 + 2_000)).dispatch()
    with rt.uow() as uow:
        done = get_delivery(uow, delivery_id)
    assert done.status is DeliveryStatus.FAILED and [a.number for a in done.attempts] == [1, 2, 3]
    assert len(receiver.requests) == FAST.max_attempts


def test_a_repeat_enqueued_before_the_first_is_sent_is_suppressed(
    runtime: Runtime, hook: tuple[HttpReceiver, str]
) -> None:
    rt, (receiver, url) = runtime, hook
    _configure(rt, url, "ops")
    with rt.uow() as uow:
        [first] = enqueue(uow, Notification("drift", dedup_key="drift:churn"), dedup_window_ms=3_600_000)
        [again] = enqueue(uow, Notification("drift again", dedup_key="drift:churn"), dedup_window_ms=3_600_000)
        uow.commit()
    assert Dispatcher(rt.uow, policy=FAST).dispatch() == [first]
    assert _status(rt, again) is DeliveryStatus.SUPPRESSED and len(receiver.requests) == 1
