"""Notification use cases: configure channels, route notifications to them, read the log.

The configuration and log use cases take a unit of work and never commit, like every service.
:class:`Notifier` is the exception, and says why.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from steward.core.clock import Clock, SystemClock
from steward.core.errors import InvalidArgument, NotFound
from steward.core.ids import new_id
from steward.core.pagination import Page, check_page_size, decode_token, encode_token
from steward.notify.delivery import RetryPolicy, Timer, deliver
from steward.notify.models import (
    Attempt,
    ChannelInfo,
    Delivery,
    DeliveryStatus,
    Notification,
    Severity,
)
from steward.notify.registry import CHANNEL_TYPES, MASK, Channel, ChannelDeps, ChannelRegistry

if TYPE_CHECKING:
    from steward.notify.tables import ChannelRow
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.notify")

_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _info(row: ChannelRow) -> ChannelInfo:
    return ChannelInfo(
        name=row.name,
        type=row.type,
        config={**row.config, **{key: MASK for key in row.secrets}},
        enabled=row.enabled,
        min_severity=Severity(row.min_severity),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(uow: UnitOfWork, name: str) -> ChannelRow:
    row = uow.notify.channel(name)
    if row is None:
        raise NotFound("notification channel", name)
    return row


# channels ------------------------------------------------------------------------------------
def configure_channel(
    uow: UnitOfWork,
    name: str,
    channel_type: str,
    config: Mapping[str, Any],
    *,
    enabled: bool = True,
    min_severity: Severity | str = Severity.INFO,
    registry: ChannelRegistry | None = None,
    clock: Clock | None = None,
) -> ChannelInfo:
    """Create the channel ``name``, or replace its configuration.

    On an update, a secret field left out of ``config`` (or sent back masked, as
    :func:`list_channels` shows it) keeps its stored value, so a form can be saved without
    retyping the webhook secret.

    >>> configure_channel(uow, "ops", "webhook", {"url": "https://x.example/h", "secret": "s" * 32})
    ... # doctest: +SKIP
    """
    if not isinstance(name, str) or not _CHANNEL_NAME.match(name):
        raise InvalidArgument(
            "The channel 'name' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit. Got {name!r} instead.",
            field="name",
        )
    kind = (registry or CHANNEL_TYPES).get(channel_type)
    severity = Severity.parse(min_severity, "min_severity")
    row = uow.notify.channel(name)
    merged = {k: v for k, v in config.items() if v != MASK}
    if row is not None and row.type == kind.name:
        for key, value in row.secrets.items():
            merged.setdefault(key, value)
    public, secrets = kind.split(kind.parse(merged))
    t = (clock or SystemClock()).now_ms()
    if row is None:
        row = uow.notify.add_channel(
            id=new_id(),
            name=name,
            type=kind.name,
            config=public,
            secrets=secrets,
            enabled=enabled,
            min_severity=severity.value,
            created_at=t,
            updated_at=t,
        )
    else:
        row.type, row.config, row.secrets = kind.name, public, secrets
        row.enabled, row.min_severity, row.updated_at = enabled, severity.value, t
    log.info("notification channel configured", extra={"ctx_channel": name, "ctx_type": kind.name})
    return _info(row)


def get_channel(uow: UnitOfWork, name: str) -> ChannelInfo:
    return _info(_row(uow, name))


def list_channels(uow: UnitOfWork) -> list[ChannelInfo]:
    """Every configured channel, by name, with secret fields masked."""
    return [_info(row) for row in uow.notify.channels()]


def remove_channel(uow: UnitOfWork, name: str) -> None:
    """Forget a channel; its past deliveries stay in the log."""
    uow.notify.delete_channel(_row(uow, name))


# the delivery log ----------------------------------------------------------------------------
def delivery_log(
    uow: UnitOfWork,
    *,
    channel: str | None = None,
    status: DeliveryStatus | str | None = None,
    dedup_key: str | None = None,
    notification_id: str | None = None,
    max_results: int = 100,
    page_token: str | None = None,
) -> Page[Delivery]:
    """Deliveries, newest first, each with all its attempts."""
    check_page_size(max_results, 1000)
    if status is not None:
        try:
            status = DeliveryStatus(status)
        except ValueError:
            raise InvalidArgument(
                f"The 'status' parameter must be one of {[s.value for s in DeliveryStatus]}. Got {status!r} instead.",
                field="status",
            ) from None
    state = decode_token(page_token)
    after = None
    if state is not None:
        try:
            after = (int(state["c"]), str(state["i"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidArgument(
                f"The page_token is not one this server issued: {page_token!r}.", field="page_token"
            ) from None
    items = uow.notify.deliveries(
        limit=max_results + 1,
        after=after,
        channel=channel,
        status=status.value if status is not None else None,
        dedup_key=dedup_key,
        notification_id=notification_id,
    )
    token = None
    if len(items) > max_results:
        items = items[:max_results]
        token = encode_token({"c": items[-1].created_at, "i": items[-1].id})
    return Page(items, token)


def get_delivery(uow: UnitOfWork, delivery_id: str) -> Delivery:
    found = uow.notify.delivery(delivery_id)
    if found is None:
        raise NotFound("delivery", delivery_id)
    return found


def purge_delivery_log(uow: UnitOfWork, older_than_ms: int, *, clock: Clock | None = None) -> int:
    """Delete deliveries older than ``older_than_ms``; returns how many went."""
    if older_than_ms < 0:
        raise InvalidArgument(
            f"The 'older_than_ms' parameter must be >= 0. Got {older_than_ms} instead.", field="older_than_ms"
        )
    return uow.notify.purge((clock or SystemClock()).now_ms() - older_than_ms)


# sending -------------------------------------------------------------------------------------
def redact(text: str | None, secrets: Sequence[str]) -> str | None:
    """``text`` with every secret value masked, so that errors can be stored and shown."""
    if text is None:
        return None
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


@dataclass(frozen=True)
class _Route:
    delivery_id: str
    channel: Channel
    secrets: tuple[str, ...]


class Notifier:
    """Routes notifications to the configured channels and logs every attempt.

    It takes the unit-of-work *factory*, not a unit of work: delivery waits on the network and
    sleeps between retries, and a transaction held open that long would block every other
    writer of an embedded (SQLite) store. So each step commits a short unit of work of its own:
    the deliveries are recorded ``pending`` before anything is sent, each attempt is in the log
    as soon as it ends, and a crash mid-delivery leaves a ``pending`` delivery with the attempts
    made so far.

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
        self.registry = registry or CHANNEL_TYPES
        self.policy = policy or RetryPolicy()
        self.deps = deps or ChannelDeps()
        self._timer = timer
        self._clock = clock or SystemClock()
        self._draw = draw

    def send(
        self,
        notification: Notification,
        *,
        channels: Sequence[str] | None = None,
        dedup_window_ms: int | None = None,
    ) -> list[Delivery]:
        """Deliver ``notification`` and return its deliveries, as logged.

        ``channels`` names the channels to use (each must exist); by default every channel.
        Either way only enabled channels whose ``min_severity`` the notification reaches take
        it. With ``dedup_window_ms``, a channel that already got the same ``dedup_key`` within
        that window is skipped and the delivery logged ``suppressed``.
        """
        if dedup_window_ms is not None and dedup_window_ms < 0:
            raise InvalidArgument(
                f"The 'dedup_window_ms' parameter must be >= 0. Got {dedup_window_ms} instead.",
                field="dedup_window_ms",
            )
        ids, routes = self._prepare(notification, channels, dedup_window_ms)
        for route in routes:
            self._run(route, notification)
        with self._uow() as uow:
            return [get_delivery(uow, i) for i in ids]

    def _prepare(
        self, n: Notification, names: Sequence[str] | None, dedup_window_ms: int | None
    ) -> tuple[list[str], list[_Route]]:
        with self._uow() as uow:
            rows = uow.notify.channels() if names is None else [_row(uow, name) for name in dict.fromkeys(names)]
            rows = [r for r in rows if _info(r).accepts(n.severity)]
            if not rows:
                return [], []
            if uow.notify.notification(n.id) is None:
                uow.notify.add_notification(n)
            now = self._clock.now_ms()
            ids: list[str] = []
            routes: list[_Route] = []
            for row in rows:
                status, error, channel = DeliveryStatus.PENDING, None, None
                if dedup_window_ms is not None and uow.notify.delivered_since(
                    row.name, n.dedup_key, now - dedup_window_ms
                ):
                    status = DeliveryStatus.SUPPRESSED
                else:
                    try:
                        channel = self.registry.build(row.type, row.name, {**row.config, **row.secrets}, self.deps)
                    except Exception as exc:  # an unknown type or a plug-in refusing its config
                        status = DeliveryStatus.FAILED
                        error = redact(f"cannot build the channel: {exc}", list(row.secrets.values()))
                done = status is not DeliveryStatus.PENDING
                delivery = uow.notify.add_delivery(
                    id=new_id(),
                    notification_id=n.id,
                    channel=row.name,
                    channel_type=row.type,
                    dedup_key=n.dedup_key,
                    status=status.value,
                    attempts=0,
                    last_error=error,
                    created_at=now,
                    finished_at=now if done else None,
                )
                ids.append(delivery.id)
                if channel is not None:
                    routes.append(_Route(delivery.id, channel, tuple(row.secrets.values())))
            uow.commit()
        return ids, routes

    def _run(self, route: _Route, n: Notification) -> None:
        def record(attempt: Attempt) -> None:
            attempt = replace(attempt, error=redact(attempt.error, route.secrets))
            with self._uow() as uow:
                uow.notify.add_attempt(route.delivery_id, attempt)
                row = uow.notify.delivery_row(route.delivery_id)
                if row is not None:
                    row.attempts, row.last_error = attempt.number, attempt.error
                uow.commit()

        outcome = deliver(
            route.channel,
            n,
            self.policy,
            timer=self._timer,
            clock=self._clock,
            draw=self._draw,
            on_attempt=record,
        )
        status = DeliveryStatus.DELIVERED if outcome.delivered else DeliveryStatus.FAILED
        with self._uow() as uow:
            row = uow.notify.delivery_row(route.delivery_id)
            if row is not None:
                row.status, row.finished_at = status.value, self._clock.now_ms()
            uow.commit()
        (log.info if outcome.delivered else log.warning)(
            "notification %s",
            status.value,
            extra={
                "ctx_channel": route.channel.name,
                "ctx_notification": n.id,
                "ctx_attempts": len(outcome.attempts),
            },
        )
