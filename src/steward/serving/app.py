"""The model server: a plain ASGI application (no framework on the hot path).

Routes::

    POST /v1/deployments/{name}/predict       records, columns, or MLflow's forms; full answer
    POST /invocations                         MLflow's scoring protocol, the default deployment
    POST /v1/deployments/{name}/invocations   the same for one deployment
    GET  /v1/deployments                      what is served (versions, signatures, batching)
    GET  /healthz  /readyz  /metrics          (also MLflow's /ping, /health and /version)

A request is: read the body, ``orjson.loads``, ask the deployment's router for a variant,
decode against that variant's signature into numpy (422 naming the field on a mismatch),
await the variant's micro-batcher, answer, then hand the prediction to the prediction log's
buffer and bump pre-bound Prometheus children. No database, no pandas unless the model needs a
DataFrame, no per-request allocation beyond the payload.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import numpy as np
import orjson

from steward._version import __version__
from steward.serving.deployment import Deployment, Variant
from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.metrics import ServingMetrics
from steward.serving.models import InputError, ModelError
from steward.serving.prediction_log import LogEntry, PredictionLogWriter
from steward.serving.predictor import Prediction
from steward.serving.router import RouteContext

log = logging.getLogger("steward.serving")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 64 << 20
_JSON = b"application/json"
_PROBLEM = b"application/problem+json"
_SANE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,128}$")
_MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY
_PREFIX = "/v1/deployments/"
# Request ids: 20 random hex digits per process, then a counter (unique without a syscall per request).
_ID_PREFIX = os.urandom(10).hex()
_ID_SEQ = itertools.count()


def _new_id_prefix() -> None:
    global _ID_PREFIX, _ID_SEQ
    _ID_PREFIX, _ID_SEQ = os.urandom(10).hex(), itertools.count()


os.register_at_fork(after_in_child=_new_id_prefix)  # forked workers must not repeat ids


class _Problem(Exception):
    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


class ModelServer:
    """ASGI app serving ``deployments``; the first one answers ``/invocations``."""

    def __init__(
        self,
        deployments: Iterable[Deployment],
        *,
        metrics: ServingMetrics | None = None,
        prediction_log: PredictionLogWriter | None = None,
        default: str | None = None,
    ) -> None:
        self.deployments = {d.name: d for d in deployments}
        if not self.deployments:
            raise ValueError("ModelServer needs at least one deployment.")
        self.default = default or next(iter(self.deployments))
        self.metrics = metrics or ServingMetrics()
        self.prediction_log = prediction_log
        self.ready = False
        self._mirrors: set[asyncio.Task[None]] = set()
        for dep in self.deployments.values():
            self._register(dep)

    # ---- lifecycle -----------------------------------------------------------------------
    async def startup(self) -> None:
        if self.prediction_log is not None:
            self.prediction_log.start()
        for dep in self.deployments.values():
            for v in dep.variants.values():
                v.batcher.start()
        self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        if self._mirrors:
            await asyncio.wait(self._mirrors, timeout=10)
        for dep in self.deployments.values():
            for v in dep.variants.values():
                await v.batcher.stop()
        if self.prediction_log is not None:
            await asyncio.to_thread(self.prediction_log.close)

    async def replace(self, deployment: Deployment) -> None:
        """Swap in a deployment (a new version, a new router) without dropping requests."""
        self._register(deployment)
        for v in deployment.variants.values():
            v.batcher.start()
        old = self.deployments.get(deployment.name)
        self.deployments[deployment.name] = deployment
        if old is not None:
            for v in old.variants.values():
                if deployment.variants.get(v.key) is not v:
                    await v.batcher.stop()

    def _register(self, dep: Deployment) -> None:
        if self.prediction_log is not None:
            for v in dep.variants.values():
                self.prediction_log.register(dep.name, v.key, v.schema)

    # ---- ASGI ----------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # report to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        rid, unit = _ids(scope)
        try:
            if method == "POST":
                if path == "/invocations":
                    body = await self._predict(self.default, receive, rid, unit, mlflow=True)
                elif path.startswith(_PREFIX) and path.endswith("/predict"):
                    body = await self._predict(path[len(_PREFIX) : -8], receive, rid, unit, mlflow=False)
                elif path.startswith(_PREFIX) and path.endswith("/invocations"):
                    body = await self._predict(path[len(_PREFIX) : -12], receive, rid, unit, mlflow=True)
                else:
                    raise _Problem(404, "not_found", f"No route POST {path}.")
                await _respond(send, 200, body, rid)
                return
            if method in ("GET", "HEAD"):
                status, ctype, body = self._get(path)
                await _respond(send, status, body, rid, ctype, head=method == "HEAD")
                return
            raise _Problem(405, "method_not_allowed", f"{method} is not allowed on {path}.")
        except _Problem as p:
            await _respond(send, p.status, _problem(p, path, rid), rid, _PROBLEM)

    def _get(self, path: str) -> tuple[int, bytes, bytes]:
        if path in ("/healthz", "/ping", "/health"):
            return 200, _JSON, b'{"status":"ok"}'
        if path == "/readyz":
            if self.ready:
                return 200, _JSON, b'{"status":"ready"}'
            return 503, _JSON, b'{"status":"unavailable"}'
        if path == "/metrics":
            self._log_gauges()
            return 200, b"text/plain; version=0.0.4; charset=utf-8", self.metrics.render()
        if path == "/version":
            return 200, b"text/plain", __version__.encode()
        if path in ("/v1/deployments", "/v1/deployments/"):
            doc = {"default": self.default, "deployments": [d.describe() for d in self.deployments.values()]}
            return 200, _JSON, orjson.dumps(doc)
        if path.startswith(_PREFIX) and path[len(_PREFIX) :] in self.deployments:
            return 200, _JSON, orjson.dumps(self.deployments[path[len(_PREFIX) :]].describe())
        raise _Problem(404, "not_found", f"No route GET {path}.")

    # ---- predict -------------------------------------------------------------------------
    async def _predict(self, name: str, receive: Receive, rid: str, unit: str | None, *, mlflow: bool) -> bytes:
        started = time.perf_counter()
        dep = self.deployments.get(name)
        if dep is None:
            raise _Problem(
                404, "deployment_not_found", f"No deployment named {name!r} is served here.", deployment=name
            )
        raw = await _read_body(receive)
        route = dep.router.route(RouteContext(rid, unit))
        variant = dep.variants[route.primary]
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            variant.metrics.invalid.inc()
            raise _Problem(400, "invalid_json", f"The body is not valid JSON: {exc}.", **_mlflow_err(mlflow)) from None
        try:
            batch = decode(variant.schema, payload, mlflow=mlflow)
        except InputError as exc:
            variant.metrics.invalid.inc()
            self.metrics.invalid_input(dep.name, variant.key)
            raise _Problem(
                422,
                "invalid_input",
                exc.message,
                field=exc.field,
                errors=exc.errors,
                **_mlflow_err(mlflow, exc.message),
            ) from None
        try:
            pred = await variant.batcher.predict(batch)
        except Exception as exc:  # the model is user code: count, report, never a bare 500
            variant.metrics.failed.inc()
            variant.metrics.model_errors.inc()
            dep.router.observe(variant.key, False, time.perf_counter() - started)
            err = ModelError(dep.name, variant.key, exc)
            log.warning(
                "model error",
                extra={
                    "ctx_deployment": dep.name,
                    "ctx_version": variant.key,
                    "ctx_error": err.message,
                    "ctx_request_id": rid,
                },
            )
            raise _Problem(
                500,
                "model_error",
                err.message,
                deployment=dep.name,
                model_version=variant.key,
                **_mlflow_err(mlflow, err.message),
            ) from None
        variant.metrics.rows.inc(batch.n)
        self._answered(dep, variant, rid, time.perf_counter() - started, batch, pred, "primary")
        for key in route.mirrors:
            task = asyncio.get_running_loop().create_task(self._mirror(dep, dep.variants[key], payload, rid, mlflow))
            self._mirrors.add(task)
            task.add_done_callback(self._mirrors.discard)
        return render(variant, pred, rid, mlflow=mlflow)

    async def _mirror(self, dep: Deployment, variant: Variant, payload: Any, rid: str, mlflow: bool) -> None:
        started = time.perf_counter()
        try:
            batch = decode(variant.schema, payload, mlflow=mlflow)
            pred = await variant.batcher.predict(batch)
        except Exception:  # a mirror never affects the caller; its failures are counted
            variant.metrics.failed.inc()
            dep.router.observe(variant.key, False, time.perf_counter() - started)
            return
        self._answered(dep, variant, rid, time.perf_counter() - started, batch, pred, "mirror")

    def _answered(
        self,
        dep: Deployment,
        variant: Variant,
        rid: str,
        elapsed: float,
        batch: FeatureBatch,
        pred: Prediction,
        role: str,
    ) -> None:
        """Count an answer (primary or mirror) and queue it for the prediction log."""
        variant.metrics.ok.inc()
        variant.metrics.latency.observe(elapsed)
        dep.router.observe(variant.key, True, elapsed)
        if self.prediction_log is not None:
            now = time.time_ns() // 1_000_000
            entry = LogEntry(dep.name, variant.model.name, variant.key, rid, now, elapsed * 1000, batch, pred, role)
            self.prediction_log.append(entry)

    def _log_gauges(self) -> None:
        if self.prediction_log is not None:
            s = self.prediction_log.stats
            self.metrics.log_buffered.set(s.buffered_rows)
            self.metrics.log_dropped.set(s.dropped_rows)
            self.metrics.log_written.set(s.written_rows)


def decode(schema: InputSchema, payload: Any, *, mlflow: bool) -> FeatureBatch:
    """Any accepted payload form to a FeatureBatch.

    Native: a list of records, ``{"records": [...]}``, ``{"columns": {name: [...]}}``, or one
    record as a plain object. MLflow: exactly one of ``dataframe_split``, ``dataframe_records``,
    ``instances``, ``inputs`` (``params`` is ignored). The native route takes MLflow's forms too.
    """
    if type(payload) is list:
        if mlflow:
            raise InputError(f"The body must be an object with one of {list(_MLFLOW_KEYS)}.", field="body")
        return schema.from_records(payload)
    if type(payload) is not dict:
        raise InputError("The body must be a JSON object or a list of records.", field="body")
    keys = [k for k in _MLFLOW_KEYS if k in payload]
    if len(keys) > 1:
        raise InputError(f"The body must hold exactly one of {list(_MLFLOW_KEYS)}; got {keys}.", field="body")
    if keys:
        key = keys[0]
        value = payload[key]
        if key == "dataframe_split":
            return schema.from_split(value, key)
        if key == "dataframe_records":
            return schema.from_records(value, key)
        if isinstance(value, dict):
            return schema.from_columns(value, key)
        if isinstance(value, list) and value and type(value[0]) is list:
            return schema.from_rows(value, key)
        return schema.from_records(value, key)
    if mlflow:
        raise InputError(f"The body must be an object with one of {list(_MLFLOW_KEYS)}.", field="body")
    if "records" in payload and "records" not in schema.index:
        return schema.from_records(payload["records"])
    if "columns" in payload and "columns" not in schema.index:
        return schema.from_columns(payload["columns"])
    return schema.from_records([payload], "body")


def render(variant: Variant, pred: Prediction, rid: str, *, mlflow: bool) -> bytes:
    predictions: Any = pred.predictions
    if predictions.dtype.kind not in "biuf":
        predictions = predictions.tolist()
    if mlflow:
        return orjson.dumps({"predictions": predictions}, option=_NUMPY)
    doc: dict[str, Any] = {
        "deployment": variant.deployment,
        "model": variant.model.name,
        "model_version": variant.key,
        "request_id": rid,
        "predictions": predictions,
    }
    if pred.probabilities is not None:
        doc["classes"] = variant.predictor.classes
        doc["probabilities"] = pred.probabilities
    return orjson.dumps(doc, option=_NUMPY | orjson.OPT_NON_STR_KEYS)


def _mlflow_err(mlflow: bool, message: str | None = None) -> dict[str, Any]:
    # MLflow's scoring clients read {"error_code", "message"}; problem+json keeps both.
    if not mlflow:
        return {}
    return {"error_code": "BAD_REQUEST", "message": message}


def _ids(scope: Scope) -> tuple[str, str | None]:
    rid = unit = None
    for k, v in scope["headers"]:
        if k == b"x-request-id" and _SANE_ID.match(v):
            rid = v.decode()
        elif k == b"x-steward-unit":
            unit = v.decode("latin-1")[:256]
    return rid or f"{_ID_PREFIX}{next(_ID_SEQ):012x}", unit


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body"):
        return bytes(body)
    chunks, size = [body], len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Problem(400, "client_disconnected", "The client went away mid-request.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _Problem(413, "body_too_large", f"The body exceeds {MAX_BODY} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _problem(p: _Problem, path: str, rid: str) -> bytes:
    doc = {
        "type": f"https://steward.dev/problems/{p.title}",
        "title": p.title,
        "status": p.status,
        "detail": p.detail,
        "instance": path,
        "request_id": rid,
        **{k: v for k, v in p.extra.items() if v is not None},
    }
    if doc.get("error_code") is not None and doc.get("message") is None:
        doc["message"] = p.detail
    return orjson.dumps(doc, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError


async def _respond(send: Send, status: int, body: bytes, rid: str, ctype: bytes = _JSON, *, head: bool = False) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", ctype),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
