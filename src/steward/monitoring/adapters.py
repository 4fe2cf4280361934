"""Ports the monitoring service talks through, and their real adapters.

* :class:`AlertSink`: where alert notifications go, in two steps: ``enqueue`` in the alert's
  own unit of work, ``deliver`` after it commits. :class:`NotifierSink` puts them in the
  ``steward.notify`` outbox and has its dispatcher send them (Slack-compatible and signed
  webhooks, email; retries; the delivery log). :class:`MemorySink` keeps them in a list.
* :class:`RetrainLauncher`: what a rule with ``retrain: true`` starts. :class:`PipelineRetrainer`
  runs ``steward train SPEC`` (the pipeline runner's entry point) as a child process; its outcome
  (``finished`` with the run id, or ``failed`` with the error) is recorded when the child ends,
  so a short-lived caller (the CLI) must :meth:`~PipelineRetrainer.wait` for what it started.
* :func:`scrape_counters`: the model server's request counters, read from its ``/metrics``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

from steward.core.config import Settings
from steward.core.errors import InvalidArgument

if TYPE_CHECKING:
    from steward.notify.dispatcher import Dispatcher
    from steward.store.uow import UnitOfWork

log = logging.getLogger("steward.monitoring")


@dataclass(frozen=True)
class AlertNotice:
    """One notification about an alert (fired, still firing, resolved)."""

    subject: str
    body: str
    severity: str
    payload: dict[str, Any]
    dedup_key: str
    channels: list[str] | None = None


class AlertSink(Protocol):
    def enqueue(self, uow: UnitOfWork, notice: AlertNotice) -> Sequence[str]:
        """Record ``notice`` in ``uow`` (never committing it); returns the ids to deliver."""
        ...

    def deliver(self, ids: Sequence[str]) -> None:
        """Send what ``enqueue`` recorded, once the unit of work committed."""
        ...


class NotifierSink:
    """Alert notices through the notification outbox: enqueued in the alert's transaction, then
    sent by ``dispatcher`` as soon as it commits. Without a dispatcher (or if sending is cut
    short) they wait, pending, for the server's dispatcher. ``dedup_window_ms`` suppresses a
    repeat of the same notice on a channel, e.g. from two replicas."""

    def __init__(self, dispatcher: Dispatcher | None, *, dedup_window_ms: int = 3_600_000) -> None:
        self.dispatcher = dispatcher
        self.dedup_window_ms = dedup_window_ms

    def enqueue(self, uow: UnitOfWork, notice: AlertNotice) -> list[str]:
        from steward.notify.models import Notification
        from steward.notify.service import enqueue

        n = Notification(
            notice.subject,
            notice.body,
            severity=notice.severity,
            payload=notice.payload,
            dedup_key=notice.dedup_key,
        )
        return enqueue(uow, n, channels=notice.channels, dedup_window_ms=self.dedup_window_ms)

    def deliver(self, ids: Sequence[str]) -> None:
        if self.dispatcher is not None and ids:
            self.dispatcher.dispatch(ids)


@dataclass
class MemorySink:
    """Keeps the notices delivered in ``sent`` (for tests and dry runs); a notice enqueued in a
    unit of work that never committed is never delivered."""

    sent: list[AlertNotice] = field(default_factory=list)
    _staged: dict[str, AlertNotice] = field(default_factory=dict)

    def enqueue(self, uow: UnitOfWork, notice: AlertNotice) -> list[str]:
        key = uuid.uuid4().hex
        self._staged[key] = notice
        return [key]

    def deliver(self, ids: Sequence[str]) -> None:
        self.sent += [self._staged.pop(i) for i in ids if i in self._staged]


class RetrainLauncher(Protocol):
    def launch(
        self, pipeline: str, reason: Mapping[str, Any], on_done: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Start a retraining run; return its status now and call ``on_done`` when it ends."""
        ...


