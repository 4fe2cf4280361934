"""The monitoring scheduler that runs inside ``steward server``: each monitor with a
``schedule`` runs when due, the prediction log is compacted and summarised in the background,
raw rows older than the retention are purged once a day (:mod:`steward.monitoring.retention`),
and the notification outbox is dispatched: every pending delivery that the entry point which
enqueued it did not send right after its commit (it died first, or its dispatcher did mid-way
and the lease has run out).

Several replicas may run it at once: a job runs only under its database lease (a row per job
in ``monitoring_leases``, taken by one conditional UPDATE, so exactly one replica wins). The
winner keeps the lease until the job is next due, so no other replica repeats it in between,
and an expired lease (a replica died mid-job) is taken over.

Example:
    >>> scheduler = MonitoringScheduler(MonitoringDeps.from_runtime(runtime))  # doctest: +SKIP
    >>> scheduler.tick()  # one pass, what the thread does every ``tick_s``  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from steward.monitoring.retention import purge, retention_cutoffs
from steward.monitoring.runner import run_monitor
from steward.monitoring.service import MonitoringDeps
from steward.monitoring.windows import DAY, HOUR, MINUTE, parse_duration

if TYPE_CHECKING:
    from steward.notify.dispatcher import Dispatcher

log = logging.getLogger("steward.monitoring.scheduler")

COMPACT_JOB = "monitoring:compact"
RETENTION_JOB = "monitoring:retention"
DISPATCH_JOB = "notify:dispatch"
JOB_TIMEOUT_MS = 30 * MINUTE
COUNTER_RETENTION_MS = 90 * DAY


@dataclass(frozen=True)
class JobResult:
    job: str
    status: str


def holder_id() -> str:
    """This process, as a lease holder: host, pid and a random suffix."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class MonitoringScheduler:
    """Runs due monitors and housekeeping under leases, and the notification ``dispatcher``
    (which needs no job lease: each delivery is claimed on its own) on every tick."""

    def __init__(
        self,
        deps: MonitoringDeps,
        *,
        dispatcher: Dispatcher | None = None,
        holder: str | None = None,
        tick_s: float = 30.0,
        compact_every_ms: int = HOUR,
        purge_every_ms: int = DAY,
        summarise_limit: int = 2_000,
    ) -> None:
        self.deps = deps
        self.dispatcher = dispatcher
        self.holder = holder or holder_id()
        self.tick_s = tick_s
        self.compact_every_ms = compact_every_ms
        self.purge_every_ms = purge_every_ms
        self.summarise_limit = summarise_limit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ------------------------------------------------------------------------------
    def due(self, now: int) -> list[tuple[str, int]]:
        """(deployment, interval) of the enabled monitors whose schedule has come round."""
        out = []
        with self.deps.uow() as uow:
            for row in uow.monitoring.monitors(enabled_only=True):
                if row.schedule is None:
                    continue
                every = parse_duration(row.schedule)
                if row.last_run_at is None or now - row.last_run_at >= every:
                    out.append((row.deployment, every))
        return out

    def tick(self, now: int | None = None) -> list[JobResult]:
        """Run every job that is due and whose lease this process gets."""
        t = self.deps.clock.now_ms() if now is None else now
        results = []
        for deployment, every in self.due(t):
            job = f"monitor:{deployment}"
            results.append(self._leased(job, t, every, functools.partial(self._monitor, deployment, t)))
        results.append(self._leased(COMPACT_JOB, t, self.compact_every_ms, lambda: self._housekeeping(t)))
        results.append(self._leased(RETENTION_JOB, t, self.purge_every_ms, lambda: self._retention(t)))
        results.append(self._dispatch())
        return [r for r in results if r.status != "skipped"]

    def _dispatch(self) -> JobResult:
        """Send the outbox's pending deliveries; "skipped" when there was nothing to send."""
        if self.dispatcher is None:
            return JobResult(DISPATCH_JOB, "skipped")
        try:
            sent = self.dispatcher.dispatch()
        except Exception as exc:  # the deliveries stay pending, claimable again when the lease ends
            log.exception("notification dispatch failed")
            return JobResult(DISPATCH_JOB, f"failed: {type(exc).__name__}: {exc}")
        return JobResult(DISPATCH_JOB, f"ok: {len(sent)} deliveries" if sent else "skipped")

    def _monitor(self, deployment: str, now: int) -> str:
        outcome = run_monitor(self.deps, deployment, now_ms=now)
        fired = sum(1 for a in outcome.alerts if a.action == "fire")
        return f"ok: {len(outcome.runs)} windows, {fired} alerts fired"

    def _housekeeping(self, now: int) -> str:
        compacted = self.deps.store.compact(now_ms=now)
        labels = self.deps.store.compact(now_ms=now, table="labels")
        summarised = self.deps.store.summarise_pending(limit=self.summarise_limit)
        with self.deps.uow() as uow:
            uow.monitoring.purge_counters(now - COUNTER_RETENTION_MS)
            uow.commit()
        errors = compacted.errors + labels.errors
        return f"ok: {compacted.files_in + labels.files_in} files compacted, {summarised} summarised" + (
            f", {len(errors)} errors" if errors else ""
        )

    def _retention(self, now: int) -> str:
        with self.deps.uow() as uow:
            cutoffs = retention_cutoffs(uow, self.deps.store, now)
        report = purge(self.deps.store, cutoffs, lock_timeout_s=60.0)
        totals = report.totals()
        extra = [f"{len(report.busy)} busy", f"{len(report.errors)} errors"]
        return (
            f"ok: {totals['rows_removed']} rows, {totals['segments_removed']} segments removed, "
            f"{totals['segments_rewritten']} rewritten, {totals['bytes_freed']} bytes freed"
            + "".join(f", {e}" for e, n in zip(extra, (report.busy, report.errors), strict=True) if n)
        )

    def _leased(self, job: str, now: int, every: int, work: Callable[[], str]) -> JobResult:
        with self.deps.uow() as uow:
            got = uow.monitoring.acquire(job, self.holder, now, JOB_TIMEOUT_MS)
            uow.commit()
        if not got:
            return JobResult(job, "skipped")
        try:
            status = work()
        except Exception as exc:  # one failing job must not stop the scheduler
            log.exception("monitoring job failed", extra={"ctx_job": job})
            status = f"failed: {type(exc).__name__}: {exc}"
        with self.deps.uow() as uow:
            uow.monitoring.release(job, self.holder, self.deps.clock.now_ms(), status, keep_until=now + every)
            uow.commit()
        return JobResult(job, status)

    # -- the thread ----------------------------------------------------------------------------
    def start(self) -> MonitoringScheduler:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="steward-monitoring", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def _run(self) -> None:
        # The first pass waits one tick: a server that starts and stops at once does no work.
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # the database may be briefly unavailable: try again next tick
                log.exception("monitoring scheduler tick failed")
