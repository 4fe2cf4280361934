"""Persistence of monitors, monitoring runs, alerts, counter snapshots and leases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from steward.monitoring.tables import (
    AlertEventRow,
    AlertRow,
    CounterSnapshotRow,
    FeatureDriftRow,
    LeaseRow,
    MonitorRow,
    RunRow,
)


class MonitoringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # monitors ----------------------------------------------------------------------------------
    def monitor(self, deployment: str) -> MonitorRow | None:
        return self.session.get(MonitorRow, deployment)

    def monitors(self, *, enabled_only: bool = False) -> list[MonitorRow]:
        q = select(MonitorRow).order_by(MonitorRow.deployment)
        if enabled_only:
            q = q.where(MonitorRow.enabled.is_(True))
        return list(self.session.scalars(q))

    def add_monitor(self, **values: Any) -> MonitorRow:
        row = MonitorRow(**values)
        self.session.add(row)
        self.session.flush()
        return row

    def delete_monitor(self, row: MonitorRow) -> None:
        self.session.delete(row)
        self.session.flush()

    # runs --------------------------------------------------------------------------------------
    def add_run(self, row: RunRow, features: Sequence[FeatureDriftRow]) -> RunRow:
        self.session.add(row)
        self.session.flush()
        self.session.add_all(features)
        self.session.flush()
        return row

    def run(self, run_id: str) -> RunRow | None:
        return self.session.get(RunRow, run_id)

    def runs(
        self,
        deployment: str,
        *,
        window: str | None = None,
        since: int | None = None,
        limit: int = 500,
        newest_first: bool = True,
        after: tuple[int, str] | None = None,
    ) -> list[RunRow]:
        """Runs of ``deployment``; ``after`` is the (created_at, id) of the last one of the
        previous page (newest first only)."""
        q = select(RunRow).where(RunRow.deployment == deployment)
        if window is not None:
            q = q.where(RunRow.window == window)
        if after is not None:
            t, key = after
            q = q.where(or_(RunRow.created_at < t, and_(RunRow.created_at == t, RunRow.id < key)))
        if since is not None:
            q = q.where(RunRow.created_at >= since)
        order = (RunRow.created_at.desc(), RunRow.id.desc()) if newest_first else (RunRow.created_at, RunRow.id)
        return list(self.session.scalars(q.order_by(*order).limit(limit)))

    def latest_runs(self) -> list[RunRow]:
        """The newest run of every (deployment, window)."""
        newest = (
            select(RunRow.deployment, RunRow.window, func.max(RunRow.created_at).label("t"))
            .group_by(RunRow.deployment, RunRow.window)
            .subquery()
        )
        q = (
            select(RunRow)
            .join(
                newest,
                and_(
                    RunRow.deployment == newest.c.deployment,
                    RunRow.window == newest.c.window,
                    RunRow.created_at == newest.c.t,
                ),
            )
            .order_by(RunRow.deployment, RunRow.window, RunRow.id)
        )
        seen: set[tuple[str, str]] = set()
        out = []
        for row in self.session.scalars(q):
            if (row.deployment, row.window) not in seen:
                seen.add((row.deployment, row.window))
                out.append(row)
        return out

    def feature_drift(self, run_ids: Sequence[str]) -> list[FeatureDriftRow]:
        if not run_ids:
            return []
        q = select(FeatureDriftRow).where(FeatureDriftRow.run_id.in_(list(run_ids)))
        return list(self.session.scalars(q.order_by(FeatureDriftRow.run_id, FeatureDriftRow.column)))

    def deployments(self) -> list[str]:
        q = select(RunRow.deployment).distinct().union(select(MonitorRow.deployment))
        return sorted(str(d) for d in self.session.scalars(q))

    # alerts ------------------------------------------------------------------------------------
    def firing(self, dedup_key: str) -> AlertRow | None:
        q = select(AlertRow).where(AlertRow.dedup_key == dedup_key, AlertRow.state == "firing")
        return self.session.scalars(q).first()

    def alert(self, alert_id: str) -> AlertRow | None:
        return self.session.get(AlertRow, alert_id)

    def alerts(
        self,
        *,
        deployment: str | None = None,
        state: str | None = None,
        limit: int = 200,
        after: tuple[int, str] | None = None,
    ) -> list[AlertRow]:
        """Alerts newest first; ``after`` is the (fired_at, id) of the last one of the previous page."""
        q = select(AlertRow)
        if after is not None:
            t, key = after
            q = q.where(or_(AlertRow.fired_at < t, and_(AlertRow.fired_at == t, AlertRow.id > key)))
        if deployment is not None:
            q = q.where(AlertRow.deployment == deployment)
        if state is not None:
            q = q.where(AlertRow.state == state)
        return list(self.session.scalars(q.order_by(AlertRow.fired_at.desc(), AlertRow.id).limit(limit)))

    def add_alert(self, **values: Any) -> AlertRow:
        row = AlertRow(**values)
        self.session.add(row)
        self.session.flush()
        return row

    def add_event(self, alert_id: str, at: int, action: str, value: float | None, detail: dict[str, Any]) -> None:
        self.session.add(AlertEventRow(alert_id=alert_id, at=at, action=action, value=value, detail=detail))
        self.session.flush()

    def events(self, alert_id: str) -> list[AlertEventRow]:
        q = select(AlertEventRow).where(AlertEventRow.alert_id == alert_id).order_by(AlertEventRow.id)
        return list(self.session.scalars(q))

    # request counters --------------------------------------------------------------------------
    def add_counters(self, deployment: str, taken_at: int, ok: float, invalid: float, error: float) -> None:
        self.session.merge(
            CounterSnapshotRow(deployment=deployment, taken_at=taken_at, ok=ok, invalid=invalid, error=error)
        )
        self.session.flush()

    def counters(self, deployment: str, since: int, until: int) -> list[CounterSnapshotRow]:
        """Snapshots in ``[since, until]`` plus the last one before ``since`` (the baseline)."""
        before = (
            select(CounterSnapshotRow)
            .where(CounterSnapshotRow.deployment == deployment, CounterSnapshotRow.taken_at < since)
            .order_by(CounterSnapshotRow.taken_at.desc())
            .limit(1)
        )
        inside = (
            select(CounterSnapshotRow)
            .where(
                CounterSnapshotRow.deployment == deployment,
                CounterSnapshotRow.taken_at >= since,
                CounterSnapshotRow.taken_at <= until,
            )
            .order_by(CounterSnapshotRow.taken_at)
        )
        return [*self.session.scalars(before), *self.session.scalars(inside)]

    def latest_counters(self) -> list[CounterSnapshotRow]:
        newest = (
            select(CounterSnapshotRow.deployment, func.max(CounterSnapshotRow.taken_at).label("t"))
            .group_by(CounterSnapshotRow.deployment)
            .subquery()
        )
        q = select(CounterSnapshotRow).join(
            newest,
            and_(CounterSnapshotRow.deployment == newest.c.deployment, CounterSnapshotRow.taken_at == newest.c.t),
        )
        return list(self.session.scalars(q.order_by(CounterSnapshotRow.deployment)))

    def purge_counters(self, older_than: int) -> int:
        result = self.session.execute(delete(CounterSnapshotRow).where(CounterSnapshotRow.taken_at < older_than))
        return int(getattr(result, "rowcount", 0) or 0)

    # leases ------------------------------------------------------------------------------------
    def acquire(self, name: str, holder: str, now: int, ttl_ms: int) -> bool:
        """Take the lease ``name`` if it is free or expired (one statement, so two replicas
        cannot both win); the caller commits at once."""
        result = self.session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.expires_at <= now)
            .values(holder=holder, expires_at=now + ttl_ms)
        )
        if int(getattr(result, "rowcount", 0) or 0) == 1:
            return True
        if self.session.get(LeaseRow, name) is not None:
            return False
        try:
            with self.session.begin_nested():
                self.session.execute(insert(LeaseRow).values(name=name, holder=holder, expires_at=now + ttl_ms))
        except IntegrityError:
            return False
        return True

    def release(self, name: str, holder: str, now: int, status: str, keep_until: int | None = None) -> None:
        """Record the run; keep the lease until ``keep_until`` (so no replica repeats the job
        before it is due again) or free it now."""
        self.session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.holder == holder)
            .values(expires_at=keep_until if keep_until is not None else now, last_run_at=now, last_status=status[:256])
        )

    def lease(self, name: str) -> LeaseRow | None:
        return self.session.get(LeaseRow, name)
