"""Persistence of channels and of the delivery log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from steward.core.errors import StewardError
from steward.notify.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Notification,
    Severity,
)
from steward.notify.sealing import SecretBox
from steward.notify.tables import AttemptRow, ChannelRow, DeliveryRow, NotificationRow


class NotifyRepository:
    """``box`` encrypts channel secrets; without one, channels can be listed but their secrets
    neither read nor written."""

    def __init__(self, session: Session, box: SecretBox | None = None) -> None:
        self.session = session
        self._box_ = box

    def _box(self) -> SecretBox:
        if self._box_ is None:
            raise StewardError(
                "This unit of work has no platform secret to encrypt notification channel secrets with; "
                "build it with UnitOfWorkFactory(engine, secret_box=SecretBox.from_settings(settings))."
            )
        return self._box_

    # channels ----------------------------------------------------------------------------------
    def channel(self, name: str) -> ChannelRow | None:
        return self.session.scalars(select(ChannelRow).where(ChannelRow.name == name)).first()

    def channels(self) -> list[ChannelRow]:
        return list(self.session.scalars(select(ChannelRow).order_by(ChannelRow.name)))

    def add_channel(self, *, secrets: Mapping[str, str], **values: Any) -> ChannelRow:
        row = ChannelRow(secrets=self._box().seal(secrets), **values)
        self.session.add(row)
        self.session.flush()
        return row

    def set_channel_secrets(self, row: ChannelRow, secrets: Mapping[str, str]) -> None:
        """Replace the secrets of ``row``, encrypted under the current key."""
        row.secrets = self._box().seal(secrets)

    def channel_secrets(self, row: ChannelRow, names: Sequence[str] | None = None) -> dict[str, str]:
        """The decrypted secrets of ``row`` (only ``names`` if given); raises
        :class:`~steward.notify.sealing.ChannelSecretError` when the keys do not fit."""
        stored = row.secrets if names is None else {k: v for k, v in row.secrets.items() if k in names}
        return self._box().open(row.name, stored) if stored else {}

    def delete_channel(self, row: ChannelRow) -> None:
        self.session.delete(row)
        self.session.flush()

    # notifications and deliveries --------------------------------------------------------------
    def notification(self, notification_id: str) -> NotificationRow | None:
        return self.session.get(NotificationRow, notification_id)

    def add_notification(self, n: Notification) -> NotificationRow:
        row = NotificationRow(
            id=n.id,
            subject=n.subject,
            body=n.body,
            severity=n.severity.value,
            payload=n.payload,
            dedup_key=n.dedup_key,
            created_at=n.created_at,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def add_delivery(self, **values: Any) -> DeliveryRow:
        row = DeliveryRow(**values)
        self.session.add(row)
        self.session.flush()
        return row

    def delivery_row(self, delivery_id: str) -> DeliveryRow | None:
        return self.session.get(DeliveryRow, delivery_id)

    def delivered_since(self, channel: str, dedup_key: str, since_ms: int) -> bool:
        """Whether ``dedup_key`` reached ``channel`` at or after ``since_ms``, or is in the
        outbox on its way there (two enqueues before a dispatch must not send it twice)."""
        query = select(DeliveryRow.id).where(
            DeliveryRow.channel == channel,
            DeliveryRow.dedup_key == dedup_key,
            DeliveryRow.created_at >= since_ms,
            DeliveryRow.status.in_([DeliveryStatus.DELIVERED.value, DeliveryStatus.PENDING.value]),
        )
        return self.session.scalars(query.limit(1)).first() is not None

    # the outbox --------------------------------------------------------------------------------
    def claimable(self, now_ms: int, *, limit: int, ids: Sequence[str] | None = None) -> list[str]:
        """Pending deliveries nobody holds (never claimed, or the lease ran out), oldest first."""
        query = select(DeliveryRow.id).where(
            DeliveryRow.status == DeliveryStatus.PENDING.value,
            or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now_ms),
        )
        if ids is not None:
            query = query.where(DeliveryRow.id.in_(list(ids)))
        query = query.order_by(DeliveryRow.created_at, DeliveryRow.id).limit(limit)
        return list(self.session.scalars(query))

    def claim(self, delivery_id: str, holder: str, now_ms: int, until_ms: int) -> bool:
        """Take the lease of a pending delivery. One conditional UPDATE, so of two dispatchers
        racing for it exactly one wins, on SQLite and PostgreSQL alike."""
        result = self.session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.status == DeliveryStatus.PENDING.value,
                or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now_ms),
            )
            .values(claimed_by=holder, claimed_until=until_ms),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def record_attempt(self, delivery_id: str, holder: str, attempt: Attempt, until_ms: int) -> bool:
        """Log an attempt and renew the lease, if ``holder`` still holds it (False: it lost it)."""
        result = self.session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.claimed_by == holder,
                DeliveryRow.status == DeliveryStatus.PENDING.value,
            )
            .values(attempts=attempt.number, last_error=attempt.error, claimed_until=until_ms),
            execution_options={"synchronize_session": False},
        )
        if int(getattr(result, "rowcount", 0) or 0) != 1:
            return False
        self.add_attempt(delivery_id, attempt)
        return True

    def finish(
        self, delivery_id: str, holder: str, status: DeliveryStatus, finished_at: int, error: str | None
    ) -> bool:
        """Set the final status of a delivery ``holder`` holds, and release its lease."""
        values: dict[str, Any] = {"status": status.value, "finished_at": finished_at, "claimed_until": None}
        if error is not None:
            values["last_error"] = error
        result = self.session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.claimed_by == holder,
                DeliveryRow.status == DeliveryStatus.PENDING.value,
            )
            .values(**values),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    @staticmethod
    def to_notification(row: NotificationRow) -> Notification:
        return Notification(
            row.subject,
            row.body,
            severity=row.severity,
            payload=row.payload,
            dedup_key=row.dedup_key,
            created_at=row.created_at,
            id=row.id,
        )

    def add_attempt(self, delivery_id: str, attempt: Attempt) -> None:
        self.session.add(
            AttemptRow(
                delivery_id=delivery_id,
                number=attempt.number,
                ok=attempt.ok,
                status_code=attempt.status_code,
                error=attempt.error,
                latency_ms=attempt.latency_ms,
                started_at=attempt.started_at,
            )
        )
        self.session.flush()

    def deliveries(
        self,
        *,
        limit: int,
        after: tuple[int, str] | None = None,
        channel: str | None = None,
        status: str | None = None,
        dedup_key: str | None = None,
        notification_id: str | None = None,
    ) -> list[Delivery]:
        """Newest first; ``after`` is the ``(created_at, id)`` of the last delivery already seen."""
        query = select(DeliveryRow, NotificationRow.subject, NotificationRow.severity).join(
            NotificationRow, NotificationRow.id == DeliveryRow.notification_id
        )
        for column, value in (
            (DeliveryRow.channel, channel),
            (DeliveryRow.status, status),
            (DeliveryRow.dedup_key, dedup_key),
            (DeliveryRow.notification_id, notification_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if after is not None:
            created, last_id = after
            query = query.where(
                or_(
                    DeliveryRow.created_at < created,
                    and_(DeliveryRow.created_at == created, DeliveryRow.id < last_id),
                )
            )
        query = query.order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc()).limit(limit)
        found = self.session.execute(query).all()
        attempts = self._attempts([row.id for row, _, _ in found])
        return [self.to_delivery(row, subject, severity, attempts.get(row.id, ())) for row, subject, severity in found]

    def delivery(self, delivery_id: str) -> Delivery | None:
        found = self.session.execute(
            select(DeliveryRow, NotificationRow.subject, NotificationRow.severity)
            .join(NotificationRow, NotificationRow.id == DeliveryRow.notification_id)
            .where(DeliveryRow.id == delivery_id)
        ).first()
        if found is None:
            return None
        row, subject, severity = found
        return self.to_delivery(row, subject, severity, self._attempts([row.id]).get(row.id, ()))

    def _attempts(self, delivery_ids: list[str]) -> dict[str, tuple[Attempt, ...]]:
        if not delivery_ids:
            return {}
        rows = self.session.scalars(
            select(AttemptRow)
            .where(AttemptRow.delivery_id.in_(delivery_ids))
            .order_by(AttemptRow.delivery_id, AttemptRow.number)
        )
        out: dict[str, list[Attempt]] = {}
        for r in rows:
            out.setdefault(r.delivery_id, []).append(
                Attempt(r.number, r.ok, r.status_code, r.error, r.latency_ms, r.started_at)
            )
        return {k: tuple(v) for k, v in out.items()}

    def purge(self, before_ms: int) -> int:
        """Delete deliveries created before ``before_ms``, their attempts, and notifications
        left without deliveries. Returns the number of deliveries deleted."""
        bulk = {"synchronize_session": False}
        old = select(DeliveryRow.id).where(DeliveryRow.created_at < before_ms)
        self.session.execute(delete(AttemptRow).where(AttemptRow.delivery_id.in_(old)), execution_options=bulk)
        deleted = self.session.execute(
            delete(DeliveryRow).where(DeliveryRow.created_at < before_ms), execution_options=bulk
        )
        orphan = ~exists().where(DeliveryRow.notification_id == NotificationRow.id)
        self.session.execute(
            delete(NotificationRow).where(NotificationRow.created_at < before_ms, orphan), execution_options=bulk
        )
        return int(getattr(deleted, "rowcount", 0) or 0)

    @staticmethod
    def to_delivery(row: DeliveryRow, subject: str, severity: str, attempts: tuple[Attempt, ...]) -> Delivery:
        return Delivery(
            id=row.id,
            notification_id=row.notification_id,
            channel=row.channel,
            channel_type=row.channel_type,
            subject=subject,
            severity=Severity(severity),
            dedup_key=row.dedup_key,
            status=DeliveryStatus(row.status),
            attempts=attempts,
            created_at=row.created_at,
            finished_at=row.finished_at,
            last_error=row.last_error,
        )
