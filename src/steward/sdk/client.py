"""The SDK's user-facing objects: ``Client``, ``ActiveRun``, and the fluent ``start_run``.

Metric writes are batched on the client: points are buffered and sent in one request when
``batch_size`` points are waiting, every ``flush_interval`` seconds from a background
thread, and at the end of the run. ``log_metric(..., synchronous=True)`` sends at once.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from steward.core.config import Settings
from steward.sdk.backends import Backend, HttpBackend, LocalBackend
from steward.sdk.environment import capture_environment, git_commit, source_name
from steward.tracking.models import DatasetInput, MetricBatch


class _MetricBuffer:
    def __init__(self, backend: Backend, run_id: str, batch_size: int, flush_interval: float) -> None:
        self._backend, self._run_id = backend, run_id
        self._batch_size, self._interval = batch_size, flush_interval
        self._lock = threading.Lock()
        self._keys: list[str] = []
        self._values: list[float] = []
        self._steps: list[int] = []
        self._stamps: list[int] = []
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=f"steward-metrics-{run_id[:8]}", daemon=True)
        self._thread.start()

    def add(self, key: str, value: float, step: int, timestamp: int) -> None:
        with self._lock:
            self._keys.append(key)
            self._values.append(value)
            self._steps.append(step)
            self._stamps.append(timestamp)
            full = len(self._keys) >= self._batch_size
        if full:
            self.flush()

    def _drain(self) -> MetricBatch:
        batch = MetricBatch(self._keys, self._values, self._steps, self._stamps)
        self._keys, self._values, self._steps, self._stamps = [], [], [], []
        return batch

    def flush(self) -> None:
        with self._lock:
            if self._keys:
                self._backend.log_metrics(self._run_id, self._drain())
        self._raise_background_error()

    def _raise_background_error(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception as exc:  # surfaced on the next flush() from the user's thread
                self._error = exc

    def close(self, status: str) -> None:
        """Stop the flusher; send the remaining points together with the run's final status."""
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)
        with self._lock:
            self._backend.finish(self._run_id, self._drain(), status)
        self._raise_background_error()


class ActiveRun:
    """A run being logged to. Use as a context manager: it ends FINISHED, or FAILED on error."""

    def __init__(self, backend: Backend, info: dict[str, Any], *, batch_size: int, flush_interval: float) -> None:
        self._backend = backend
        self.info = info
        self.id: str = info["id"]
        self._metrics = _MetricBuffer(backend, self.id, batch_size, flush_interval)
        self._ended = False

    def log_param(self, key: str, value: Any) -> None:
        self._backend.log_params(self.id, {key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        self._backend.log_params(self.id, params)

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
            self._metrics.add(key, float(value), step, ts)

    def log_metrics(self, metrics: dict[str, float], step: int = 0, *, timestamp: int | None = None) -> None:
        for key, value in metrics.items():
            self.log_metric(key, value, step, timestamp=timestamp)

    def set_tag(self, key: str, value: str) -> None:
        self._backend.set_tags(self.id, {key: str(value)})

    def set_tags(self, tags: dict[str, str]) -> None:
        self._backend.set_tags(self.id, {k: str(v) for k, v in tags.items()})

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
        self._metrics.flush()

    def end(self, status: str = "FINISHED") -> None:
        if self._ended:
            return
        self._ended = True
        self._metrics.close(status)

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


def start_run(experiment: str = "Default", *, name: str = "", tags: dict[str, str] | None = None) -> ActiveRun:
    """Start a run with the default client (``STEWARD_SERVER_URL``/``STEWARD_TOKEN`` when set,
    else the embedded store under ``STEWARD_HOME``)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client.from_settings(Settings())
        client = _default
    return client.start_run(experiment, name=name, tags=tags)
