"""The outbox dispatcher: claims pending deliveries and sends them, retrying with backoff.

This is an edge module, like an API route or a scheduler job, not a service: it owns its
transactions. Delivery waits on the network and sleeps between retries, and a transaction held
open that long would block every other writer of an embedded (SQLite) store, so each step
commits a short unit of work of its own: the claim, each attempt as soon as it ends (renewing
the lease), and the final status.

Claiming is safe with several dispatchers (server replicas, workers, a CLI command draining
what it just enqueued): a delivery is taken by one conditional UPDATE that only succeeds while
it is pending and nobody's lease on it is running, so exactly one dispatcher sends it. A
dispatcher that dies mid-delivery leaves the delivery pending with the attempts made so far;
when its lease runs out, another dispatcher takes it over and spends the attempts that remain.

>>> with runtime.uow() as uow:  # doctest: +SKIP
...     ids = enqueue(uow, Notification("Drift on churn", severity="critical"))
...     uow.commit()
>>> Dispatcher(runtime.uow).dispatch(ids)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from steward.core.clock import Clock, SystemClock
from steward.notify.delivery import RetryPolicy, Timer, deliver
from steward.notify.models import Attempt, Delivery, DeliveryStatus, Notification
from steward.notify.registry import CHANNEL_TYPES, Channel, ChannelDeps, ChannelRegistry
from steward.notify.sealing import ChannelSecretError
from steward.notify.service import enqueue, get_delivery, redact

if TYPE_CHECKING:
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.notify")

# Deliveries claimed per round trip, and the most one dispatch() sends (a later one goes on).
BATCH = 100
MAX_PER_DISPATCH = 1000


def holder_id() -> str:
    """This dispatcher, as a lease holder: host, pid and a random suffix."""
    return f"notify:{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _LeaseLost(Exception):
    """Another dispatcher took the delivery over (this one outlived its lease)."""


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    notification: Notification
    channel: Channel
    secrets: tuple[str, ...]
    attempts_made: int


class Dispatcher:
    """Sends the outbox's pending deliveries (see the module docstring).

    Parameters
    ----------
    uow_factory: opens a unit of work (``runtime.uow``).
    policy: retries and backoff of one delivery, as before the outbox.
    lease_ms: how long a claim holds before another dispatcher may take the delivery over;
        renewed after each attempt. By default the policy's whole retry budget plus a minute.
    holder: this dispatcher's name in the lease column.
    """

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        registry: ChannelRegistry | None = None,
        policy: RetryPolicy | None = None,
        deps: ChannelDeps | None = None,
        timer: Timer | None = None,
        clock: Clock | None = None,
        draw: Callable[[], float] = random.random,
        holder: str | None = None,
        lease_ms: int | None = None,
    ) -> None:
        self._uow = uow_factory
        self.registry = registry or CHANNEL_TYPES
        self.policy = policy or RetryPolicy()
        self.deps = deps or ChannelDeps()
        self._timer = timer
        self.clock = clock or SystemClock()
        self._draw = draw
        self.holder = holder or holder_id()
        self.lease_ms = lease_ms if lease_ms is not None else int((self.policy.max_total_s + 60) * 1000)

    def claim(self, ids: Sequence[str] | None = None, *, limit: int = BATCH) -> list[str]:
        """Take the lease of up to ``limit`` pending deliveries (of ``ids`` only, if given) that
        nobody holds; returns those this dispatcher got. :meth:`dispatch` claims and sends."""
        now = self.clock.now_ms()
        with self._uow() as uow:
            won = [
                i
                for i in uow.notify.claimable(now, limit=limit, ids=ids)
                if uow.notify.claim(i, self.holder, now, now + self.lease_ms)
            ]
            uow.commit()
        return won

    def dispatch(self, ids: Sequence[str] | None = None) -> list[str]:
        """Claim and send pending deliveries: ``ids`` only (what a caller just enqueued), or
        every pending one, oldest first. Returns the ids this dispatcher finished; a delivery
        another dispatcher holds is left to it."""
        done: list[str] = []
        wanted = None if ids is None else list(dict.fromkeys(ids))
        while len(done) < MAX_PER_DISPATCH:
            claimed = self.claim(wanted, limit=BATCH)
            if not claimed:
                break
            for delivery_id in claimed:
                if self.send_claimed(delivery_id):
                    done.append(delivery_id)
            if wanted is not None:
                break
        return done

    def send_claimed(self, delivery_id: str) -> bool:
        """Send one delivery this dispatcher has claimed; False if it lost the lease."""
        try:
            job = self._job(delivery_id)
            if job is None:
                return True
            outcome = deliver(
                job.channel,
                job.notification,
                replace(self.policy, max_attempts=self.policy.max_attempts - job.attempts_made),
                timer=self._timer,
                clock=self.clock,
                draw=self._draw,
                on_attempt=lambda attempt: self._record(job, attempt),
            )
        except _LeaseLost:
            log.warning("notification delivery taken over", extra={"ctx_delivery": delivery_id})
            return False
        status = DeliveryStatus.DELIVERED if outcome.delivered else DeliveryStatus.FAILED
        finished = self._finish(delivery_id, status, None)
        (log.info if outcome.delivered else log.warning)(
            "notification %s",
            status.value,
            extra={
                "ctx_channel": job.channel.name,
                "ctx_notification": job.notification.id,
                "ctx_attempts": job.attempts_made + len(outcome.attempts),
            },
        )
        return finished

    def _job(self, delivery_id: str) -> _Job | None:
        """What sending needs, read in one short unit; None when the delivery was settled here."""
        with self._uow() as uow:
            row = uow.notify.delivery_row(delivery_id)
            if row is None:
                return None
            if row.claimed_by != self.holder or row.status != DeliveryStatus.PENDING.value:
                raise _LeaseLost(delivery_id)  # this dispatcher outlived its lease; another took over
            channel_name, made = row.channel, row.attempts
            note = uow.notify.notification(row.notification_id)
            notification = None if note is None else uow.notify.to_notification(note)
            found = uow.notify.channel(channel_name)
            # Read now: closing the unit expires the rows.
            channel_row, unreadable = None, None
            if found is not None:
                try:
                    channel_row = (found.type, dict(found.config), uow.notify.channel_secrets(found))
                except ChannelSecretError as exc:
                    unreadable = exc.message
        if unreadable is not None:  # the key is wrong: no attempt can succeed, so none is made
            log.warning(unreadable, extra={"ctx_channel": channel_name})
            self._finish(delivery_id, DeliveryStatus.FAILED, unreadable)
            return None
        if notification is None or channel_row is None:
            self._finish(delivery_id, DeliveryStatus.FAILED, f"the channel {channel_name!r} is no longer configured")
            return None
        kind, config, secret_map = channel_row
        secrets = tuple(secret_map.values())
        if made >= self.policy.max_attempts:  # a previous holder spent every attempt, then died
            self._finish(delivery_id, DeliveryStatus.FAILED, None)
            return None
        try:
            channel = self.registry.build(kind, channel_name, {**config, **secret_map}, self.deps)
        except Exception as exc:  # an unknown type or a plug-in refusing its config
            self._finish(delivery_id, DeliveryStatus.FAILED, redact(f"cannot build the channel: {exc}", secrets))
            return None
        return _Job(delivery_id, notification, channel, secrets, made)

    def _record(self, job: _Job, attempt: Attempt) -> None:
        # Numbered after the attempts a previous holder made, so the log reads as one delivery.
        attempt = replace(attempt, number=job.attempts_made + attempt.number, error=redact(attempt.error, job.secrets))
        with self._uow() as uow:
            kept = uow.notify.record_attempt(job.delivery_id, self.holder, attempt, self.clock.now_ms() + self.lease_ms)
            uow.commit()
        if not kept:
            raise _LeaseLost(job.delivery_id)

    def _finish(self, delivery_id: str, status: DeliveryStatus, error: str | None) -> bool:
        with self._uow() as uow:
            kept = uow.notify.finish(delivery_id, self.holder, status, self.clock.now_ms(), error)
            uow.commit()
        return kept


class Notifier:
    """Enqueue a notification in a transaction of its own, commit, and deliver it at once.

    For an entry point with nothing else to commit (a script, a "send a test notification"
    command). An entry point that changes state and notifies about it enqueues with
    :func:`~steward.notify.service.enqueue` in its own unit of work instead, then dispatches
    after its commit, so the change and its notification commit together or not at all.

    >>> notifier = Notifier(runtime.uow, policy=RetryPolicy(max_attempts=3))  # doctest: +SKIP
    >>> notifier.send(Notification("Drift on churn", severity="critical"))  # doctest: +SKIP
    """

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        registry: ChannelRegistry | None = None,
        policy: RetryPolicy | None = None,
        deps: ChannelDeps | None = None,
        timer: Timer | None = None,
        clock: Clock | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._uow = uow_factory
        self.dispatcher = Dispatcher(
            uow_factory, registry=registry, policy=policy, deps=deps, timer=timer, clock=clock, draw=draw
        )

    def send(
        self,
        notification: Notification,
        *,
        channels: Sequence[str] | None = None,
        dedup_window_ms: int | None = None,
    ) -> list[Delivery]:
        """Deliver ``notification`` and return its deliveries, as logged (the routing rules are
        :func:`~steward.notify.service.enqueue`'s)."""
        d = self.dispatcher
        with self._uow() as uow:
            ids = enqueue(
                uow,
                notification,
                channels=channels,
                dedup_window_ms=dedup_window_ms,
                registry=d.registry,
                clock=d.clock,
            )
            uow.commit()
        d.dispatch(ids)
        with self._uow() as uow:
            return [get_delivery(uow, i) for i in ids]
