"""The SDK's user-facing objects: ``Client``, ``ActiveRun``, and the fluent ``start_run``.

Writes are batched on the client, as MLflow's asynchronous logging does: metric points, params
and tags are buffered and sent together in one request when ``batch_size`` points are waiting,
every ``flush_interval`` seconds from a background thread, on ``flush()``, and at the end of the
run together with its final status. A run that logs a few params and metrics therefore costs two
requests (create, and end) rather than one per call. ``synchronous=True`` sends at once.

Params are checked as they are logged, so a bad key or a param re-logged with another value
raises where the user's code logged it; only a conflict with a value written by another client
surfaces later, from the flush that sends it (the server's 409, as :class:`Conflict`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from steward.core.config import Settings
from steward.core.errors import StewardError
from steward.sdk.backends import Backend, HttpBackend, LocalBackend
from steward.sdk.environment import capture_environment, git_commit, source_name
from steward.tracking.models import DatasetInput, MetricBatch, check_param, check_tag
from steward.tracking.service import param_conflict

if TYPE_CHECKING:
    from steward.sdk.registry import ModelRegistry

_Point = tuple[str, float, int, int]


def _columns(points: list[_Point]) -> MetricBatch:
    if not points:
        return MetricBatch([], [], [], [])
    keys, values, steps, stamps = zip(*points, strict=True)
    return MetricBatch(list(keys), list(values), list(steps), list(stamps))


@dataclass
class _Payload:
    points: list[_Point]
    params: dict[str, str]
    tags: dict[str, str]
    status: str | None = None


class _RunBuffer:
    """What a run has logged and not yet sent, and the thread that sends it.

    A full batch is handed to the sender thread, so the user's code goes on logging while the
    previous batch travels (at most one batch waits; a further one blocks the caller until it
    is sent). The thread also sends whatever waits every ``flush_interval`` seconds. ``flush``
    and ``close`` wait for those sends, then send the rest from the caller's thread: batches
    reach the server in the order they were logged, and when ``flush`` returns everything
    logged before it is stored. A failed background send is raised by the next ``flush``.
    """

    def __init__(self, backend: Backend, run_id: str, batch_size: int, flush_interval: float) -> None:
        self._backend, self._run_id = backend, run_id
        self._batch_size, self._interval = batch_size, flush_interval
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # the same lock: ``with self._lock`` on the hot path
        self._points: list[_Point] = []
        self._params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._queue: deque[_Payload] = deque()
        self._in_flight = False  # a send is under way; whoever sends holds this
        self._stop = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None  # started with the first buffered write

    def _start(self) -> None:
        if self._thread is None and not self._stop:
            self._thread = threading.Thread(target=self._loop, name=f"steward-run-{self._run_id[:8]}", daemon=True)
            self._thread.start()

    def add(self, key: str, value: float, step: int, timestamp: int) -> None:
        with self._lock:  # Condition.__enter__ is Python code; the lock's own is not
            points = self._points
            points.append((key, value, step, timestamp))
            if len(points) < self._batch_size:
                if self._thread is None:
                    self._start()
                return
            if not self._stop:
                while self._queue:  # back-pressure: one full batch waiting is enough
                    self._cond.wait()
                self._queue.append(self._drain(None))
                self._start()
                self._cond.notify_all()
                return
        self.flush()  # logged after the run ended: no sender thread any more

    def add_params(self, params: dict[str, str]) -> None:
        with self._cond:
            self._params.update(params)
            self._start()

    def add_tags(self, tags: dict[str, str]) -> None:
        with self._cond:
            self._tags.update(tags)
            self._start()

    def _drain(self, status: str | None) -> _Payload:
        payload = _Payload(self._points, self._params, self._tags, status)
        self._points, self._params, self._tags = [], {}, {}
        return payload

    def _send(self, p: _Payload) -> None:
        if p.params or p.tags or p.status is not None:
            self._backend.log_batch(
                self._run_id, params=p.params, tags=p.tags, metrics=_columns(p.points), status=p.status
            )
        elif p.points:
            self._backend.log_metrics(self._run_id, _columns(p.points))

    def _send_rest(self, status: str | None) -> None:
        """Wait for the sender thread, then send what waits from the caller's thread."""
        with self._cond:
            while self._queue or self._in_flight:
                self._cond.wait()
            payload = self._drain(status)
            self._in_flight = True
        try:
            self._send(payload)
        finally:
            with self._cond:
                self._in_flight = False
                self._cond.notify_all()

    def flush(self) -> None:
        self._send_rest(None)
        self._raise_background_error()

    def _raise_background_error(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _next(self) -> _Payload | None:
        """The sender thread's next payload, or None when the run has ended."""
        deadline = time.monotonic() + self._interval
        with self._cond:
            while True:
                if not self._in_flight:
                    if self._queue:
                        payload = self._queue.popleft()
                    elif self._stop:
                        return None
                    elif time.monotonic() >= deadline and (self._points or self._params or self._tags):
                        payload = self._drain(None)
                    else:
                        payload = None
                    if payload is not None:
                        self._in_flight = True
                        self._cond.notify_all()  # a writer may wait for room in the queue
                        return payload
                if time.monotonic() >= deadline:
                    deadline = time.monotonic() + self._interval
                self._cond.wait(max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while (payload := self._next()) is not None:
            try:
                self._send(payload)
            except Exception as exc:  # raised by the next flush() in the user's thread
                self._error = exc
            finally:
                with self._cond:
                    self._in_flight = False
                    self._cond.notify_all()

    def close(self, status: str) -> None:
        """Send what waits together with the run's final status, and stop the thread. If that
        request is refused, the run still ends (FAILED: what it logged is incomplete)."""
        try:
            self._send_rest(status)
        except StewardError:
            with contextlib.suppress(Exception):  # best effort: the refusal is what to report
                self._backend.update_run(self._run_id, "FAILED")
            raise
        finally:
            with self._cond:
                self._stop = True
                self._cond.notify_all()
        self._raise_background_error()


class ActiveRun:
    """A run being logged to. Use as a context manager: it ends FINISHED, or FAILED on error."""

    def __init__(self, backend: Backend, info: dict[str, Any], *, batch_size: int, flush_interval: float) -> None:
        self._backend = backend
        self.info = info
        self.id: str = info["id"]
        self._buffer = _RunBuffer(backend, self.id, batch_size, flush_interval)
        self._params: dict[str, str] = {}  # every param logged through this handle, sent or not
        self._params_lock = threading.Lock()
        self._ended = False

    def log_param(self, key: str, value: Any, *, synchronous: bool = False) -> None:
        self.log_params({key: value}, synchronous=synchronous)

    def log_params(self, params: dict[str, Any], *, synchronous: bool = False) -> None:
        """Log params (values are stored as strings). Buffered and sent with the next batch,
        unless ``synchronous``. Re-logging a key with the same value does nothing; with another
        value it raises :class:`~steward.core.errors.Conflict` and logs none of ``params``."""
        clean = dict(check_param(str(k), str(v)) for k, v in params.items())
        with self._params_lock:
            for k, v in clean.items():
                old = self._params.get(k)
                if old is not None and old != v:
                    raise param_conflict(self.id, k, old, v)
            if synchronous:
                self._buffer.flush()  # earlier buffered writes first, in the order they were made
                self._backend.log_params(self.id, clean)
            else:
                self._buffer.add_params({k: v for k, v in clean.items() if k not in self._params})
            self._params.update(clean)

    def log_metric(
        self,
        key: str,
        value: float,
        step: int = 0,
        *,
        timestamp: int | None = None,
        synchronous: bool = False,
    ) -> None:
        ts = timestamp if timestamp is not None else time.time_ns() // 1_000_000
        if synchronous:
            self._backend.log_metrics(self.id, MetricBatch([key], [float(value)], [step], [ts]))
        else:
            self._buffer.add(key, float(value), step, ts)

    def log_metrics(self, metrics: dict[str, float], step: int = 0, *, timestamp: int | None = None) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step, timestamp=timestamp)

    def set_tag(self, key: str, value: str, *, synchronous: bool = False) -> None:
        self.set_tags({key: value}, synchronous=synchronous)

    def set_tags(self, tags: dict[str, str], *, synchronous: bool = False) -> None:
        """Set tags (a later value replaces an earlier one); buffered unless ``synchronous``."""
        clean = dict(check_tag(str(k), str(v)) for k, v in tags.items())
        if synchronous:
            self._buffer.flush()  # or a buffered older value of the same key would land last
            self._backend.set_tags(self.id, clean)
        else:
            self._buffer.add_tags(clean)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        p = Path(local_path)
        self._backend.log_artifact(self.id, artifact_path or p.name, p.read_bytes())

    def log_bytes(self, data: bytes, artifact_path: str) -> None:
        self._backend.log_artifact(self.id, artifact_path, data)

    def log_dict(self, obj: dict[str, Any], artifact_path: str) -> None:
        self.log_bytes(json.dumps(obj, indent=2, default=str).encode(), artifact_path)

    def log_input(self, dataset: DatasetInput) -> None:
        self._backend.log_inputs(self.id, [dataset])

    def flush(self) -> None:
        """Send every buffered point, param and tag now; raises what a background send met."""
        self._buffer.flush()

    def end(self, status: str = "FINISHED") -> None:
        if self._ended:
            return
        self._ended = True
        self._buffer.close(status)

    def refresh(self) -> dict[str, Any]:
        self.flush()
        self.info = self._backend.get_run(self.id)
        return self.info

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end("FAILED" if exc_type is not None else "FINISHED")


class Client:
    def __init__(self, backend: Backend, *, batch_size: int = 5000, flush_interval: float = 1.0) -> None:
        self.backend = backend
        self.batch_size, self.flush_interval = batch_size, flush_interval

    @classmethod
    def from_settings(cls, settings: Settings) -> Client:
        if settings.server_url:
            token = settings.token.get_secret_value() if settings.token else None
            return cls(HttpBackend(settings.server_url, token))
        from steward.runtime import Runtime

        return cls(LocalBackend(Runtime.from_settings(settings)))

    def start_run(
        self,
        experiment: str = "Default",
        *,
        name: str = "",
        tags: dict[str, str] | None = None,
        capture: bool = True,
    ) -> ActiveRun:
        fields: dict[str, Any] = {"name": name, "tags": tags or {}}
        if capture:
            fields.update(source=source_name(), git_commit=git_commit(), environment=dict(capture_environment()))
        info = self.backend.create_run(experiment, **fields)
        return ActiveRun(self.backend, info, batch_size=self.batch_size, flush_interval=self.flush_interval)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.backend.get_run(run_id)

    @property
    def models(self) -> ModelRegistry:
        """The model registry beside this client: the same embedded store, or the same server and token."""
        from steward.sdk.registry import ModelRegistry  # the registry's services load only when used

        return ModelRegistry.of(self.backend)


_default: Client | None = None
_default_lock = threading.Lock()


def connect(url: str | None = None, *, token: str | None = None, settings: Settings | None = None) -> Client:
    """Choose where ``steward.start_run`` logs: a server at ``url``, or the embedded store
    described by ``settings`` (default: the environment's ``STEWARD_*`` settings)."""
    global _default
    client = Client(HttpBackend(url, token)) if url else Client.from_settings(settings or Settings())
    with _default_lock:
        _default = client
    return client


def _default_client() -> Client:
    """``STEWARD_SERVER_URL``/``STEWARD_TOKEN`` when set, else the embedded store under ``STEWARD_HOME``."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client.from_settings(Settings())
        return _default


def start_run(experiment: str = "Default", *, name: str = "", tags: dict[str, str] | None = None) -> ActiveRun:
    """Start a run with the default client (see ``connect``)."""
    return _default_client().start_run(experiment, name=name, tags=tags)


def models() -> ModelRegistry:
    """The default client's model registry: ``steward.models().promote("churn", 3)``."""
    return _default_client().models
