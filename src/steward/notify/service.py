"""Notification use cases: configure channels, enqueue notifications for them, read the log.

Every use case takes a unit of work and never commits. Sending is not a use case here: a
notification is put in the outbox (:func:`enqueue`) in the caller's transaction, and the
dispatcher in :mod:`steward.notify.dispatcher` delivers it after the commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from steward.core.clock import Clock, SystemClock
from steward.core.errors import InvalidArgument, NotFound
from steward.core.ids import new_id
from steward.core.pagination import Page, check_page_size, decode_token, encode_token
from steward.notify.models import (
    ChannelInfo,
    Delivery,
    DeliveryStatus,
    Notification,
    Severity,
)
from steward.notify.registry import CHANNEL_TYPES, MASK, ChannelRegistry
from steward.notify.sealing import ChannelSecretError

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
        # Only the kept secrets are decrypted: a channel whose key was lost is mended by
        # sending every secret anew.
        kept = [k for k in row.secrets if k not in merged]
        merged.update(uow.notify.channel_secrets(row, kept))
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
        row.type, row.config = kind.name, public
        uow.notify.set_channel_secrets(row, secrets)  # under the current key, whatever it was under
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


def enqueue(
    uow: UnitOfWork,
    notification: Notification,
    *,
    channels: Sequence[str] | None = None,
    dedup_window_ms: int | None = None,
    registry: ChannelRegistry | None = None,
    clock: Clock | None = None,
) -> list[str]:
    """Put ``notification`` in the outbox of ``uow``: one delivery per channel that takes it.

    Nothing is sent here: the deliveries are written ``pending`` in the caller's transaction,
    so they commit together with the change they report, or not at all. A dispatcher
    (:class:`steward.notify.dispatcher.Dispatcher`) sends them after the commit. Returns the
    ids of the deliveries, pending or not.

    ``channels`` names the channels to use (each must exist); by default every channel.
    Either way only enabled channels whose ``min_severity`` the notification reaches take
    it. With ``dedup_window_ms``, a channel that already got, or is about to get, the same
    ``dedup_key`` within that window is skipped and the delivery logged ``suppressed``. A
    channel whose configuration no longer builds is logged ``failed`` at once.

    >>> ids = enqueue(uow, Notification("Drift on churn", severity="critical"))  # doctest: +SKIP
    >>> uow.commit(); Dispatcher(runtime.uow).dispatch(ids)  # doctest: +SKIP
    """
    if dedup_window_ms is not None and dedup_window_ms < 0:
        raise InvalidArgument(
            f"The 'dedup_window_ms' parameter must be >= 0. Got {dedup_window_ms} instead.",
            field="dedup_window_ms",
        )
    kinds = registry or CHANNEL_TYPES
    # Every name is checked before anything is written: a bad name leaves the caller's
    # transaction as it was, so the caller may record the refusal and still commit.
    rows = uow.notify.channels() if channels is None else [_row(uow, name) for name in dict.fromkeys(channels)]
    rows = [r for r in rows if _info(r).accepts(notification.severity)]
    if not rows:
        return []
    if uow.notify.notification(notification.id) is None:
        uow.notify.add_notification(notification)
    now = (clock or SystemClock()).now_ms()
    ids: list[str] = []
    for row in rows:
        status, error = DeliveryStatus.PENDING, None
        if dedup_window_ms is not None and uow.notify.delivered_since(
            row.name, notification.dedup_key, now - dedup_window_ms
        ):
            status = DeliveryStatus.SUPPRESSED
        else:
            try:
                secrets = uow.notify.channel_secrets(row)
            except ChannelSecretError as exc:
                status, error, secrets = DeliveryStatus.FAILED, exc.message, None
            if secrets is not None:
                try:
                    kinds.build(row.type, row.name, {**row.config, **secrets})
                except Exception as exc:  # an unknown type or a plug-in refusing its config
                    status = DeliveryStatus.FAILED
                    error = redact(f"cannot build the channel: {exc}", list(secrets.values()))
        done = status is not DeliveryStatus.PENDING
        delivery = uow.notify.add_delivery(
            id=new_id(),
            notification_id=notification.id,
            channel=row.name,
            channel_type=row.type,
            dedup_key=notification.dedup_key,
            status=status.value,
            attempts=0,
            last_error=error,
            created_at=now,
            finished_at=now if done else None,
        )
        ids.append(delivery.id)
    log.info("notification enqueued", extra={"ctx_notification": notification.id, "ctx_deliveries": len(ids)})
    return ids
