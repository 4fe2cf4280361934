"""Where SDK calls go: straight to the services on the embedded store, or to a server.

Both backends expose the same small surface, so ``Client`` does not care which it has.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import httpx
import orjson

from steward.core import errors
from steward.runtime import Runtime
from steward.tracking import artifacts as run_artifacts
from steward.tracking import service
from steward.tracking.models import DatasetInput, MetricBatch
from steward.tracking.schemas import DatasetInputModel, RunOut


class Backend(Protocol):
    def create_run(self, experiment: str, **fields: Any) -> dict[str, Any]: ...
    def get_run(self, run_id: str) -> dict[str, Any]: ...
    def update_run(self, run_id: str, status: str) -> None: ...
    def log_params(self, run_id: str, params: dict[str, Any]) -> None: ...
    def log_metrics(self, run_id: str, batch: MetricBatch) -> None: ...
    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, str],
        tags: dict[str, str],
        metrics: MetricBatch,
        status: str | None,
    ) -> None: ...
    def set_tags(self, run_id: str, tags: dict[str, str]) -> None: ...
    def log_inputs(self, run_id: str, datasets: list[DatasetInput]) -> None: ...
    def log_artifact(self, run_id: str, path: str, data: bytes) -> None: ...


class LocalBackend:
    """In-process: each call is one unit of work on the embedded store, committed on return."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def create_run(self, experiment: str, **fields: Any) -> dict[str, Any]:
        with self.runtime.uow() as uow:
            run = service.create_run(uow, service.get_or_create_experiment_id(uow, experiment), **fields)
            uow.commit()
        return RunOut.of(run).model_dump()

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.runtime.uow() as uow:
            return RunOut.of(service.get_run(uow, run_id)).model_dump()

    def update_run(self, run_id: str, status: str) -> None:
        with self.runtime.uow() as uow:
            service.update_run(uow, run_id, status=status)
            uow.commit()

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        with self.runtime.uow() as uow:
            service.log_params(uow, run_id, params)
            uow.commit()

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        with self.runtime.uow() as uow:
            service.log_metrics(uow, run_id, batch)
            uow.commit()

    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, str],
        tags: dict[str, str],
        metrics: MetricBatch,
        status: str | None,
    ) -> None:
        with self.runtime.uow() as uow:
            service.log_batch(uow, run_id, params=params, tags=tags, metrics=metrics, status=status)
            uow.commit()

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        with self.runtime.uow() as uow:
            service.set_tags(uow, run_id, tags)
            uow.commit()

    def log_inputs(self, run_id: str, datasets: list[DatasetInput]) -> None:
        with self.runtime.uow() as uow:
            service.log_inputs(uow, run_id, datasets)
            uow.commit()

    def log_artifact(self, run_id: str, path: str, data: bytes) -> None:
        with self.runtime.uow() as uow:
            run_artifacts.log_artifact(uow, self.runtime.blobs, run_id, path, data)
            uow.commit()


def _json_float(v: float) -> float | str:
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def _json_floats(values: list[float]) -> list[float] | list[float | str]:
    if all(map(math.isfinite, values)):  # the common case, in one pass in C
        return values
    return [_json_float(v) for v in values]


_JSON = {"content-type": "application/json"}


def _metrics_body(batch: MetricBatch) -> dict[str, Any]:
    return {
        "key": batch.keys,
        "value": _json_floats(batch.values),
        "step": batch.steps,
        "timestamp": batch.timestamps,
    }


_ERRORS: dict[str, type[errors.StewardError]] = {
    "invalid_argument": errors.InvalidArgument,
    "conflict": errors.Conflict,
    "unauthenticated": errors.Unauthenticated,
    "forbidden": errors.Forbidden,
}


class HttpBackend:
    """Against a Steward server. Accepts an httpx transport so tests can pass an ASGI app."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, transport=transport, timeout=timeout)

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, path, **kw)
        if resp.status_code >= 400:
            raise _error_from(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def create_run(self, experiment: str, **fields: Any) -> dict[str, Any]:
        body = {k: v for k, v in fields.items() if k != "user_id"}
        result: dict[str, Any] = self._call("POST", "/api/v1/runs", json={"experiment_name": experiment, **body})
        return result

    def get_run(self, run_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/api/v1/runs/{run_id}")
        return result

    def update_run(self, run_id: str, status: str) -> None:
        self._call("PATCH", f"/api/v1/runs/{run_id}", json={"status": status})

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self._call("POST", f"/api/v1/runs/{run_id}/params", json={"params": {k: str(v) for k, v in params.items()}})

    def log_batch(
        self,
        run_id: str,
        *,
        params: dict[str, str],
        tags: dict[str, str],
        metrics: MetricBatch,
        status: str | None,
    ) -> None:
        body: dict[str, Any] = {}
        if params:
            body["params"] = params
        if tags:
            body["tags"] = tags
        if len(metrics):
            body["metrics"] = _metrics_body(metrics)
        if status is not None:
            body["status"] = status
        self._post_json(f"/api/v1/runs/{run_id}/batch", body)

    def log_metrics(self, run_id: str, batch: MetricBatch) -> None:
        self._post_json(f"/api/v1/runs/{run_id}/metrics", _metrics_body(batch))

    def _post_json(self, path: str, body: dict[str, Any]) -> None:
        # orjson: a batch of 10,000 points encodes several times faster than with json.dumps
        self._call("POST", path, content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), headers=_JSON)

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        self._call("POST", f"/api/v1/runs/{run_id}/tags", json={"tags": tags})

    def log_inputs(self, run_id: str, datasets: list[DatasetInput]) -> None:
        body = {"datasets": [DatasetInputModel.of(d).model_dump(by_alias=True) for d in datasets]}
        self._call("POST", f"/api/v1/runs/{run_id}/inputs", json=body)

    def log_artifact(self, run_id: str, path: str, data: bytes) -> None:
        self._call("PUT", f"/api/v1/runs/{run_id}/artifacts/{path}", content=data)

    def close(self) -> None:
        self.http.close()


def _error_from(resp: httpx.Response) -> errors.StewardError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    title, detail = body.get("title", ""), body.get("detail", resp.text)
    if resp.status_code == 404:
        return errors.NotFound(body.get("kind", "resource"), body.get("key", ""), detail)
    if title == "already_exists":
        return errors.AlreadyExists(body.get("kind", "resource"), body.get("key", ""), detail)
    cls = _ERRORS.get(title)
    if cls is errors.InvalidArgument or resp.status_code in (400, 422):
        return errors.InvalidArgument(detail, field=body.get("field"))
    if cls is errors.Forbidden:
        return errors.Forbidden(detail, permission=body.get("permission"))
    if cls is not None:
        return cls(detail)
    return errors.StewardError(f"HTTP {resp.status_code}: {detail}")