class PipelineRetrainer:
    """Launches ``steward train SPEC`` (the training pipeline's public entry point) as a child
    process, so a user's training code can neither crash nor block the server; a thread waits
    for it and reports the run it made. The thread is a daemon (a server is not held up on exit
    by a training run): a process that must see the outcome recorded calls :meth:`wait`.

    The child gets the store's settings (home, database, artifact root) in its environment.
    """

    def __init__(self, settings: Settings, *, base_dir: Path | None = None, timeout_s: float = 6 * 3600) -> None:
        self.settings = settings
        self.base_dir = base_dir
        self.timeout_s = timeout_s
        self.threads: list[threading.Thread] = []
        self.started: list[dict[str, Any]] = []

    def _resolve(self, pipeline: str) -> Path:
        path = Path(pipeline)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        if not path.is_file():
            raise InvalidArgument(f"No pipeline spec at {str(path)!r}.", field="retrain_pipeline")
        return path.resolve()

    def command(self, path: Path) -> list[str]:
        return [sys.executable, "-m", "steward.cli", "train", str(path), "--json", "--quiet"]

    def environment(self) -> dict[str, str]:
        s = self.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
        env.update(
            STEWARD_HOME=str(Path(s.home).resolve()),
            STEWARD_DATABASE_URL=s.database_url,
            STEWARD_ARTIFACT_ROOT=s.artifact_root,
            STEWARD_SQLITE_SYNCHRONOUS=s.sqlite_synchronous,
        )
        return env

    def launch(
        self, pipeline: str, reason: Mapping[str, Any], on_done: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        path = self._resolve(pipeline)
        proc = subprocess.Popen(
            self.command(path),
            cwd=path.parent,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def wait() -> None:
            try:
                out, err = proc.communicate(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            run_id = _run_id(out)
            if proc.returncode == 0:
                on_done({"status": "finished", "pipeline": str(path), "run_id": run_id})
            else:
                tail = (err or out or "").strip().splitlines()[-1:] or [""]
                on_done(
                    {
                        "status": "failed",
                        "pipeline": str(path),
                        "run_id": run_id,
                        "exit_code": proc.returncode,
                        "error": tail[0][:500],
                    }
                )

        thread = threading.Thread(target=wait, name="steward-retrain", daemon=True)
        self.threads.append(thread)
        status = {"status": "running", "pipeline": str(path), "pid": proc.pid, "reason": dict(reason)}
        self.started.append(status)
        thread.start()
        return status

    def running(self) -> list[dict[str, Any]]:
        """The launches whose outcome is not recorded yet."""
        return [s for s, t in zip(self.started, self.threads, strict=True) if t.is_alive()]

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until every launched run ended and its outcome was recorded; False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def _run_id(out: str | None) -> str | None:
    try:
        doc = json.loads(out or "")
    except ValueError:
        return None
    value = doc.get("run_id") if isinstance(doc, dict) else None
    return str(value) if value else None


def parse_counters(text: str, deployment: str) -> tuple[float, float, float] | None:
    """``(ok, invalid, error)`` requests of ``deployment`` from the model server's exposition."""
    found = False
    totals = {"ok": 0.0, "invalid": 0.0, "error": 0.0}
    for family in text_string_to_metric_families(text):
        if family.name != "steward_serving_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("deployment") == deployment:
                outcome = sample.labels.get("outcome", "")
                if outcome in totals:
                    totals[outcome] += float(sample.value)
                    found = True
    return (totals["ok"], totals["invalid"], totals["error"]) if found else None


def scrape_counters(
    url: str, deployment: str, *, transport: httpx.BaseTransport | None = None, timeout_s: float = 5.0
) -> tuple[float, float, float] | None:
    """Read the request counters of ``deployment`` from a model server's ``/metrics``."""
    with httpx.Client(transport=transport, timeout=timeout_s) as client:
        resp = client.get(url)
        resp.raise_for_status()
        return parse_counters(resp.text, deployment)
